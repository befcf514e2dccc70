"""Database engines for the two supported backends: an embedded SQLite file and PostgreSQL.

Supported URLs (``DB_URL``)
---------------------------
``sqlite+aiosqlite:///path/to/stockbot.db``
    The embedded database (``sqlite:///`` is accepted and means the same). A relative path is relative to the
    working directory; four slashes make an absolute path on POSIX. Its directory is created if missing.
``postgresql+psycopg://user:password@host:5432/dbname``
    PostgreSQL through psycopg 3 (``postgresql://`` and ``postgres://`` are accepted and mean the same).

Every other URL, and in-memory SQLite (each pooled connection would see its own empty database), is refused
with a `ConfigurationError` that names the problem and never shows the password.

How transactions are isolated
-----------------------------
Every transaction on these engines runs alone, on both backends: on SQLite it starts with ``BEGIN IMMEDIATE``
(the write lock is taken first, so a unit of work never works from data another writer is changing); on
PostgreSQL its first statement takes a transaction-scoped advisory lock (`POSTGRES_LOCK_KEY`). A second
process (``stockbot kill`` while the daemon runs) therefore waits, up to `lock_timeout_ms`, instead of failing
or overwriting. Transactions begin lazily, at their first statement: keep them short, and never hold one
across a network call.
"""

import json
import math
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from stock_manager.domain.errors import ConfigurationError

#: How long a unit of work waits for another one (possibly in another process) to finish, milliseconds.
DEFAULT_LOCK_TIMEOUT_MS = 15_000

#: PostgreSQL advisory lock taken by every transaction of these engines (units of work and migrations alike):
#: they run one at a time, as on SQLite. Any constant works; this one is "stockbot" in ASCII.
POSTGRES_LOCK_KEY = 0x73746F636B626F74

#: File name of the embedded database inside the data directory.
SQLITE_FILE_NAME = "stockbot.db"

_EXAMPLES = "e.g. sqlite+aiosqlite:///path/to/stockbot.db or postgresql+psycopg://user@host:5432/dbname"
_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg"}


# -- URLS ---------------------------------------------------------------------------------------------


def default_sqlite_url(data_dir: Path) -> str:
    """Return the URL of the embedded database, ``<data_dir>/stockbot.db``, for the async engine."""
    return f"sqlite+aiosqlite:///{(Path(data_dir) / SQLITE_FILE_NAME).as_posix()}"


def normalize_db_url(db_url: str | URL) -> URL:
    """Return `db_url` with its async driver (``sqlite+aiosqlite`` or ``postgresql+psycopg``).

    Raises
    ------
    ConfigurationError
        If the URL cannot be parsed, names another backend or driver, or is an in-memory SQLite database.
        The message shows the URL with its password masked, or not at all when it cannot be parsed.
    """
    try:
        url = make_url(db_url)
    except (ArgumentError, ValueError):
        # The text may hold a password in a place the parser did not recognise: never echo it.
        raise ConfigurationError(f"DB_URL is not a valid database URL ({_EXAMPLES})") from None
    shown = url.render_as_string(hide_password=True)
    if url.drivername in _SQLITE_DRIVERS:
        if url.database in (None, "", ":memory:") or url.database.startswith("file::memory:"):
            raise ConfigurationError(
                f"DB_URL {shown}: in-memory SQLite is not supported; give a file path ({_EXAMPLES})"
            )
        return url.set(drivername="sqlite+aiosqlite")
    if url.drivername in _POSTGRES_DRIVERS:
        if not url.database:
            raise ConfigurationError(f"DB_URL {shown}: the PostgreSQL URL names no database ({_EXAMPLES})")
        return url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend in ("sqlite", "postgresql"):
        problem = f"the driver {url.drivername!r} is not supported; use sqlite+aiosqlite or postgresql+psycopg"
    else:
        problem = f"the database {backend!r} is not supported; use SQLite or PostgreSQL"
    raise ConfigurationError(f"DB_URL {shown}: {problem} ({_EXAMPLES})")


def sync_db_url(db_url: str | URL) -> URL:
    """Return the blocking-driver twin of `db_url` (``sqlite`` / ``postgresql+psycopg``), for migrations.

    Raises
    ------
    ConfigurationError
        As `normalize_db_url`.
    """
    url = normalize_db_url(db_url)
    return url.set(drivername="sqlite") if url.get_backend_name() == "sqlite" else url


def is_sqlite(url: URL) -> bool:
    """Return True when `url` names an SQLite database."""
    return url.get_backend_name() == "sqlite"


# -- ENGINES ------------------------------------------------------------------------------------------


def create_engine(db_url: str | URL, *, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS) -> AsyncEngine:
    """Return the async engine for `db_url`, configured for the daemon and the CLI.

    SQLite gets WAL journaling, ``foreign_keys=ON``, ``synchronous=FULL`` (a committed order survives a
    power cut), ``busy_timeout`` = `lock_timeout_ms` and ``BEGIN IMMEDIATE`` transactions. PostgreSQL gets
    ``lock_timeout`` = `lock_timeout_ms`, the advisory lock at the start of every transaction, and pre-ping
    of pooled connections (the daemon runs for days).

    Parameters
    ----------
    db_url : str | URL
        See the module docstring for the accepted forms.
    lock_timeout_ms : int
        How long a statement waits for a lock held by another transaction before it fails, milliseconds.

    Raises
    ------
    ConfigurationError
        If the URL is not supported (see `normalize_db_url`).
    """
    url = normalize_db_url(db_url)
    if is_sqlite(url):
        _ensure_parent_dir(url)
        engine = create_async_engine(url, json_serializer=dumps_json)
        install_sqlite_pragmas(engine.sync_engine, lock_timeout_ms=lock_timeout_ms, foreign_keys=True)
        return engine
    engine = create_async_engine(
        url,
        json_serializer=dumps_json,
        pool_pre_ping=True,
        connect_args={"options": f"-c lock_timeout={int(lock_timeout_ms)}"},
    )
    install_postgres_serialization(engine.sync_engine)
    return engine


def create_migration_engine(db_url: str | URL, *, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS) -> Engine:
    """Return a blocking engine on the same database, for Alembic.

    On SQLite, foreign keys are off while migrating (the documented way to rebuild tables in batch mode);
    the migration checks them with ``PRAGMA foreign_key_check`` before committing.

    Raises
    ------
    ConfigurationError
        If the URL is not supported (see `normalize_db_url`).
    """
    url = sync_db_url(db_url)
    if is_sqlite(url):
        _ensure_parent_dir(url)
        engine = create_sync_engine(url, json_serializer=dumps_json)
        install_sqlite_pragmas(engine, lock_timeout_ms=lock_timeout_ms, foreign_keys=False)
        return engine
    engine = create_sync_engine(
        url, json_serializer=dumps_json, connect_args={"options": f"-c lock_timeout={int(lock_timeout_ms)}"}
    )
    install_postgres_serialization(engine)
    return engine


def install_sqlite_pragmas(engine: Engine, *, lock_timeout_ms: int, foreign_keys: bool) -> None:
    """Set the connection pragmas of `engine` and make every transaction start with ``BEGIN IMMEDIATE``.

    The driver's own transaction handling is switched off so that DDL, ``SAVEPOINT`` and the lock mode are
    exactly what SQLAlchemy asks for (the recipe of the SQLAlchemy SQLite dialect documentation).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN; see _on_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(lock_timeout_ms)}")
            _switch_to_wal(cursor, lock_timeout_ms)
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any, lock_timeout_ms: int) -> None:
    # WAL is a property of the file, set once. Switching a new file to WAL needs an exclusive lock, and SQLite
    # answers "database is locked" at once, without its busy handler, when another process holds one (two
    # processes opening a brand-new database): retry until the lock timeout.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + lock_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as e:  # sqlite3 and aiosqlite raise different classes for the same error
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)  # only on a new file, and only while another process holds the lock


def install_postgres_serialization(engine: Engine) -> None:
    """Make every transaction of `engine` take the advisory lock `POSTGRES_LOCK_KEY` first."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({POSTGRES_LOCK_KEY})")


def _ensure_parent_dir(url: URL) -> None:
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename: leave it to SQLite
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


# -- JSON ---------------------------------------------------------------------------------------------


def to_json_safe(value: Any) -> Any:
    """Return `value` with only JSON types: Decimal → str, datetime/date → ISO 8601, Enum → its value.

    Mappings get string keys; tuples, lists and sets become lists (sets sorted by their text). Anything else
    JSON cannot hold (including NaN and infinite floats) is stored as its ``str()``, so that an event is never
    lost because of its payload.
    """
    match value:
        case Enum():
            return to_json_safe(value.value)
        case float() if not math.isfinite(value):
            return str(value)  # NaN and infinities are not JSON (PostgreSQL refuses them)
        case None | bool() | int() | float() | str():
            return value
        case Decimal():
            return str(value)
        case datetime() | date():
            return value.isoformat()
        case Mapping():
            return {str(to_json_safe(k)): to_json_safe(v) for k, v in value.items()}
        case list() | tuple():
            return [to_json_safe(v) for v in value]
        case set() | frozenset():
            return sorted((to_json_safe(v) for v in value), key=str)
        case _:
            return str(value)


def dumps_json(value: Any) -> str:
    """Serialise `value` (after `to_json_safe`) as compact JSON; Korean text stays readable."""
    return json.dumps(to_json_safe(value), ensure_ascii=False, separators=(",", ":"))
