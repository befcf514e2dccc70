"""The kill switch as this process knows it: one latched object shared by the daemon and execution.

The database row (``kill_switch``) is the truth across processes; this object is what the process has
learnt of it, or tripped itself (repeated broker failures, the daily loss limit). Once tripped it stays
tripped for the run: nothing more is sent, and the daemon winds down.
"""

import asyncio
import contextlib
from collections.abc import Awaitable


class KillSwitch:
    """Latched: `trip` once, and every reader sees the first reason from then on."""

    def __init__(self) -> None:
        self._reason: str | None = None
        self._tripped = asyncio.Event()

    @property
    def reason(self) -> str | None:
        """Return why the switch was tripped, or None while it is not."""
        return self._reason

    @property
    def tripped(self) -> bool:
        """Return True once the switch is tripped."""
        return self._reason is not None

    def trip(self, reason: str) -> None:
        """Latch the switch with `reason` (a second trip keeps the first reason)."""
        if self._reason is None:
            self._reason = reason or "no reason given"
            self._tripped.set()

    async def wait(self) -> None:
        """Return once the switch is tripped."""
        await self._tripped.wait()


async def unless_tripped(switch: KillSwitch, work: Awaitable[object]) -> bool:
    """Run `work` unless `switch` trips first; then cancel it and return False. Return True when `work` finished
    (its exception, if any, is raised)."""
    task = asyncio.ensure_future(work)
    tripped = asyncio.ensure_future(switch.wait())
    try:
        await asyncio.wait({task, tripped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        tripped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return False
    task.result()
    return True
