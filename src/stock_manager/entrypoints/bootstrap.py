"""The composition root: the one place concrete adapters are built and wired to the service layer.

Nothing here runs at import time; tests call the same functions with their own settings.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import current_revision, head_revision, upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.settings import Mode, ParamsFallback, Settings
from stock_manager.domain.clock import FixedClock, kst_datetime
from stock_manager.domain.errors import ConfigurationError, StorageUnavailable
from stock_manager.domain.market_rules import CostModel
from stock_manager.domain.risk import RiskLimits
from stock_manager.service_layer.daemon import DaemonConfig, TradingDaemon
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.session import SymbolInfo

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.broker import SimBroker


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
                raise ConfigurationError(f"the database schema is at {current or 'nothing'}, the code needs "
                                         f"{head}: run `stockbot db upgrade`")
    except (DBAPIError, OSError) as e:
        raise StorageUnavailable(f"cannot open the database {safe_url(url)}: {_first_line(e)}") from None
    engine = create_engine(url)
    try:
        yield Storage(engine, SqlUnitOfWorkFactory(engine, mode=str(settings.mode)))
    finally:
        await engine.dispose()


def safe_url(url: str) -> str:
    """Return `url` with its password hidden, or a placeholder when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def universe(settings: Settings) -> list[SymbolInfo]:
    """Return the symbols to trade with their names and kinds from the bundled KIS master file.

    Raises
    ------
    ConfigurationError
        Naming a symbol the bundled data does not have.
    """
    from stock_manager.adapters.marketdata import BUNDLED_SYMBOLS, symbol_info

    unknown = [s for s in settings.sim_symbols if s not in BUNDLED_SYMBOLS]
    if unknown:
        raise ConfigurationError(f"no bundled market data for symbol(s) {', '.join(unknown)}; "
                                 f"available: {', '.join(BUNDLED_SYMBOLS)}")
    infos = [symbol_info(s) for s in settings.sim_symbols]
    return [SymbolInfo(i.symbol, i.name, i.market, str(i.kind or "STOCK")) for i in infos]


def risk_limits(settings: Settings) -> RiskLimits:
    """Return the risk limits from settings."""
    return RiskLimits(max_open_positions=settings.risk_max_open_positions,
                      max_quantity_per_symbol=settings.risk_max_quantity_per_symbol,
                      daily_loss_limit_pct=settings.risk_daily_loss_limit_pct)


def require_broker_mode_available(settings: Settings) -> None:
    """Refuse paper and live trading until the KIS adapter exists, naming what is missing.

    Raises
    ------
    ConfigurationError
        Always for paper and live: first the missing KIS settings, else that the adapter is not built yet.
    """
    if settings.mode is Mode.SIM:
        return
    missing = settings.missing_kis_settings()
    if missing:
        raise ConfigurationError(f"--mode {settings.mode} needs these settings: {', '.join(missing)} "
                                 "(see .env.example)")
    raise ConfigurationError(f"--mode {settings.mode} is not available yet: the KIS Open API adapter is not "
                             "part of this version; use --mode sim")


def build_sim_broker(settings: Settings, clock: FixedClock, *, fresh: bool = False) -> "SimBroker":
    """Return the replaying simulated exchange for the settings' period and symbols.

    It resumes the journaled replay of the same parameters; `fresh` starts a new one on a new account.
    """
    from stock_manager.adapters.broker.sim.broker import SimBroker

    return SimBroker(
        symbols=list(settings.sim_symbols), start_date=settings.sim_from, end_date=settings.sim_to, clock=clock,
        state_dir=settings.sim_state_dir, speed=settings.sim_speed_factor,
        participation_rate=settings.sim_participation_rate, start_cash_krw=settings.sim_start_cash_krw,
        cost_model=CostModel(commission_rate=settings.commission_rate), fresh=fresh,
    )


def attach_broker(settings: Settings) -> "tuple[SimBroker, FixedClock] | None":
    """Return the broker of the mode read-only, with its clock, for recovery; None when there is none yet.

    Raises
    ------
    ConfigurationError
        For paper and live (no adapter yet), or when a running daemon holds the replay.
    """
    require_broker_mode_available(settings)
    from stock_manager.adapters.broker.sim.broker import SimBroker

    broker = SimBroker.attach(settings.sim_state_dir)
    return None if broker is None else (broker, broker.clock)


def replay_clock(settings: Settings) -> FixedClock:
    """Return the market clock of a replay, set before the first session."""
    from datetime import time

    return FixedClock(kst_datetime(settings.sim_from, time(0, 0)))


def build_daemon(
    settings: Settings, storage: Storage, *, notifier: Notifier | None = None,
    broker: Any = None, clock: FixedClock | None = None, fresh: bool = False,
) -> TradingDaemon:
    """Wire the daemon for `settings.mode` (only sim has a broker today).

    Tests may pass their own `broker` (implementing `Broker` and `SessionSchedule`) with its `clock`.

    Raises
    ------
    ConfigurationError
        For paper and live (see `require_broker_mode_available`) and for unknown symbols.
    """
    require_broker_mode_available(settings)
    if broker is None:
        clock = replay_clock(settings)
        broker = build_sim_broker(settings, clock, fresh=fresh)
    elif clock is None:
        raise ValueError("an injected broker needs its clock")
    config = DaemonConfig(
        mode=str(settings.mode), account_id=None, universe=universe(settings), risk_limits=risk_limits(settings),
        params_file=settings.strategy_params_file,
        stop_without_params=settings.params_fallback is ParamsFallback.STOP,
        kill_poll_interval_secs=settings.kill_poll_interval_secs,
        heartbeat_interval_secs=settings.heartbeat_interval_secs,
    )
    return TradingDaemon(config=config, uow_factory=storage.uow_factory, broker=broker, schedule=broker,
                         clock=clock, wall_clock=SystemClock(), notifier=notifier or ConsoleNotifier())
