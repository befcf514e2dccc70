"""``LISTEN stockbot_kill`` on PostgreSQL: the `KillSwitchNotices` adapter.

`SqlControlRepository.set_kill_switch` runs ``pg_notify('stockbot_kill', action)`` in the switch's own
transaction, so the notice arrives when the change commits. One dedicated autocommit psycopg connection
listens; if it is lost, `wait` raises and the daemon keeps polling the row (and reconnects later).
"""

import asyncio
import contextlib

import psycopg

from stock_manager.adapters.storage.control_repositories import KILL_SWITCH_CHANNEL
from stock_manager.adapters.storage.engine import normalize_db_url


class PgKillSwitchListener:
    """Listens on ``stockbot_kill``; open with `connect`.

    Parameters
    ----------
    db_url : str
        The daemon's PostgreSQL URL (any accepted spelling; the password never reaches logs or messages).
    """

    def __init__(self, db_url: str) -> None:
        url = normalize_db_url(db_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection[object] | None = None

    async def connect(self, timeout_secs: float = 5.0) -> None:
        """Open the connection and ``LISTEN``.

        Raises
        ------
        psycopg.Error, OSError, TimeoutError
            When the server cannot be reached; the caller polls instead.
        """
        connection = await asyncio.wait_for(
            psycopg.AsyncConnection.connect(self._conninfo, autocommit=True), timeout_secs
        )
        await connection.execute(f"LISTEN {KILL_SWITCH_CHANNEL}")
        self._connection = connection

    async def wait(self, timeout_secs: float) -> bool:
        """Return True when a notice arrived within `timeout_secs`, else False.

        Raises
        ------
        RuntimeError
            When not connected.
        psycopg.Error
            When the connection is lost.
        """
        if self._connection is None:
            raise RuntimeError("the kill switch listener is not connected")
        async for _notice in self._connection.notifies(timeout=timeout_secs, stop_after=1):
            return True
        return False

    async def close(self) -> None:
        """Close the connection (never raises)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
