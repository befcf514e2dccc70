"""The AI jobs' tables (revision 0013) over one connection of a unit of work: `AiRepository`."""

from collections.abc import Collection
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage.engine import to_json_safe
from stock_manager.adapters.storage.tables import ai_job_runs, strategy_param_drafts, strategy_params, trade_journals
from stock_manager.service_layer.ports.ai_storage import JobRun, ParamDraft, TradeJournal

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_JSON_FIELDS = frozenset({"details", "facts", "base_params", "proposed_params", "evidence", "validation"})


def _values(record: Any) -> dict[str, Any]:
    # A record's columns (id left to the database), JSON documents made JSON-safe.
    out = {}
    for f in fields(record):
        if f.name == "id":
            continue
        value = getattr(record, f.name)
        out[f.name] = to_json_safe(dict(value)) if f.name in _JSON_FIELDS else value
    return out


def _record[T: DataclassInstance](cls: type[T], row: Row[Any]) -> T:
    data = dict(row._mapping)
    if "strategies" in data:
        data["strategies"] = tuple(data["strategies"])
    return cls(**{f.name: data[f.name] for f in fields(cls)})


class SqlAiRepository:
    """`AiRepository` over one connection of a unit of work (the caller commits)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # -- JOB RUNS -----------------------------------------------------------------------------------------

    async def add_run(self, run: JobRun) -> int:
        """Insert a job run and return its id."""
        statement = insert(ai_job_runs).values(**_values(run)).returning(ai_job_runs.c.id)
        return int((await self._connection.execute(statement)).scalar_one())

    async def update_run(self, run: JobRun) -> None:
        """Write every field of the run with `run.id`.

        Raises
        ------
        ValueError
            If `run.id` is None.
        """
        if run.id is None:
            raise ValueError("a job run needs its id to be updated")
        await self._connection.execute(update(ai_job_runs).where(ai_job_runs.c.id == run.id).values(**_values(run)))

    async def list_runs(self, limit: int = 50, job: str | None = None) -> list[JobRun]:
        """Return the newest runs first (of `job` when given)."""
        statement = select(ai_job_runs).order_by(ai_job_runs.c.id.desc()).limit(limit)
        if job is not None:
            statement = statement.where(ai_job_runs.c.job == job)
        return [_record(JobRun, row) for row in await self._connection.execute(statement)]

    async def night_usage(self, night: date) -> tuple[int, Decimal]:
        """Return the tokens (input + output) and the known cost (KRW) of every run of `night`."""
        statement = select(ai_job_runs.c.input_tokens, ai_job_runs.c.output_tokens, ai_job_runs.c.cost_krw).where(
            ai_job_runs.c.night == night
        )
        tokens, cost = 0, Decimal(0)
        for row in await self._connection.execute(statement):
            tokens += row.input_tokens + row.output_tokens
            cost += row.cost_krw or 0
        return tokens, cost

    # -- JOURNALS -----------------------------------------------------------------------------------------

    async def add_journal(self, journal: TradeJournal) -> TradeJournal:
        """Insert the journal as the next version of its account and day; return it with its id and version."""
        latest = select(func.max(trade_journals.c.version)).where(
            trade_journals.c.account_id == journal.account_id, trade_journals.c.trading_date == journal.trading_date
        )
        version = ((await self._connection.execute(latest)).scalar_one_or_none() or 0) + 1
        values = {**_values(journal), "version": version, "strategies": list(journal.strategies)}
        new_id = (
            await self._connection.execute(insert(trade_journals).values(**values).returning(trade_journals.c.id))
        ).scalar_one()
        return _with(journal, id=int(new_id), version=version)

    async def set_journal_status(self, journal_id: int, status: str) -> None:
        """Change a journal's status."""
        await self._connection.execute(
            update(trade_journals).where(trade_journals.c.id == journal_id).values(status=status)
        )

    async def latest_journal(self, trading_date: date, account_id: str | None = None) -> TradeJournal | None:
        """Return the newest version of the day's journal (of `account_id`, else of the last journaled account)."""
        statement = select(trade_journals).where(trade_journals.c.trading_date == trading_date)
        if account_id is not None:
            statement = statement.where(trade_journals.c.account_id == account_id)
        row = (await self._connection.execute(statement.order_by(trade_journals.c.id.desc()).limit(1))).first()
        return None if row is None else _record(TradeJournal, row)

    async def journal_dates(self, account_id: str | None = None) -> list[date]:
        """Return the days that have a journal, in order."""
        statement = select(trade_journals.c.trading_date).distinct().order_by(trade_journals.c.trading_date)
        if account_id is not None:
            statement = statement.where(trade_journals.c.account_id == account_id)
        return list((await self._connection.execute(statement)).scalars())

    # -- DRAFTS -------------------------------------------------------------------------------------------

    async def add_draft(self, draft: ParamDraft) -> int:
        """Insert a draft and return its id."""
        statement = insert(strategy_param_drafts).values(**_values(draft)).returning(strategy_param_drafts.c.id)
        return int((await self._connection.execute(statement)).scalar_one())

    async def get_draft(self, draft_id: int) -> ParamDraft | None:
        """Return the draft with this id."""
        row = (
            await self._connection.execute(select(strategy_param_drafts).where(strategy_param_drafts.c.id == draft_id))
        ).first()
        return None if row is None else _record(ParamDraft, row)

    async def list_drafts(self, statuses: Collection[str] | None = None) -> list[ParamDraft]:
        """Return the drafts (of `statuses` when given), newest first."""
        statement = select(strategy_param_drafts).order_by(strategy_param_drafts.c.id.desc())
        if statuses is not None:
            statement = statement.where(strategy_param_drafts.c.status.in_(list(statuses)))
        return [_record(ParamDraft, row) for row in await self._connection.execute(statement)]

    async def update_draft(self, draft: ParamDraft) -> None:
        """Write the status, the decision and the application fields of the draft with `draft.id`.

        Raises
        ------
        ValueError
            If `draft.id` is None.
        """
        if draft.id is None:
            raise ValueError("a draft needs its id to be updated")
        c = strategy_param_drafts.c
        await self._connection.execute(
            update(strategy_param_drafts)
            .where(c.id == draft.id)
            .values(
                status=draft.status,
                decided_by=draft.decided_by,
                ts_decided=draft.ts_decided,
                decision_reason=draft.decision_reason,
                effective_from=draft.effective_from,
                params_id=draft.params_id,
                applied_on=draft.applied_on,
                ts_applied=draft.ts_applied,
            )
        )

    async def params_row_id(self, strategy_id: str, effective_date: date, version: int) -> int:
        """Return the id of the ``strategy_params`` row of that strategy, date and version."""
        sp = strategy_params.c
        statement = select(sp.id).where(
            sp.strategy_id == strategy_id, sp.effective_date == effective_date, sp.version == version
        )
        return int((await self._connection.execute(statement)).scalar_one())

    async def mark_applied(self, strategy_id: str, on: date, ts: datetime) -> list[int]:
        """Mark APPLIED the APPROVED draft whose ``strategy_params`` row is in force on `on`; return its id(s)."""
        sp, d = strategy_params.c, strategy_param_drafts.c
        in_force = (
            select(sp.id)
            .where(sp.strategy_id == strategy_id, sp.status == "ACTIVE", sp.effective_date <= on)
            .order_by(sp.effective_date.desc(), sp.version.desc())
            .limit(1)
        ).scalar_subquery()
        waiting = and_(d.strategy_id == strategy_id, d.status == "APPROVED", d.params_id == in_force)
        ids = list((await self._connection.execute(select(d.id).where(waiting))).scalars())
        if ids:
            await self._connection.execute(
                update(strategy_param_drafts)
                .where(d.id.in_(ids))
                .values(status="APPLIED", applied_on=on, ts_applied=ts)
            )
        return ids


def _with[T: DataclassInstance](record: T, **changes: Any) -> T:
    from dataclasses import replace

    return replace(record, **changes)
