"""The composition root: the one place concrete adapters are built and wired to the service layer.

Nothing here runs at import time; tests call the same functions with their own settings.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.notifications.fanout import FanoutNotifier
from stock_manager.adapters.observability.masking import register_account, register_secret
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import current_revision, head_revision, upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.settings import Mode, ParamsFallback, Settings
from stock_manager.domain.clock import FixedClock, kst_datetime
from stock_manager.domain.errors import ConfigurationError, StorageUnavailable
from stock_manager.domain.market_rules import CostModel
from stock_manager.domain.risk import RiskLimits
from stock_manager.service_layer.daemon import DaemonConfig, TradingDaemon
from stock_manager.service_layer.kill_notices import KillSwitchNotices
from stock_manager.service_layer.metrics_port import Metrics, NullMetrics
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.session import SymbolInfo

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.broker import SimBroker
    from stock_manager.adapters.notifications.slack import SlackNotifier
    from stock_manager.entrypoints.venues import Venue


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
    """Return the symbols to trade (``SIM_SYMBOLS``) with their names and kinds from the bundled KIS master.

    Raises
    ------
    ConfigurationError
        In sim, naming a symbol the bundled market data does not have; in any mode, one the master lacks.
    """
    from stock_manager.adapters.marketdata import BUNDLED_SYMBOLS, symbol_info

    unknown = [s for s in settings.sim_symbols if s not in BUNDLED_SYMBOLS]
    if unknown and settings.mode is Mode.SIM:
        raise ConfigurationError(f"no bundled market data for symbol(s) {', '.join(unknown)}; "
                                 f"available: {', '.join(BUNDLED_SYMBOLS)}")
    infos = [symbol_info(s) for s in settings.sim_symbols]
    return [SymbolInfo(i.symbol, i.name, i.market, str(i.kind or "STOCK")) for i in infos]


def risk_limits(settings: Settings) -> RiskLimits:
    """Return the risk limits from settings (the database's newest changes override them at each open)."""
    return RiskLimits(**{f.name: getattr(settings, f"risk_{f.name}") for f in fields(RiskLimits)})


def kill_notices(settings: Settings) -> "Callable[[], Awaitable[KillSwitchNotices]] | None":
    """Return a connector for kill-switch notices on PostgreSQL (``LISTEN stockbot_kill``); None on SQLite."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return None

    async def connect() -> "KillSwitchNotices":
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
    missing = settings.missing_kis_settings()
    if missing:
        raise ConfigurationError(f"--mode {settings.mode} needs these settings: {', '.join(missing)} "
                                 "(see .env.example)")


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


def replay_clock(settings: Settings) -> FixedClock:
    """Return the market clock of a replay, set before the first session."""
    from datetime import time

    return FixedClock(kst_datetime(settings.sim_from, time(0, 0)))


def register_secrets(settings: Settings) -> None:
    """Hide the settings' secrets from every log line, event, message and error from now on: the KIS app key
    and secret and the Slack bot token entirely, the KIS account number partly (``5012****-01``).

    Adapters register what they receive at run time (access tokens, approval keys) with
    `stock_manager.adapters.observability.masking.register_secret`.
    """
    for secret in (settings.kis_app_key, settings.kis_app_secret, settings.slack_bot_token):
        register_secret(secret)
    register_account(settings.kis_account)


@dataclass(slots=True)
class Observability:
    """What the daemon reports through: the notifier (console and, when configured, Slack) and metrics."""

    notifier: Notifier
    metrics: Metrics
    slack: "SlackNotifier | None" = None
    metrics_url: str | None = None
    _stops: list[Callable[[], object]] = field(default_factory=list)


def build_slack_notifier(settings: Settings) -> "SlackNotifier | None":
    """Return the Slack notifier (not started) when SLACK_BOT_TOKEN is set, else None.

    Raises
    ------
    ConfigurationError
        When the token is set without the alerts channel, or a channel without the token.
    """
    if problem := settings.slack_problem():
        raise ConfigurationError(problem)
    if not settings.slack_enabled or settings.slack_bot_token is None or settings.slack_alerts_channel_id is None:
        return None
    from stock_manager.adapters.notifications.slack import SlackChannels, SlackNotifier
    from stock_manager.adapters.notifications.slack_client import SlackPoster

    poster = SlackPoster(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_base_url)
    channels = SlackChannels(settings.slack_alerts_channel_id,
                             settings.slack_trades_channel_id or settings.slack_alerts_channel_id)
    return SlackNotifier(poster, channels, clock=SystemClock(), label=str(settings.mode))


@asynccontextmanager
async def open_observability(settings: Settings, *, console: Notifier | None = None) -> AsyncIterator[Observability]:
    """Start Slack (when configured) and the metrics endpoint (when METRICS_PORT is set); on exit send what
    Slack still has queued (waiting at most 10 s) and stop both.

    Raises
    ------
    ConfigurationError
        For incomplete Slack settings, or a metrics port that cannot be bound.
    """
    register_secrets(settings)
    slack = build_slack_notifier(settings)
    console = console or ConsoleNotifier()
    obs = Observability(notifier=FanoutNotifier(console, slack) if slack else console, metrics=NullMetrics(),
                        slack=slack)
    try:
        if settings.metrics_port is not None:
            from stock_manager.adapters.observability.metrics import PrometheusMetrics

            prometheus = PrometheusMetrics()
            try:
                obs._stops.append(prometheus.serve(settings.metrics_port))
            except OSError as e:
                raise ConfigurationError(f"METRICS_PORT {settings.metrics_port} cannot be used: {e}") from None
            obs.metrics, obs.metrics_url = prometheus, f"http://127.0.0.1:{settings.metrics_port}/metrics"
        if slack is not None:
            slack.start()
            obs._stops.append(lambda: slack.close(10.0))
        yield obs
    finally:
        for stop in reversed(obs._stops):
            await asyncio.to_thread(stop)


def build_daemon(
    settings: Settings, storage: Storage, venue: "Venue", *, notifier: Notifier | None = None,
    metrics: Metrics | None = None,
) -> TradingDaemon:
    """Wire the daemon for `settings` on `venue` (see `entrypoints.venues.open_venue`; tests pass their own).

    Raises
    ------
    ConfigurationError
        For paper and live without KIS settings (see `require_broker_mode_available`), unknown symbols.
    """
    require_broker_mode_available(settings)
    config = DaemonConfig(
        mode=str(settings.mode), account_id=None, universe=universe(settings), risk_limits=risk_limits(settings),
        params_file=settings.strategy_params_file,
        stop_without_params=settings.params_fallback is ParamsFallback.STOP,
        kill_poll_interval_secs=settings.kill_poll_interval_secs,
        heartbeat_interval_secs=settings.heartbeat_interval_secs,
        reconcile_interval_secs=settings.reconcile_interval_secs,
        order_mode=str(settings.order_mode), flatten_wait_secs=settings.flatten_wait_secs,
    )
    return TradingDaemon(config=config, uow_factory=storage.uow_factory, broker=venue.broker,
                         schedule=venue.schedule, clock=venue.clock, wall_clock=SystemClock(),
                         notifier=notifier or ConsoleNotifier(), metrics=metrics,
                         kill_notices=kill_notices(settings))
