"""Time: every component asks an injected clock; nothing in the project calls ``datetime.now()``.

Times are timezone-aware and stored in UTC. A venue's trading date is not a calendar date of any time zone
in general: `DayBoundary` says where the venue's day starts.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol


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


@dataclass(frozen=True, slots=True)
class DayBoundary:
    """Where a venue's trading day starts: `utc_offset` after UTC midnight of the day before, i.e. the
    trading date of an instant is the date of (instant in UTC + `utc_offset`).

    A venue whose day is the calendar day of a zone 9 hours ahead of UTC has ``utc_offset=9 h``; a venue
    whose day starts at 00:00 UTC has 0.
    """

    utc_offset: timedelta

    def date_of(self, ts: datetime) -> date:
        """Return the trading date of the aware instant `ts`.

        Raises
        ------
        ValueError
            If `ts` is naive.
        """
        return (_require_aware(ts).astimezone(UTC) + self.utc_offset).date()

    def start_of(self, day: date) -> datetime:
        """Return the aware UTC instant trading date `day` begins."""
        return datetime.combine(day, time(0), tzinfo=UTC) - self.utc_offset

    def at(self, day: date, local: time) -> datetime:
        """Return the aware UTC instant of the wall time `local` on `day`, in the zone whose calendar day is
        the trading day (e.g. 15:30 on a trading date in that zone)."""
        return datetime.combine(day, local, tzinfo=UTC) - self.utc_offset
