"""**Port:** early word that the kill switch changed, so a daemon need not wait for its next poll.

The database row stays the only truth: a notice only wakes the watcher up to read it again. A lost notice
connection never means a missed kill, because the watcher keeps polling the row.
"""

import asyncio
from typing import Protocol


class KillSwitchNotices(Protocol):
    """Wakes the kill-switch watcher when the switch may have changed (PostgreSQL ``LISTEN stockbot_kill``)."""

    async def wait(self, timeout_secs: float) -> bool:
        """Return True as soon as a notice arrives, False after `timeout_secs` without one.

        Raises
        ------
        Exception
            Whatever the connection raises when it is lost; the watcher falls back to polling.
        """
        ...

    async def close(self) -> None:
        """Stop listening and release the connection."""
        ...


class PollingOnly:
    """No notices (SQLite): `wait` just sleeps, so the watcher polls the row."""

    async def wait(self, timeout_secs: float) -> bool:
        """Sleep `timeout_secs`; return False."""
        await asyncio.sleep(timeout_secs)
        return False

    async def close(self) -> None:
        """Nothing to release."""
