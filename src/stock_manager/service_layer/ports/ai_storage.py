"""**Port:** what the AI batch jobs keep in the database: their runs, the trade journals, the parameter drafts.

Rows are plain frozen dataclasses (JSON documents as mappings of JSON-safe values, money as `Decimal`, times
aware UTC). Texts arrive here already masked: the repository stores what it is given.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

#: ``ai_job_runs.outcome`` values (see the table's description in DB_SCHEMA_DDL.md).
RUNNING, OK, PARTIAL, BUDGET_EXCEEDED, FAILED = "RUNNING", "OK", "PARTIAL", "BUDGET_EXCEEDED", "FAILED"
#: ``trade_journals.status`` values.
WRITTEN, ANNOUNCED = "WRITTEN", "ANNOUNCED"


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of an AI job (``ai_job_runs``).

    Attributes
    ----------
    job : str
        ``journal`` or ``propose``.
    triggered_by : str
        ``daemon`` or ``cli``.
    night : date
        The venue's date of the wall clock at the start: the budget counts tokens and won per night.
    subject_date : date
        The session journaled, or the last day of data searched.
    prompt, response : str
        The model call's prompt and answer, secrets masked; empty without a call.
    cost_krw : Decimal | None
        KRW, from the configured prices; None when they are not set.
    """

    job: str
    triggered_by: str
    night: date
    subject_date: date
    account_id: str | None
    provider: str
    model: str
    ts_started: datetime
    outcome: str = RUNNING
    ts_ended: datetime | None = None
    error: str = ""
    prompt: str = ""
    response: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_krw: Decimal | None = None
    attempts: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class TradeJournal:
    """One account's journal of one session (``trade_journals``); `version` is set by the repository."""

    trading_date: date
    account_id: str
    venue: str
    strategies: tuple[str, ...]
    language: str
    facts: Mapping[str, Any]
    text: str
    narrative: str
    model: str
    status: str
    job_run_id: int | None
    ts_created: datetime
    version: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ParamDraft:
    """Proposed parameters of one strategy with their evidence and verdict (``strategy_param_drafts``).

    Who, when and why at each step: `created_by`/`ts_created` (proposed), `ts_validated` (judged by the gate,
    `validation`), `decided_by`/`ts_decided`/`decision_reason` (a person approved or rejected it; an approval
    wrote the ACTIVE row `params_id` from `effective_from`), `applied_on`/`ts_applied` (the daemon opened a
    session with it).
    """

    strategy_id: str
    origin: str
    job_run_id: int | None
    data_until: date
    base_params: Mapping[str, Any]
    base_source: str
    proposed_params: Mapping[str, Any]
    rationale: str
    evidence: Mapping[str, Any]
    validation: Mapping[str, Any]
    status: str
    created_by: str
    ts_created: datetime
    ts_validated: datetime | None = None
    decided_by: str = ""
    ts_decided: datetime | None = None
    decision_reason: str = ""
    effective_from: date | None = None
    params_id: int | None = None
    applied_on: date | None = None
    ts_applied: datetime | None = None
    id: int | None = None


class AiRepository(Protocol):
    """**Port:** the AI jobs' tables, inside the caller's unit of work (the caller commits)."""

    async def add_run(self, run: JobRun) -> int:
        """Insert a job run (normally RUNNING) and return its id."""
        ...

    async def update_run(self, run: JobRun) -> None:
        """Write every field of the run with `run.id` (its end, outcome, texts, tokens, details)."""
        ...

    async def list_runs(self, limit: int = 50, job: str | None = None) -> list[JobRun]:
        """Return the newest runs first (of `job` when given)."""
        ...

    async def night_usage(self, night: date) -> tuple[int, Decimal]:
        """Return the tokens (input + output) and the known cost (KRW) of every run of `night`."""
        ...

    async def add_journal(self, journal: TradeJournal) -> TradeJournal:
        """Insert the journal as the next version of its account and day; return it with its id and version."""
        ...

    async def set_journal_status(self, journal_id: int, status: str) -> None:
        """Change a journal's status (WRITTEN → ANNOUNCED)."""
        ...

    async def latest_journal(self, trading_date: date, account_id: str | None = None) -> TradeJournal | None:
        """Return the newest version of the day's journal (of `account_id`, else of the account journaled last)."""
        ...

    async def journal_dates(self, account_id: str | None = None) -> list[date]:
        """Return the days that have a journal, in order."""
        ...

    async def add_draft(self, draft: ParamDraft) -> int:
        """Insert a draft and return its id."""
        ...

    async def get_draft(self, draft_id: int) -> ParamDraft | None:
        """Return the draft with this id."""
        ...

    async def list_drafts(self, statuses: Collection[str] | None = None) -> list[ParamDraft]:
        """Return the drafts (of `statuses` when given), newest first."""
        ...

    async def update_draft(self, draft: ParamDraft) -> None:
        """Write the decision and application fields and the status of the draft with `draft.id`."""
        ...

    async def params_row_id(self, strategy_id: str, effective_date: date, version: int) -> int:
        """Return the id of the ``strategy_params`` row of that strategy, date and version."""
        ...

    async def mark_applied(self, strategy_id: str, on: date, ts: datetime) -> list[int]:
        """Mark APPLIED the APPROVED draft whose ``strategy_params`` row is the one in force on `on` (the
        latest effective ACTIVE row); return the ids marked (empty when none waited)."""
        ...
