"""**Port:** when sessions happen, and the passage of a session's time."""

from collections.abc import AsyncIterator
from typing import Protocol

from stock_manager.domain.sessions import TradingSession


class SessionSchedule(Protocol):
    """**Port:** the venue's sessions in time.

    Live and paper: a calendar and the wall clock (sleeps until a session's first order phase, then until
    its close). Sim: the replay, which advances the replay clock and plays the day's prints to the quote
    handlers.
    """

    def sessions(self) -> AsyncIterator[TradingSession]:
        """Yield each session when its first order phase is due; stop when the schedule is exhausted."""
        ...

    async def run_until_close(self, session: TradingSession) -> None:
        """Return when `session` has closed (its last print delivered, in the sim)."""
        ...
