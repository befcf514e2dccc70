"""A read-only engine for observers (the dashboard): snapshot reads that never wait for the daemon's writes and
never hold them up.

The daemon's engine (`engine.create_engine`) runs every transaction alone: ``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL. A page read through it would queue behind an order's commit,
and an order's commit behind the page. Here:

- SQLite: a deferred ``BEGIN`` on a ``query_only`` connection. In WAL mode a reader sees the snapshot of its
  first read and takes no write lock, so the daemon's ``BEGIN IMMEDIATE`` never waits for it.
- PostgreSQL: ``REPEATABLE READ`` read-only transactions (one snapshot per unit of work, MVCC: readers and
  writers never block each other) without the advisory lock; a statement taking over 5 s is cancelled.

A write through this engine fails (``attempt to write a readonly database`` / ``read-only transaction``).
"""

from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from stock_manager.adapters.storage.engine import dumps_json, is_sqlite, normalize_db_url

#: How long a read waits for SQLite's file lock (only a checkpoint or a schema change takes one), milliseconds.
READ_BUSY_TIMEOUT_MS = 2_000
#: PostgreSQL: the longest a dashboard statement may run, milliseconds.
READ_STATEMENT_TIMEOUT_MS = 5_000


def create_read_only_engine(db_url: str) -> AsyncEngine:
    """Return an async engine on `db_url` whose transactions only read, from one snapshot, without locking.

    Raises
    ------
    ConfigurationError
        If the URL is not supported (see `engine.normalize_db_url`).
    """
    url = normalize_db_url(db_url)
    if not is_sqlite(url):
        return create_async_engine(
            url,
            json_serializer=dumps_json,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=2,
            isolation_level="REPEATABLE READ",
            connect_args={
                "options": f"-c default_transaction_read_only=on -c statement_timeout={READ_STATEMENT_TIMEOUT_MS}"
            },
        )
    engine = create_async_engine(url, json_serializer=dumps_json)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN; see _on_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA query_only = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")  # deferred: a snapshot at the first read, no write lock

    return engine
