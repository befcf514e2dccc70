"""Shared fixtures: fresh databases built by the migrations, on SQLite and on PostgreSQL.

``db_url``
    A fresh database at the head revision, per test, for each backend (test ids ``[sqlite]`` and
    ``[postgresql]``); an async URL, ready for `create_engine`.
``empty_db_url``
    The same, but never migrated (for tests of the migrations themselves).
``db_engine``, ``uow_factory``
    An async engine on ``db_url`` and a `SqlUnitOfWorkFactory` (mode ``sim``) on it.
``pg_url``
    A fresh migrated PostgreSQL database only, for tests that need PostgreSQL itself.
``memory_keyring``
    The in-memory credential store every test runs with (autouse); subprocesses get none.

PostgreSQL is the server of ``STOCKBOT_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
its database is only used to create and drop the test databases). Tests that need it carry the ``postgres``
marker (the ``[postgresql]`` parameters get it automatically): when the server is unreachable they are
skipped with the reason, except under ``CI=true``, where they fail. `require_postgres` is that one rule.

Speed: each backend is migrated once per session into a template (a file copied per test on SQLite, a
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so every test still gets a schema built by Alembic.
"""

import functools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import psycopg
import pytest
from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.observability.masking import clear_secrets
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head_sync
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from tests.keyring_memory import MemoryKeyring

PG_URL_ENV = "STOCKBOT_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_DB_PREFIX = "stockbot_test_"


# -- POSTGRESQL AVAILABILITY ---------------------------------------------------------------------------


def postgres_server_url() -> URL:
    """Return the configured PostgreSQL server (its maintenance database), with the psycopg driver."""
    return make_url(os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL).set(drivername="postgresql+psycopg")


@functools.cache
def _postgres_problem() -> str | None:
    # Probed once per session; None when the server answers.
    try:
        with psycopg.connect(_conninfo(postgres_server_url()), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as e:  # any failure means: no usable server
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None


def require_postgres() -> URL:
    """Return the PostgreSQL server URL; skip the test when it is unreachable, or fail it if ``CI=true``."""
    problem = _postgres_problem()
    if problem is not None:
        where = postgres_server_url().render_as_string(hide_password=True)
        reason = f"PostgreSQL is not reachable at {where} (set {PG_URL_ENV}): {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires the PostgreSQL tests to run", pytrace=False)
        pytest.skip(reason)
    return postgres_server_url()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply `require_postgres` to every test marked ``postgres``."""
    if item.get_closest_marker("postgres") is not None:
        require_postgres()


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_execute(*statements: str) -> None:
    with psycopg.connect(_conninfo(postgres_server_url()), autocommit=True, connect_timeout=3) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]  # names are generated, not user input


def _create_pg_database(template: str | None = None) -> str:
    name = f"{_DB_PREFIX}{uuid.uuid4().hex[:16]}"
    _admin_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop_pg_database(name: str) -> None:
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database_url(name: str) -> str:
    return postgres_server_url().set(database=name).render_as_string(hide_password=False)


# No test touches the OS credential store: subprocesses get the null backend, this process an in-memory one.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Yield the in-memory keyring this test's `keyring` calls use (fresh for every test)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """The masking registry is process-wide (secrets arrive at run time): no test sees another's secrets."""
    yield
    clear_secrets()


# -- TEMPLATES (migrated once per session) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "stockbot.db"
    upgrade_to_head_sync(f"sqlite+aiosqlite:///{path.as_posix()}")
    return path


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    require_postgres()
    name = _create_pg_database()
    try:
        upgrade_to_head_sync(_pg_database_url(name))
        yield name
    finally:
        _drop_pg_database(name)


def _copy_sqlite(template: Path, target_dir: Path) -> str:
    target = target_dir / "stockbot.db"
    shutil.copyfile(template, target)
    wal = template.with_name(template.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return f"sqlite+aiosqlite:///{target.as_posix()}"


# -- DATABASE FIXTURES ---------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the async URL of a fresh database at the head revision (one test, one database)."""
    if request.param == "sqlite":
        yield _copy_sqlite(request.getfixturevalue("_sqlite_template"), tmp_path)
        return
    name = _create_pg_database(template=request.getfixturevalue("_pg_template"))
    try:
        yield _pg_database_url(name)
    finally:
        _drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the async URL of a fresh database that was never migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{(tmp_path / 'empty.db').as_posix()}"
        return
    require_postgres()
    name = _create_pg_database()
    try:
        yield _pg_database_url(name)
    finally:
        _drop_pg_database(name)


@pytest.fixture
def pg_url(_pg_template: str) -> Iterator[str]:
    """Yield the async URL of a fresh migrated PostgreSQL database (or skip/fail as `require_postgres`)."""
    name = _create_pg_database(template=_pg_template)
    try:
        yield _pg_database_url(name)
    finally:
        _drop_pg_database(name)


@pytest.fixture
async def db_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Yield an async engine on `db_url`, disposed after the test."""
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(db_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    """Return a unit-of-work factory (mode ``sim``) on the test's fresh database."""
    return SqlUnitOfWorkFactory(db_engine, mode="sim")
