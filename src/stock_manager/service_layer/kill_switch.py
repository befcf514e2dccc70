"""The kill switch as this process knows it: one latched object shared by the daemon and execution.

The database row (``kill_switch``) is the truth across processes; this object is what the process has
learnt of it, or tripped itself (repeated broker failures, the daily loss limit). Once tripped it stays
tripped for the run: nothing more is sent, and the daemon winds down.
"""

import asyncio


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
