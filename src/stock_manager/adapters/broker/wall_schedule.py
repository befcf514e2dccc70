"""The session schedule of paper and live trading: a venue's calendar and the wall clock.

Implements the `SessionSchedule` port: each session is yielded when its first order phase begins (the KRX
pre-open, 08:30 KST normally and 09:30 on late-open days; the day boundary of a market that never closes),
and `run_until_close` returns at the close. Between sessions
the daemon sleeps. Sleeps are taken in short slices so a wall clock that jumps (the machine slept, NTP) is
noticed, and the injected `sleep` lets tests run a week of sessions in milliseconds.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.schedule import WaitListener

log = structlog.get_logger("stockbot.schedule")

#: Longest single sleep, seconds: the clock is read again at least this often.
MAX_SLEEP_SLICE_SECS = 30.0


class CalendarSchedule:
    """Sessions from a venue's calendar, in real time.

    Parameters
    ----------
    clock : Clock
        The wall clock (aware UTC).
    next_session : Callable[[datetime], TradingSession | None]
        The venue's first session whose close is later than the given time (None beyond its calendar).
    sleep : Callable[[float], Awaitable[None]]
        How to wait, seconds (`asyncio.sleep` in production).
    max_sessions : int | None
        Stop after this many sessions (None: run until the calendar ends or the daemon stops).
    """

    def __init__(
        self,
        clock: Clock,
        next_session: Callable[[datetime], TradingSession | None],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_sessions: int | None = None,
    ) -> None:
        self._clock = clock
        self._next_session = next_session
        self._sleep = sleep
        self._max_sessions = max_sessions

    async def sessions(self, on_wait: WaitListener | None = None) -> AsyncIterator[TradingSession]:
        """Yield the current or next session once its pre-open is due; then the following ones. Before each wait
        for a session not yet due, `on_wait` (if any) is awaited with it."""
        yielded = 0
        after = self._clock.now()
        while self._max_sessions is None or yielded < self._max_sessions:
            session = self._next_session(after)
            if session is None:
                log.warning("calendar_exhausted", after=after.isoformat())
                return
            if on_wait is not None and session.ts_first_order > self._clock.now():
                await on_wait(session)
            await self._sleep_until(session.ts_first_order)
            yield session
            yielded += 1
            after = max(session.ts_close, self._clock.now())

    async def run_until_close(self, session: TradingSession) -> None:
        """Return when `session`'s close has passed on the wall clock."""
        await self._sleep_until(session.ts_close)

    async def _sleep_until(self, when: datetime) -> None:
        await sleep_until(self._clock, when, self._sleep)


async def sleep_until(clock: Clock, when: datetime, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Return once `clock` reads `when` or later, sleeping in slices of at most `MAX_SLEEP_SLICE_SECS`."""
    while (remaining := (when - clock.now()).total_seconds()) > 0:
        await sleep(min(remaining, MAX_SLEEP_SLICE_SECS))


#: How far back a start looks for sessions whose close it missed.
MISSED_CLOSE_LOOKBACK = timedelta(days=10)


def closed_sessions(
    next_session: Callable[[datetime], TradingSession | None],
    now: datetime,
    lookback: timedelta = MISSED_CLOSE_LOOKBACK,
) -> list[TradingSession]:
    """Return the calendar's sessions that closed between `now` - `lookback` and `now`, oldest first (the
    sessions a daemon started at `now` may have missed the close of)."""
    found = []
    session = next_session(now - lookback)
    while session is not None and session.ts_close <= now:
        found.append(session)
        session = next_session(session.ts_close)
    return found
