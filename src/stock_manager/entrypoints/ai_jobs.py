"""Part of the composition root: the AI batch jobs, built from the settings (``AI_*``).

`build_language_model` chooses the provider adapter (none, OpenAI-compatible, Anthropic); `ai_context` wires
the jobs' ports (database, notifier, wall clock, the venue's trading day, the research engine, the keyless
writer, masking); `nightly_jobs` is the daemon's after-close hook. `earliest_session` and `last_settled` are the
dates the CLI defaults to. No broker and no kill switch are ever handed to the jobs.
"""

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.masking import mask
from stock_manager.config.ai_checks import ai_problem
from stock_manager.config.ai_settings import AiProvider
from stock_manager.config.settings import Mode, Settings, VenueName
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import GateRules
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ai.context import AiConfig, AiContext, Budget
from stock_manager.service_layer.ai.journal import JournalJob
from stock_manager.service_layer.ai.nightly import NightlyJobs
from stock_manager.service_layer.ai.proposals import ProposalJob
from stock_manager.service_layer.ports.ai import LanguageModel
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.venue import VenueProfile


def require_ai_settings(settings: Settings) -> None:
    """Refuse AI settings that cannot work together, naming them.

    Raises
    ------
    ConfigurationError
        See `config.ai_checks.ai_problem`.
    """
    if problem := ai_problem(settings):
        raise ConfigurationError(problem)


def build_language_model(settings: Settings, *, retry_base_secs: float = 1.0) -> LanguageModel | None:
    """Return the language model of ``AI_PROVIDER`` (None for ``none``: the keyless jobs).

    Raises
    ------
    ConfigurationError
        For incomplete AI settings (`require_ai_settings`).
    """
    require_ai_settings(settings)
    if settings.ai_provider is AiProvider.NONE:
        return None
    key = settings.ai_api_key.get_secret_value() if settings.ai_api_key is not None else None
    options: dict[str, Any] = {
        "model": settings.ai_model.strip(),
        "api_key": key or None,
        "base_url": settings.ai_base_url,
        "timeout_secs": settings.ai_timeout_secs,
        "max_retries": settings.ai_max_retries,
        "retry_base_secs": retry_base_secs,
    }
    if settings.ai_provider is AiProvider.ANTHROPIC:
        from stock_manager.adapters.ai.anthropic_chat import AnthropicChat

        return AnthropicChat(**options)
    from stock_manager.adapters.ai.openai_chat import OpenAiCompatibleChat

    return OpenAiCompatibleChat(**options)


def ai_config(settings: Settings, *, search_jobs: int = 0) -> AiConfig:
    """Return the jobs' settings."""
    return AiConfig(
        language=settings.ai_journal_language,
        max_output_tokens=settings.ai_max_output_tokens,
        job_timeout_secs=settings.ai_job_timeout_secs,
        budget=Budget(
            settings.ai_budget_tokens_per_night,
            settings.ai_budget_krw_per_night,
            settings.ai_price_input_krw_per_mtok,
            settings.ai_price_output_krw_per_mtok,
        ),
        rules=GateRules(
            settings.ai_gate_oos_margin, settings.ai_gate_max_drawdown_pct, settings.ai_gate_max_change_pct
        ),
        trials=settings.ai_propose_trials,
        in_sample_days=settings.ai_propose_in_sample_days,
        out_of_sample_days=settings.ai_propose_out_of_sample_days,
        windows=settings.ai_propose_windows,
        objective=settings.ai_propose_objective,
        seed=settings.ai_propose_seed,
        search_jobs=search_jobs,
    )


def ai_context(
    settings: Settings,
    storage: Any,
    notifier: Notifier,
    *,
    profile: VenueProfile | None = None,
    model: LanguageModel | None = None,
    data_files: list[Path] | None = None,
    search_jobs: int = 0,
) -> AiContext:
    """Return the jobs' context for `settings` on `storage` (a `bootstrap.Storage`).

    `model` overrides the settings' provider (tests); `data_files` replace the bundled bars of the research
    engine (``stockbot ai propose --data``).
    """
    from stock_manager.adapters.ai.journal_writer import FactsJournalWriter
    from stock_manager.adapters.venues.krx.rules import krx_cost_model
    from stock_manager.entrypoints.bootstrap import risk_limits, strategy_specs, venue_profile
    from stock_manager.entrypoints.research_upbit import intraday_research
    from stock_manager.research.ai_intraday import VenueResearch
    from stock_manager.research.ai_research import BacktestResearch
    from stock_manager.research.data import bundled, from_files
    from stock_manager.research.engine import BacktestConfig

    profile = profile or venue_profile(settings)
    if model is None:
        model = build_language_model(settings)
    symbols = list(settings.sim_symbols)

    def market() -> Any:
        return from_files(data_files, symbols) if data_files else bundled(symbols)

    base = BacktestConfig(
        settings.sim_from,
        settings.sim_to,
        limits=risk_limits(settings),
        start_cash_krw=settings.sim_start_cash_krw,
        participation_rate=settings.sim_participation_rate,
        cost_model=krx_cost_model(settings.commission_rate),
    )
    research = VenueResearch(
        BacktestResearch(market, base, storage=storage, settings=settings),
        intraday_research(settings, storage),
        intraday_venue=settings.venue is VenueName.UPBIT,
    )
    return AiContext(
        uow_factory=storage.uow_factory,
        notifier=notifier,
        wall_clock=SystemClock(),
        day_boundary=profile.trading_day,
        venue=profile.name,
        specs={spec.strategy_id: spec for spec in strategy_specs(settings)},
        writer=FactsJournalWriter(),
        research=research,
        mask=mask,
        config=ai_config(settings, search_jobs=search_jobs),
        model=model,
        params_file=settings.strategy_params_file,
    )


def nightly_jobs(
    settings: Settings, storage: Any, notifier: Notifier, profile: VenueProfile, *, model: LanguageModel | None = None
) -> NightlyJobs | None:
    """Return the daemon's after-close hook for ``AI_JOURNAL_AFTER_CLOSE`` / ``AI_PROPOSE_NIGHTLY``; None
    when both are off."""
    if not (settings.ai_journal_after_close or settings.ai_propose_nightly):
        return None
    ctx = ai_context(settings, storage, notifier, profile=profile, model=model)
    return NightlyJobs(
        JournalJob(ctx) if settings.ai_journal_after_close else None,
        ProposalJob(ctx) if settings.ai_propose_nightly else None,
        settings.ai_propose_every_sessions,
    )


async def last_settled(storage: Any, venue: str | None = None) -> date | None:
    """Return the last settled session of the account that traded last (of `venue` when given), or None."""
    async with storage.uow_factory() as uow:
        state = await uow.control.get_daemon_state(None, venue)
        if state is None:
            return None
        settled = await uow.settlements.list_all(state.account_id, with_summary=False)
    return settled[-1].trading_date if settled else None


async def earliest_session(settings: Settings, storage: Any) -> date:
    """Return the first session the daemon has not opened: after the last settled one and, in paper and live,
    after now (a session already open is never changed).

    Raises
    ------
    ConfigurationError
        When the calendar has no session after that.
    """
    from stock_manager.entrypoints.bootstrap import venue_profile, venue_scope

    next_session: Callable[[datetime], TradingSession | None]
    session_for: Callable[[date], TradingSession]
    if settings.venue is VenueName.UPBIT:
        from stock_manager.adapters.venues.upbit.calendar import UpbitCalendar
        from stock_manager.entrypoints.upbit_venue import maintenance_windows

        calendar = UpbitCalendar(maintenance_windows(settings))
        next_session, session_for = calendar.next_session, calendar.session_for
    else:
        from stock_manager.adapters.venues.krx.calendar import next_session, session_for

    points = []
    last = await last_settled(storage, venue_scope(settings.venue))
    if last is not None:
        points.append(session_for(last).ts_close)
    if settings.mode is not Mode.SIM:
        points.append(SystemClock().now())
    if not points:  # nothing traded yet: the replay's first session
        first = next_session(venue_profile(settings).trading_day.start_of(settings.sim_from))
        if first is None:
            raise ConfigurationError(f"the calendar has no session from {settings.sim_from}")
        return first.trading_date
    after = max(points)
    session = next_session(after)
    while session is not None and session.ts_open <= after:
        session = next_session(session.ts_close)
    if session is None:
        raise ConfigurationError(f"the calendar has no session after {after:%Y-%m-%d}")
    return session.trading_date
