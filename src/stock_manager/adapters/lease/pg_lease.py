"""The daemon lease on PostgreSQL: a session advisory lock held on a dedicated connection for the whole run.

``pg_try_advisory_lock(key)`` with a 64-bit key derived from the lease's subject (the account). The lock
belongs to the connection's server session: it is released when the holder releases it, and when that
connection dies (the holder's process killed: its socket closes, the server ends the session). No table:
the holder is named from ``pg_locks`` joined with ``pg_stat_activity`` — its backend, client address and
session start, and the OS PID and host the holder put in its connection's ``application_name``
(``stockbot pid=4242 host=DESKTOP-1``). Seeing another role's sessions in full needs the same role or
``pg_read_all_stats``; otherwise the holder is named by its backend only.
"""

import hashlib
import os
import re
import socket
from typing import Any

import psycopg
from sqlalchemy import make_url

from stock_manager.domain.errors import StorageUnavailable
from stock_manager.localtime import KST
from stock_manager.service_layer.ports.lease import LeaseHeld, LeaseHolder

#: PostgreSQL keeps the first 63 bytes of ``application_name``.
APPLICATION_NAME_BYTES = 63
_APPLICATION_NAME = re.compile(r"^stockbot pid=(?P<pid>\d+) host=(?P<host>.*)$")

_HOLDER_SQL = """
SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = %s AND l.objid::bigint = %s
LIMIT 1
"""


def advisory_key(subject: str) -> int:
    """Return the signed 64-bit advisory lock key of a lease subject (stable across versions and hosts)."""
    digest = hashlib.sha256(f"stockbot-daemon-lease:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def application_name(pid: int, host: str) -> str:
    """Return the connection's ``application_name`` naming this process (cut to what PostgreSQL keeps)."""
    name = f"stockbot pid={pid} host={host}"
    return name.encode()[:APPLICATION_NAME_BYTES].decode(errors="ignore")


class PgAdvisoryLease:
    """**Adapter:** `DaemonLease` held as a PostgreSQL session advisory lock.

    Parameters
    ----------
    url : str
        The database's SQLAlchemy URL (``postgresql+psycopg://…``); the lease uses its own connection.
    key_subject : str
        What the lock key is derived from (the account id; see `advisory_key`).
    subject : str
        What the lease is for, as shown to people in `LeaseHeld` (the account, masked).
    connect_timeout_secs : int
        How long to wait for the server, seconds.
    """

    def __init__(self, url: str, key_subject: str, subject: str, *, connect_timeout_secs: int = 10) -> None:
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._safe_url = make_url(url).render_as_string(hide_password=True)
        self.key = advisory_key(key_subject)
        self._subject = subject
        self._timeout = connect_timeout_secs
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=self._timeout,
                application_name=application_name(os.getpid(), socket.gethostname()),
            )
        except psycopg.Error as e:
            raise StorageUnavailable(f"cannot open the daemon lease on {self._safe_url}: {_first_line(e)}") from None

    async def acquire(self) -> None:
        """Take the advisory lock on a new connection, kept open until `release`.

        Raises
        ------
        LeaseHeld
            If another session holds the lock (naming its process, host and start).
        StorageUnavailable
            If the server cannot be reached.
        """
        connection = await self._connect()
        try:
            cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            row = await cursor.fetchone()
            if row is None or not row[0]:
                holder = await self._holder_on(connection)
                raise LeaseHeld(self._subject, holder, KST)
        except psycopg.Error as e:
            await connection.close()
            raise StorageUnavailable(f"cannot take the daemon lease on {self._safe_url}: {_first_line(e)}") from None
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def holder(self) -> LeaseHolder | None:
        """Return the session holding the lock (this one included), or None when the lock is free."""
        if self._connection is not None and not self._connection.closed:
            return await self._holder_on(self._connection)
        connection = await self._connect()
        try:
            return await self._holder_on(connection)
        finally:
            await connection.close()

    async def _holder_on(self, connection: psycopg.AsyncConnection[Any]) -> LeaseHolder | None:
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        cursor = await connection.execute(_HOLDER_SQL, (high, low))
        row = await cursor.fetchone()
        if row is None:
            return None
        backend, app, address, started = row
        named = _APPLICATION_NAME.match(app or "")
        where = f"PostgreSQL backend {backend}" + (f" from {address}" if address else "")
        return LeaseHolder(
            host=named["host"] if named else None, pid=int(named["pid"]) if named else None, since=started, detail=where
        )

    async def is_held(self) -> bool:
        """Return True while the lease's connection answers (the server keeps the lock as long as it lives)."""
        if self._connection is None or self._connection.closed:
            return False
        try:
            await self._connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def release(self) -> None:
        """Unlock and close the connection (closing alone would release the lock); never raises."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error:
            pass  # the session is gone, and the lock with it
        finally:
            await connection.close()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
