"""Schema migrations from code: the daemon and ``stockbot db upgrade`` await `upgrade_to_head`.

Where the migrations live: the ``migrations/`` directory at the root of a source checkout; a built wheel
ships the same directory inside this package (``stock_manager/adapters/storage/migrations``, hatch
``force-include``). `migrations_dir` looks in the package first, then in the checkout. (An editable install
also copies them into site-packages, but the package then runs from ``src/``, so the checkout's are used.)
"""

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL

from stock_manager.adapters.storage.engine import create_migration_engine, normalize_db_url
from stock_manager.domain.errors import ConfigurationError

#: Alembic keeps its running environment in module globals: one command at a time per process. Across
#: processes, the migration transaction itself serialises upgrades (see migrations/env.py).
_ALEMBIC_LOCK = threading.Lock()

_PACKAGED = Path(__file__).resolve().parent / "migrations"
_CHECKOUT = Path(__file__).resolve().parents[4] / "migrations"


def migrations_dir() -> Path:
    """Return the directory holding ``env.py`` and ``versions/``.

    Raises
    ------
    ConfigurationError
        If neither the packaged copy nor a source checkout's ``migrations/`` is found (a broken install).
    """
    for candidate in (_PACKAGED, _CHECKOUT):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigurationError(f"database migrations not found in {_PACKAGED} or {_CHECKOUT}: reinstall stockbot")


def alembic_config(db_url: str | URL) -> Config:
    """Return an Alembic configuration for `db_url` that needs no alembic.ini.

    Raises
    ------
    ConfigurationError
        If the URL is not supported, or the migrations are not found.
    """
    url = normalize_db_url(db_url)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Passed as an attribute, not through the ini parser: a password may contain '%'.
    config.attributes["db_url"] = url.render_as_string(hide_password=False)
    config.attributes["configure_logging"] = False
    return config


async def upgrade_to_head(db_url: str | URL) -> None:
    """Apply every pending migration to `db_url`; a database already at head is left unchanged.

    The migration runs in a worker thread (Alembic is blocking), so the event loop keeps running. Safe to
    call from several processes at once: the upgrade is one transaction that runs alone.

    Raises
    ------
    ConfigurationError
        If the URL is not supported, or the migrations are not found.
    """
    await asyncio.to_thread(upgrade_to_head_sync, db_url)


def upgrade_to_head_sync(db_url: str | URL) -> None:
    """Do what `upgrade_to_head` does, blocking the calling thread (for code without an event loop).

    Raises
    ------
    ConfigurationError
        If the URL is not supported, or the migrations are not found.
    """
    with _ALEMBIC_LOCK:
        command.upgrade(alembic_config(db_url), "head")


def head_revision() -> str:
    """Return the newest revision of the shipped migrations."""
    head = ScriptDirectory(str(migrations_dir())).get_current_head()
    assert head is not None, "the migrations have no revision"
    return head


def current_revision(db_url: str | URL) -> str | None:
    """Return the revision `db_url` is at, or None for a database never migrated."""
    engine = create_migration_engine(db_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
