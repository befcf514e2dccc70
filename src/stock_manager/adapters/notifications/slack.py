"""Slack notifier: the owner's phone. Nothing about it can stop or slow trading.

`event` and `session_closed` only put the item on a bounded queue and return; a worker thread routes
(`slack_routing`), batches warnings, suppresses duplicate alerts, renders the equity curve and calls Slack.
A full queue drops the item and counts it; a failed call is retried a few times, then counted and logged;
nothing is ever raised to the caller.
"""

import queue
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from stock_manager.adapters.notifications.slack_client import SlackResult
from stock_manager.adapters.notifications.slack_routing import (
    Deduper,
    WarningBatch,
    alert_key,
    format_batch,
    format_event,
    format_report,
    route,
)
from stock_manager.domain.clock import Clock
from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.views.reports import DailyReport

log = structlog.get_logger("stockbot.slack")

_STOP = object()
_RETRY_DELAYS = (timedelta(seconds=5), timedelta(seconds=30))  # then the message is given up


class SlackApi(Protocol):
    """What the notifier needs of Slack (`SlackPoster`)."""

    def auth_test(self) -> SlackResult: ...

    def post_message(self, channel_id: str, text: str) -> SlackResult: ...

    def upload_file(self, channel_id: str, filename: str, data: bytes, *, title: str, comment: str) -> SlackResult: ...


@dataclass(frozen=True, slots=True)
class SlackChannels:
    """Channel IDs (never names): alerts for ERROR/CRITICAL/WARNING, trades for the trading story."""

    alerts: str
    trades: str


@dataclass(slots=True)
class SlackStats:
    """What happened to the notices so far (read them after `close` for exact figures)."""

    sent: int = 0
    failed: int = 0  # calls that failed (each retry counts)
    given_up: int = 0  # messages dropped after their last retry
    overflow: int = 0  # notices dropped because the queue was full
    suppressed: int = 0  # duplicate alerts not sent again
    not_sent: int = 0  # INFO and DEBUG events that are not for Slack


@dataclass(slots=True)
class _Pending:
    channel: str
    text: str
    attempt: int = 0
    due: datetime | None = None
    png: bytes | None = None
    filename: str = ""


class SlackNotifier:
    """**Adapter:** `Notifier` sending to Slack from a worker thread.

    Parameters
    ----------
    api : SlackApi
        The Slack client (`SlackPoster`).
    channels : SlackChannels
        Where alerts and trade events go.
    clock : Clock
        Wall clock for batching and duplicate windows (not the replay's clock).
    label : str
        Shown in every message (e.g. ``paper``), so paper and live are never confused.
    attach_chart : bool
        Attach the equity-curve PNG to the daily report.
    queue_size : int
        Notices waiting at most; more are dropped and counted.
    poll_interval_secs : float
        How often the worker checks the batch and retries while idle.
    """

    def __init__(
        self,
        api: SlackApi,
        channels: SlackChannels,
        *,
        clock: Clock,
        label: str = "",
        attach_chart: bool = True,
        queue_size: int = 1000,
        poll_interval_secs: float = 0.5,
        batch_window: timedelta = timedelta(minutes=5),
        dedupe_window: timedelta = timedelta(minutes=1),
        show_utc: bool = False,
    ) -> None:
        self._show_utc = show_utc
        self._api = api
        self._channels = channels
        self._clock = clock
        self._label = label or "stockbot"
        self._attach_chart = attach_chart
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._poll_secs = poll_interval_secs
        self._batch = WarningBatch(batch_window)
        self._dedupe = Deduper(dedupe_window)
        self._retries: deque[_Pending] = deque()
        self._failing = False
        self._thread: threading.Thread | None = None
        self.stats = SlackStats()

    # -- NOTIFIER PORT (called on the event loop: enqueue only) ----------------------------------------

    def event(self, record: EventRecord) -> None:
        """Queue one event for the worker; return at once."""
        self._offer(record)

    def session_closed(self, report: DailyReport) -> None:
        """Queue the daily report (with the equity curve) for the worker; return at once."""
        self._offer(report)

    def _offer(self, item: object) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.stats.overflow += 1
            if self.stats.overflow in (1, 10, 100, 1000) or self.stats.overflow % 10_000 == 0:
                log.warning("slack_queue_full", dropped=self.stats.overflow)
        except Exception:  # noqa: S110 - a notifier must never break the trading path  # nosec B110
            pass

    # -- LIFECYCLE ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (it checks the token first and logs the answer)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-notifier", daemon=True)
            self._thread.start()

    def close(self, timeout_secs: float = 10.0) -> bool:
        """Send what is queued and the pending warning batch, then stop; wait at most `timeout_secs`.

        Returns
        -------
        bool
            True when the worker finished in time (False: Slack is hanging; the thread is left to die
            with the process).
        """
        if self._thread is None:
            return True
        try:
            self._queue.put(_STOP, timeout=timeout_secs)
        except queue.Full:
            return False
        self._thread.join(timeout_secs)
        return not self._thread.is_alive()

    # -- WORKER ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        checked = self._api.auth_test()
        if checked.ok:
            log.info("slack_ready", alerts=self._channels.alerts, trades=self._channels.trades)
        else:
            log.warning("slack_auth_failed", error=checked.error)
        while True:
            try:
                item = self._queue.get(timeout=self._poll_secs)
            except queue.Empty:
                item = None
            try:
                if item is _STOP:
                    self._flush_batch()
                    self._retry(final=True)
                    return
                if isinstance(item, EventRecord):
                    self._handle_event(item)
                elif isinstance(item, DailyReport):
                    self._handle_report(item)
                if self._batch.due(self._clock.now()):
                    self._flush_batch()
                self._retry(final=False)
            except Exception as e:  # the worker must survive anything (a formatting bug, a chart error)
                log.error("slack_worker_error", error=f"{type(e).__name__}: {e}")

    def _handle_event(self, record: EventRecord) -> None:
        where = route(record, alerts_channel=self._channels.alerts, trades_channel=self._channels.trades)
        now = self._clock.now()
        if where.batch:
            self._batch.add(record, now)
        elif not where.now:
            self.stats.not_sent += 1
        elif where.alert and not self._dedupe.first(alert_key(record), now):
            self.stats.suppressed += 1
        else:
            text = format_event(record, self._label, show_utc=self._show_utc)
            for channel in where.now:
                self._send(_Pending(channel, text))

    def _handle_report(self, report: DailyReport) -> None:
        text = format_report(report, self._label)
        png = None
        if self._attach_chart:
            try:
                from stock_manager.adapters.notifications.charts import equity_curve_png

                png = equity_curve_png(report.equity_curve)
            except Exception as e:
                log.warning("equity_chart_failed", error=f"{type(e).__name__}: {e}")
        self._send(_Pending(self._channels.trades, text, png=png, filename=f"equity-{report.trading_date}.png"))

    def _flush_batch(self) -> None:
        warnings, started = self._batch.take()
        if warnings:
            self._send(_Pending(self._channels.alerts, format_batch(warnings, started, self._label)))

    def _send(self, pending: _Pending) -> None:
        if pending.png is not None:
            result = self._api.upload_file(
                pending.channel, pending.filename, pending.png, title=pending.filename, comment=pending.text
            )
            if not result.ok:  # the text matters more than the picture: post it alone next time
                log.warning("slack_upload_failed", error=result.error)
                pending.png = None
        else:
            result = self._api.post_message(pending.channel, pending.text)
        if result.ok:
            self.stats.sent += 1
            if self._failing:
                self._failing = False
                log.info("slack_recovered", failed=self.stats.failed, given_up=self.stats.given_up)
            return
        self.stats.failed += 1
        if not self._failing:
            self._failing = True
            log.warning("slack_send_failed", error=result.error, channel=pending.channel)
        if pending.attempt < len(_RETRY_DELAYS):
            pending.due = self._clock.now() + _RETRY_DELAYS[pending.attempt]
            pending.attempt += 1
            self._retries.append(pending)
        else:
            self.stats.given_up += 1

    def _retry(self, *, final: bool) -> None:
        # Resend what is due (everything once more when closing, without waiting for its delay).
        now = self._clock.now()
        for _ in range(len(self._retries)):
            pending = self._retries.popleft()
            if final or (pending.due is not None and pending.due <= now):
                if final:
                    pending.attempt = len(_RETRY_DELAYS)
                self._send(pending)
            else:
                self._retries.append(pending)
