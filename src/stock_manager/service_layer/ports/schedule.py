"""**Port:** when sessions happen, and the passage of a session's time."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from stock_manager.domain.sessions import TradingSession

#: Told of the session a schedule is about to wait for (before the wait), so the daemon can say so.
type WaitListener = Callable[[TradingSession], Awaitable[None]]


class SessionSchedule(Protocol):
    """**Port:** the venue's sessions in time.

    Live and paper: a calendar and the wall clock (sleeps until a session's first order phase, then until
    its close). Sim: the replay, which advances the replay clock and plays the day's prints to the quote
    handlers.
    """

    def sessions(self, on_wait: WaitListener | None = None) -> AsyncIterator[TradingSession]:
        """Yield each session when its first order phase is due; stop when the schedule is exhausted.

        `on_wait` is awaited with the next session before the schedule waits for it in real time (nights,
        weekends, holidays of a calendar); a replay, which moves its own clock, never waits and never calls it.
        """
        ...

    async def run_until_close(self, session: TradingSession) -> None:
        """Return when `session` has closed (its last print delivered, in the sim)."""
        ...
