"""**Port:** where the daemon tells its owner what happened (console, Slack).

A notifier must never raise into the trading path and must return at once: implementations catch their own
failures and do slow work (network) elsewhere.
"""

from typing import Protocol

from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.views.reports import DailyReport


class Notifier(Protocol):
    """**Port:** human-facing notices about events and session results."""

    def event(self, record: EventRecord) -> None:
        """Show or forward one recorded event (the implementation filters by severity and kind)."""
        ...

    def session_closed(self, report: DailyReport) -> None:
        """Show or forward one session's daily report."""
        ...


class NullNotifier:
    """A notifier that drops everything (tests, dry runs)."""

    def event(self, record: EventRecord) -> None:
        """Drop the event."""

    def session_closed(self, report: DailyReport) -> None:
        """Drop the report."""
