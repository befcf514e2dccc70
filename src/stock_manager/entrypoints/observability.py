"""Part of the composition root: what the daemon reports through (console and Slack notices, Prometheus
metrics), started and stopped around a run.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.notifications.fanout import FanoutNotifier
from stock_manager.adapters.observability.masking import register_account, register_secret
from stock_manager.config.settings import Settings, VenueName
from stock_manager.domain.errors import ConfigurationError
from stock_manager.service_layer.ports.metrics import Metrics, NullMetrics
from stock_manager.service_layer.ports.notifications import Notifier

if TYPE_CHECKING:
    from stock_manager.adapters.notifications.slack import SlackNotifier


def register_secrets(settings: Settings) -> None:
    """Hide the settings' secrets from every log line, event, message and error from now on: the venue keys
    and secrets, the Slack bot token and the AI key entirely, the KIS account number partly (``5012****-01``).

    Adapters register what they receive at run time (access tokens, approval keys) with
    `stock_manager.adapters.observability.masking.register_secret`.
    """
    for secret in (
        settings.kis_app_key,
        settings.kis_app_secret,
        settings.slack_bot_token,
        settings.upbit_access_key,
        settings.upbit_secret_key,
        settings.ai_api_key,
    ):
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
    channels = SlackChannels(
        settings.slack_alerts_channel_id, settings.slack_trades_channel_id or settings.slack_alerts_channel_id
    )
    upbit = settings.venue is VenueName.UPBIT
    return SlackNotifier(
        poster,
        channels,
        clock=SystemClock(),
        label=f"{settings.venue} {settings.mode}" if upbit else str(settings.mode),
        show_utc=upbit,
    )


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
    console = console or ConsoleNotifier(show_utc=settings.venue is VenueName.UPBIT)
    obs = Observability(
        notifier=FanoutNotifier(console, slack) if slack else console, metrics=NullMetrics(), slack=slack
    )
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
