"""**Ports:** what the AI batch jobs ask of the outside: a language model, a writer of journals from facts,
and the research engine that backtests proposals (spec 001 §1, §17; spec 004's AI service).

None of these can reach a broker or the kill switch: the jobs are built without either (see
`service_layer.ai`). The language model is optional (``AI_PROVIDER=none``): the journal is then the writer's
text alone and proposals come from the research engine's search alone.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from stock_manager.domain.param_gate import OutOfSample
from stock_manager.domain.strategies.base import StrategySpec


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One request to a language model: instructions, the prompt (already masked) and the answer's length.

    The answer is asked for as one JSON object; `purpose` names the job (``journal``, ``propose``).
    """

    purpose: str
    system: str
    prompt: str
    max_output_tokens: int


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """A model's answer as received: its text, the model that wrote it and the tokens the provider counted."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    attempts: int = 1


class LanguageModel(Protocol):
    """**Port:** a chat model that answers one request with one JSON text."""

    @property
    def provider(self) -> str:
        """Return the provider's name (``openai``, ``anthropic``)."""
        ...

    @property
    def model(self) -> str:
        """Return the configured model name."""
        ...

    async def complete(self, request: ModelRequest) -> ModelAnswer:
        """Return the model's answer; time-outs, 429 and 5xx are retried with back-off first.

        Raises
        ------
        AiTemporaryError
            When the retries are exhausted (timeout, rate limit, server error, connection).
        AiRequestRefused
            When the provider refuses the request itself (bad key, unknown model).
        """
        ...


class JournalWriter(Protocol):
    """**Port:** the keyless journal: text in the owner's language written from the facts alone."""

    def write(self, facts: Mapping[str, Any], language: str) -> str:
        """Return the journal of `facts` (the shape `service_layer.ai.facts` gathers) in ``ko`` or ``en``."""
        ...


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How to search and verify parameters: walk-forward windows ending on `data_until` (calendar days).

    Attributes
    ----------
    data_until : date
        The last day of data that may be read (yesterday for the session the draft is for).
    windows : int
        Walk-forward windows; each is `in_sample_days` then `out_of_sample_days`, rolled by the latter.
    max_change_pct : Decimal
        The search stays within this percent of each ACTIVE value (the gate's step rule).
    jobs : int
        Worker processes of the search (0: in this process).
    """

    data_until: date
    trials: int = 24
    in_sample_days: int = 730
    out_of_sample_days: int = 180
    windows: int = 3
    objective: str = "sharpe"
    seed: int = 0
    max_change_pct: Decimal = Decimal(30)
    jobs: int = 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """Backtest evidence of proposed parameters against the ACTIVE ones: what the gate reads, and every
    figure for people (JSON-safe)."""

    out_of_sample: OutOfSample
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a search found: the candidate parameters, why, and their evidence."""

    candidate: Mapping[str, Any]
    rationale: str
    evidence: Evidence


class ParameterResearch(Protocol):
    """**Port:** the research engine (backtest and walk-forward search), as the AI jobs use it."""

    def unsupported(self, spec: StrategySpec) -> str | None:
        """Return why the engine cannot backtest `spec`'s strategy, or None when it can."""
        ...

    async def search(self, spec: StrategySpec, active: Mapping[str, Any], plan: SearchPlan) -> Finding:
        """Search parameters around `active` on data up to `plan.data_until`; return the last window's
        in-sample best with its out-of-sample evidence against `active`."""
        ...

    async def verify(
        self, spec: StrategySpec, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        """Backtest `proposed` and `active` on the last out-of-sample span ending on `plan.data_until`."""
        ...

    async def day_comparison(self, account_id: str, day: date) -> Mapping[str, Any]:
        """Return the account's traded day against the backtest of its period so far (JSON-safe), or a mapping
        with ``unavailable`` saying why there is none."""
        ...
