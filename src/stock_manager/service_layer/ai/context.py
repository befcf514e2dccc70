"""What every AI job is built from (`AiContext`) and its settings (`AiConfig`), and the night's budget."""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from stock_manager.domain.clock import Clock, DayBoundary
from stock_manager.domain.param_gate import GateRules
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.ports.ai import JournalWriter, LanguageModel, ModelRequest, ParameterResearch
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory

_MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Budget:
    """The night's budget of model calls (``AI_BUDGET_*``, ``AI_PRICE_*``).

    A call is allowed when the night's tokens (and won, when priced) plus the call's estimate stay within the
    budget. The estimate is one token per two characters of instructions and prompt (Korean text runs about one
    token a character, English about four characters a token) plus the answer's ``max_output_tokens``.

    Attributes
    ----------
    tokens_per_night : int
        Input plus output tokens per night; 0 allows no call.
    krw_per_night : Decimal | None
        KRW per night (needs both prices); None: not counted in won.
    price_input_krw_per_mtok, price_output_krw_per_mtok : Decimal | None
        KRW per million tokens; the cost of a run is unknown (NULL) without them.
    """

    tokens_per_night: int = 100_000
    krw_per_night: Decimal | None = None
    price_input_krw_per_mtok: Decimal | None = None
    price_output_krw_per_mtok: Decimal | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        """Return the cost of the tokens in KRW, or None when the prices are not set."""
        if self.price_input_krw_per_mtok is None or self.price_output_krw_per_mtok is None:
            return None
        return (input_tokens * self.price_input_krw_per_mtok + output_tokens * self.price_output_krw_per_mtok) / _MTOK

    @staticmethod
    def estimate(request: ModelRequest) -> tuple[int, int]:
        """Return the largest (input, output) tokens `request` may use, as the budget counts them."""
        return math.ceil((len(request.system) + len(request.prompt)) / 2), request.max_output_tokens

    def refusal(self, used_tokens: int, used_krw: Decimal, request: ModelRequest) -> str | None:
        """Return why `request` may not be sent given the night's use so far, or None when it may."""
        tokens_in, tokens_out = self.estimate(request)
        need = tokens_in + tokens_out
        if used_tokens + need > self.tokens_per_night:
            return (
                f"the night's budget of {self.tokens_per_night:,} tokens would be passed: {used_tokens:,} used, "
                f"this call may use up to {need:,}"
            )
        cost = self.cost(tokens_in, tokens_out)
        if self.krw_per_night is not None and cost is not None and used_krw + cost > self.krw_per_night:
            return (
                f"the night's budget of {self.krw_per_night:,} KRW would be passed: {used_krw:,.2f} KRW used, "
                f"this call may cost up to {cost:,.2f} KRW"
            )
        return None


@dataclass(frozen=True, slots=True)
class AiConfig:
    """The jobs' settings (``AI_*``).

    Attributes
    ----------
    language : str
        The journal's language, ``ko`` or ``en``.
    max_output_tokens : int
        The longest answer asked of the model.
    job_timeout_secs : float
        A whole job is given up after this long (the run is recorded FAILED).
    trials, in_sample_days, out_of_sample_days, windows, objective, seed : ...
        The nightly search (`SearchPlan`).
    """

    language: str = "ko"
    max_output_tokens: int = 1500
    job_timeout_secs: float = 900.0
    budget: Budget = field(default_factory=Budget)
    rules: GateRules = field(default_factory=GateRules)
    trials: int = 24
    in_sample_days: int = 730
    out_of_sample_days: int = 180
    windows: int = 3
    objective: str = "sharpe"
    seed: int = 0
    search_jobs: int = 0


@dataclass(slots=True)
class AiContext:
    """What the jobs are built from: the database, the notifier, a wall clock, the research engine, the writer
    and, optionally, a language model. No broker, execution or kill switch: the jobs cannot trade.

    Attributes
    ----------
    wall_clock : Clock
        Real time: when runs start and end, and which night the budget counts.
    day_boundary : DayBoundary
        The venue's trading day: the night's date and the day's span of risk decisions.
    venue : str
        The venue's name, stored with journals.
    specs : Mapping[str, StrategySpec]
        The account's strategies by id (their validation, defaults and bounds).
    params_file : Path | None
        The fallback parameter file (``STRATEGY_PARAMS_FILE``), for the parameters in force without a row.
    mask : Callable[[str], str]
        Hides secrets in every text stored or sent (prompts, answers, journals, errors).
    model : LanguageModel | None
        None: the keyless jobs (``AI_PROVIDER=none``).
    """

    uow_factory: UnitOfWorkFactory
    notifier: Notifier
    wall_clock: Clock
    day_boundary: DayBoundary
    venue: str
    specs: Mapping[str, StrategySpec]
    writer: JournalWriter
    research: ParameterResearch
    mask: Callable[[str], str]
    config: AiConfig = field(default_factory=AiConfig)
    model: LanguageModel | None = None
    params_file: Path | None = None

    @property
    def provider(self) -> str:
        """Return the provider's name, ``none`` without a model."""
        return self.model.provider if self.model is not None else "none"

    @property
    def model_name(self) -> str:
        """Return ``<provider>:<model>``, or ``facts`` (the keyless writer)."""
        return f"{self.model.provider}:{self.model.model}" if self.model is not None else "facts"
