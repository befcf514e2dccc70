"""Client-side rate limiting per app key, with orders and cancels ahead of reads.

KIS counts REST calls per second per app key (20/s real, 2/s paper; ../reference/kis-openapi.md §6.1) and
answers EGW00201 beyond. Every call (token, hashkey and page calls included) passes one `PriorityRateLimiter`:
an aiolimiter bucket that admits one call every 1/rate seconds (no burst, so no second ever sees more than
the rate), behind a gate that hands the next slot to the most urgent waiter (orders before quotations).
"""

import heapq
import itertools
from asyncio import Future, get_running_loop
from enum import IntEnum

from aiolimiter import AsyncLimiter


class Priority(IntEnum):
    """Who goes first when calls queue: smaller is more urgent."""

    ORDER = 0  # orders, cancels, their hashkeys, and the token they may need
    READ = 1  # inquiries and quotations


class PriorityRateLimiter:
    """Admit at most `rate_per_sec` calls per second, the most urgent waiter first (FIFO within a priority).

    Parameters
    ----------
    rate_per_sec : float
        Calls per second; calls are spaced 1/rate seconds apart.
    """

    def __init__(self, rate_per_sec: float) -> None:
        if rate_per_sec <= 0:
            raise ValueError(f"rate must be positive, was {rate_per_sec}")
        self.rate_per_sec = rate_per_sec
        self._bucket = AsyncLimiter(1, 1.0 / rate_per_sec)
        self._busy = False
        self._waiters: list[tuple[int, int, Future[None]]] = []
        self._sequence = itertools.count()

    async def acquire(self, priority: Priority = Priority.READ) -> None:
        """Wait for this call's slot; the caller then sends at once."""
        await self._enter(priority)
        try:
            await self._bucket.acquire()
        finally:
            self._leave()

    @property
    def waiting(self) -> int:
        """Return how many callers wait at the gate (for tests and metrics)."""
        return sum(1 for *_, future in self._waiters if not future.done())

    async def _enter(self, priority: Priority) -> None:
        if not self._busy and not self._waiters:
            self._busy = True
            return
        future: Future[None] = get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._sequence), future))
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self._leave()  # the gate was handed to us as we were cancelled: pass it on
            raise

    def _leave(self) -> None:
        while self._waiters:
            *_, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # hand the gate over; _busy stays True
                return
        self._busy = False
