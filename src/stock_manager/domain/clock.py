"""Time: every component asks an injected clock; nothing in the project calls ``datetime.now()``.

Times are timezone-aware. They are stored in UTC and shown in KST (Asia/Seoul, UTC+9, no DST).
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Protocol

KST = timezone(timedelta(hours=9), name="KST")


class Clock(Protocol):
    """**Port:** the current time, from the wall (live, paper) or from a replay (sim, tests)."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class FixedClock:
    """A clock that returns whatever time it was last set to; for tests and replays.

    Parameters
    ----------
    start : datetime
        Aware datetime the clock starts at.

    Raises
    ------
    ValueError
        If `start` (or a later `set`) is naive, or `set` would move the clock backwards.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start).astimezone(UTC)

    def now(self) -> datetime:
        """Return the time last set, in UTC."""
        return self._now

    def set(self, ts: datetime) -> None:
        """Move the clock to `ts`; time never runs backwards."""
        ts = _require_aware(ts).astimezone(UTC)
        if ts < self._now:
            raise ValueError(f"clock cannot run backwards: {ts.isoformat()} < {self._now.isoformat()}")
        self._now = ts

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.set(self._now + delta)


def _require_aware(ts: datetime) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"naive datetime was given: {ts!r}; times must be timezone-aware")
    return ts


def kst_datetime(day: date, at: time) -> datetime:
    """Return the aware UTC datetime of the KST wall time `at` on `day`."""
    return datetime.combine(day, at, tzinfo=KST).astimezone(UTC)


def kst_date(ts: datetime) -> date:
    """Return the KST calendar date (the KRX trading date) of the aware datetime `ts`."""
    return _require_aware(ts).astimezone(KST).date()
