"""The wall clock: the one place the project reads the machine's time."""

from datetime import UTC, datetime


class SystemClock:
    """**Adapter:** `Clock` reading the machine's time (live and paper trading, heartbeats)."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.now(UTC)
