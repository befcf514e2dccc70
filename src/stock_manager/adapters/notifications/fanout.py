"""One `Notifier` that forwards to several (console and Slack); one failing never affects another."""

from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.views.reports import DailyReport


class FanoutNotifier:
    """**Adapter:** `Notifier` passing every notice to each of `notifiers`, in order."""

    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def event(self, record: EventRecord) -> None:
        """Pass the event on to each notifier."""
        for notifier in self.notifiers:
            try:
                notifier.event(record)
            except Exception:  # noqa: S112 - a notifier must never break the trading path  # nosec B112
                continue

    def session_closed(self, report: DailyReport) -> None:
        """Pass the daily report on to each notifier."""
        for notifier in self.notifiers:
            try:
                notifier.session_closed(report)
            except Exception:  # noqa: S112 - a notifier must never break the trading path  # nosec B112
                continue
