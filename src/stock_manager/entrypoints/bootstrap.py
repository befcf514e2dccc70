"""The composition root: the one place concrete objects are chosen, built and wired to the service layer.

`venues` (brokers and schedules per mode) and `observability` (notifiers, metrics) are parts of it; this
module builds the storage, the venue profile and, once the account is known, the execution and the session
runner the daemon drives. Nothing here runs at import time; tests call the same functions with their own
settings and venues.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import current_revision, head_revision, upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.settings import Mode, ParamsFallback, Settings, VenueName
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, StorageUnavailable
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.entrypoints.observability import (
    Observability,
    build_slack_notifier,
    open_observability,
    register_secrets,
)
from stock_manager.entrypoints.venues import Venue, build_sim_broker, open_recovery_venue, open_venue, replay_clock
from stock_manager.localtime import show_kst
from stock_manager.service_layer.closing import BeforeClose
from stock_manager.service_layer.daemon import DaemonConfig, SessionAssembly, TradingDaemon
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.kill_switch import KillSwitch
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.kill_notices import KillSwitchNotices
from stock_manager.service_layer.ports.metrics import Metrics, NullMetrics
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory
from stock_manager.service_layer.ports.venue import VenueProfile
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner

__all__ = [
    "Observability",
    "Storage",
    "Venue",
    "build_daemon",
    "build_execution",
    "build_sim_broker",
    "build_slack_notifier",
    "kill_notices",
    "open_observability",
    "open_recovery_venue",
    "open_storage",
    "open_venue",
    "register_secrets",
    "replay_clock",
    "require_broker_mode_available",
    "risk_limits",
    "safe_url",
    "venue_profile",
    "venue_scope",
]


@dataclass(slots=True)
class Storage:
    """An engine and its unit-of-work factory."""

    engine: AsyncEngine
    uow_factory: SqlUnitOfWorkFactory


@asynccontextmanager
async def open_storage(settings: Settings, *, upgrade: bool) -> AsyncIterator[Storage]:
    """Open the database; SQLite is upgraded to the newest schema on every start, PostgreSQL only when
    `upgrade` (``stockbot db upgrade``) and otherwise must already be current.

    Raises
    ------
    ConfigurationError
        For a malformed or unsupported ``DB_URL``, or a PostgreSQL schema behind the code.
    StorageUnavailable
        When the database cannot be reached or opened.
    """
    url = settings.database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        if upgrade or url.startswith("sqlite"):
            await upgrade_to_head(url)  # the embedded database keeps itself current
        else:
            current, head = await asyncio.to_thread(current_revision, url), head_revision()
            if current != head:
                raise ConfigurationError(
                    f"the database schema is at {current or 'nothing'}, the code needs "
                    f"{head}: run `stockbot db upgrade`"
                )
    except (DBAPIError, OSError) as e:
        raise StorageUnavailable(f"cannot open the database {safe_url(url)}: {_first_line(e)}") from None
    engine = create_engine(url)
    try:
        yield Storage(
            engine, SqlUnitOfWorkFactory(engine, mode=str(settings.mode), kill_scope=venue_scope(settings.venue))
        )
    finally:
        await engine.dispose()


def venue_scope(venue: VenueName) -> str:
    """Return the market a venue setting trades, as the database names it (``accounts.venue``, a kill switch's
    scope, the venue profile's name): ``krx`` for ``--venue kis``, ``upbit`` for ``--venue upbit``."""
    return "upbit" if venue is VenueName.UPBIT else "krx"


def safe_url(url: str) -> str:
    """Return `url` with its password hidden, or a placeholder when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def venue_profile(settings: Settings) -> VenueProfile:
    """Return the venue of the settings: KRX with the symbols to trade (``SIM_SYMBOLS``), named and typed by
    the bundled KIS master; or Upbit with its KRW markets.

    Raises
    ------
    ConfigurationError
        In sim, naming a symbol the bundled market data does not have; in any mode, one the master lacks.
    """
    if settings.venue is VenueName.UPBIT:
        from stock_manager.adapters.venues.upbit.data import require_market
        from stock_manager.adapters.venues.upbit.profile import upbit_profile
        from stock_manager.entrypoints.upbit_venue import upbit_instruments

        if settings.mode is Mode.SIM:
            for market in settings.sim_symbols:
                require_market(market)
        return upbit_profile(upbit_instruments(settings))
    from stock_manager.adapters.marketdata import BUNDLED_SYMBOLS
    from stock_manager.adapters.venues.krx.profile import krx_profile, listed_instrument

    unknown = [s for s in settings.sim_symbols if s not in BUNDLED_SYMBOLS]
    if unknown and settings.mode is Mode.SIM:
        raise ConfigurationError(
            f"no bundled market data for symbol(s) {', '.join(unknown)}; available: {', '.join(BUNDLED_SYMBOLS)}"
        )
    return krx_profile([listed_instrument(s) for s in settings.sim_symbols])


#: The strategies a venue's account runs unless ``STRATEGIES`` says otherwise: the MA 50/200 cross for stocks
#: (PRD §3.3); volatility breakout, grid and turtle side by side for Bitcoin (spec 004).
DEFAULT_STRATEGIES = {
    VenueName.KIS: (MA_CROSS.strategy_id,),
    VenueName.UPBIT: ("volatility_breakout", "grid", "turtle"),
}


def strategy_specs(settings: Settings) -> tuple[StrategySpec, ...]:
    """Return the strategies the account runs, in the order they are asked for signals (``STRATEGIES``, else the
    venue's `DEFAULT_STRATEGIES`)."""
    return tuple(STRATEGIES[s] for s in settings.strategies or DEFAULT_STRATEGIES[settings.venue])


def risk_limits(settings: Settings) -> RiskLimits:
    """Return the risk limits from settings (the database's newest changes override them at each open)."""
    return RiskLimits(**{f.name: getattr(settings, f"risk_{f.name}") for f in fields(RiskLimits)})


def kill_notices(settings: Settings) -> Callable[[], Awaitable[KillSwitchNotices]] | None:
    """Return a connector for kill-switch notices on PostgreSQL (``LISTEN stockbot_kill``); None on SQLite."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return None

    async def connect() -> KillSwitchNotices:
        from stock_manager.adapters.storage.kill_listener import PgKillSwitchListener

        listener = PgKillSwitchListener(url)
        await listener.connect()
        return listener

    return connect


def require_broker_mode_available(settings: Settings) -> None:
    """Refuse paper and live trading at once when KIS settings are missing, naming every one.

    Raises
    ------
    ConfigurationError
        For paper and live without ``KIS_APP_KEY``, ``KIS_APP_SECRET``, ``KIS_ACCOUNT`` or ``KIS_HTS_ID``.
    """
    if settings.mode is Mode.SIM:
        return
    if settings.venue is VenueName.UPBIT:
        if settings.mode is Mode.LIVE and (missing := settings.missing_upbit_settings()):
            raise ConfigurationError(
                f"--venue upbit --mode live needs these settings: {', '.join(missing)} "
                "(see .env.example, or `stockbot secrets set`)"
            )
        return
    missing = settings.missing_kis_settings()
    if missing:
        raise ConfigurationError(
            f"--mode {settings.mode} needs these settings: {', '.join(missing)} (see .env.example)"
        )


def build_execution(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    broker: Broker,
    clock: Clock,
    profile: VenueProfile,
    account_id: str,
    *,
    notifier: Notifier | None = None,
    metrics: Metrics | None = None,
    kill_switch: KillSwitch | None = None,
    on_stop: Callable[[str], Awaitable[None]] | None = None,
) -> Execution:
    """Return the execution of `account_id` at the venue of `profile` (the daemon's, and `stockbot recover`'s)."""
    config = ExecutionConfig(account_id, settings.mode, risk_limits(settings), settings.order_mode)
    return Execution(
        config=config,
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=notifier or ConsoleNotifier(),
        venue=profile,
        kill_switch=kill_switch,
        on_stop=on_stop,
        metrics=metrics,
    )


#: Paper and live: after the close, the day's working orders are looked up at the venue this many times, this
#: often, until their final state is known (the venue expires day orders, a closing-auction fill comes late).
FINAL_STATE_CHECKS = 20
FINAL_STATE_INTERVAL_SECS = 30.0


def build_daemon(
    settings: Settings,
    storage: Storage,
    venue: Venue,
    *,
    notifier: Notifier | None = None,
    metrics: Metrics | None = None,
    profile: VenueProfile | None = None,
) -> TradingDaemon:
    """Wire the daemon for `settings` on `venue` (see `entrypoints.venues.open_venue`; tests pass their own).

    The AI batch jobs (``AI_JOURNAL_AFTER_CLOSE``, ``AI_PROPOSE_NIGHTLY``) run after each close when on; they
    get the database and the notifier, never the broker or the kill switch.

    Raises
    ------
    ConfigurationError
        For paper and live without KIS settings (see `require_broker_mode_available`), unknown symbols,
        incomplete AI settings with the jobs on.
    """
    require_broker_mode_available(settings)
    profile = profile or venue_profile(settings)
    notifier = notifier or ConsoleNotifier()
    metrics = metrics or NullMetrics()

    def assemble(
        account_id: str,
        kill_switch: KillSwitch,
        on_stop: Callable[[str], Awaitable[None]],
        on_state: Callable[[str, str, date], Awaitable[None]],
    ) -> SessionRunner:
        execution = build_execution(
            settings,
            storage.uow_factory,
            venue.broker,
            venue.clock,
            profile,
            account_id,
            notifier=notifier,
            metrics=metrics,
            kill_switch=kill_switch,
            on_stop=on_stop,
        )
        book = StrategyBook(
            strategy_specs(settings), settings.strategy_params_file, settings.params_fallback is ParamsFallback.STOP
        )
        return SessionRunner(
            execution=execution,
            uow_factory=storage.uow_factory,
            broker=venue.broker,
            clock=venue.clock,
            notifier=notifier,
            mode=settings.mode,
            venue=profile,
            strategies=book,
            on_state=on_state,
            metrics=metrics,
            final_state_checks=0 if settings.mode is Mode.SIM else FINAL_STATE_CHECKS,
            final_state_interval_secs=FINAL_STATE_INTERVAL_SECS,
        )

    config = DaemonConfig(
        mode=settings.mode,
        account_id=None,
        kill_poll_interval_secs=settings.kill_poll_interval_secs,
        heartbeat_interval_secs=settings.heartbeat_interval_secs,
        reconcile_interval_secs=settings.reconcile_interval_secs,
        flatten_wait_secs=settings.flatten_wait_secs,
    )
    session_assembly: SessionAssembly = assemble
    from stock_manager.entrypoints.ai_jobs import nightly_jobs
    from stock_manager.entrypoints.lifecycle import universe_refresh

    refresh = universe_refresh(settings, storage.uow_factory, venue, notifier)

    return TradingDaemon(
        config=config,
        uow_factory=storage.uow_factory,
        broker=venue.broker,
        schedule=venue.schedule,
        clock=venue.clock,
        wall_clock=SystemClock(),
        notifier=notifier,
        assemble=session_assembly,
        kill_notices=kill_notices(settings),
        after_close=nightly_jobs(settings, storage, notifier, profile),
        show_time=show_kst,
        companions=() if refresh is None else (refresh,),
        closed_sessions=_closed_sessions(settings, venue),
        before_close=_before_close(settings, venue),
    )


def _before_close(settings: Settings, venue: Venue) -> BeforeClose | None:
    # Paper and live: the closing cancels are due CLOSE_CANCEL_LEAD_SECS before the close, by the venue's clock.
    if settings.mode is Mode.SIM:
        return None
    from stock_manager.adapters.broker.wall_schedule import sleep_until

    lead = timedelta(seconds=settings.close_cancel_lead_secs)
    return lambda session: sleep_until(venue.clock, session.ts_close - lead)


def _closed_sessions(settings: Settings, venue: Venue) -> Callable[[], list[TradingSession]] | None:
    # Paper and live on KRX: the calendar's sessions closed lately, by the venue's clock (closes missed while
    # the daemon was down are settled at start); the sim's schedule offers an unsettled session again.
    if settings.mode is Mode.SIM or settings.venue is VenueName.UPBIT:
        return None
    from stock_manager.adapters.broker.wall_schedule import closed_sessions
    from stock_manager.adapters.venues.krx.calendar import next_session

    return lambda: closed_sessions(next_session, venue.clock.now())
