"""**Port:** where the daemon tells its owner what happened (console now; Slack later, issue 6).

A notifier must never raise into the trading path: implementations catch their own failures.
"""

from typing import Protocol

from stock_manager.service_layer.storage_port import DailySettlement, EventRecord


class Notifier(Protocol):
    """**Port:** human-facing notices about events and session results."""

    def event(self, record: EventRecord) -> None:
        """Show or forward one recorded event (the implementation filters by severity)."""
        ...

    def session_closed(self, settlement: DailySettlement) -> None:
        """Show one session's summary."""
        ...


class NullNotifier:
    """A notifier that drops everything (tests, dry runs)."""

    def event(self, record: EventRecord) -> None:
        """Drop the event."""

    def session_closed(self, settlement: DailySettlement) -> None:
        """Drop the summary."""
