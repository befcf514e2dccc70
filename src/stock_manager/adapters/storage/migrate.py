"""Schema migrations from code: `upgrade_to_head` is what the daemon and ``stockbot db upgrade`` call.

Where the migrations live: the ``migrations/`` directory at the root of a source checkout; a built wheel
ships the same directory inside this package (``stock_manager/adapters/storage/migrations``, hatch
``force-include``). `migrations_dir` looks in the package first, then in the checkout.
"""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL

from stock_manager.adapters.storage.engine import create_migration_engine, normalize_db_url
from stock_manager.domain.errors import ConfigurationError

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
    raise ConfigurationError(
        f"database migrations not found in {_PACKAGED} or {_CHECKOUT}: reinstall stockbot"
    )


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


def upgrade_to_head(db_url: str | URL) -> None:
    """Apply every pending migration to `db_url`; a database already at head is left unchanged.

    Blocking: from async code, use `upgrade_to_head_async`. Safe to call from several processes at once
    (the upgrade runs in one serialised transaction).

    Raises
    ------
    ConfigurationError
        If the URL is not supported, or the migrations are not found.
    """
    command.upgrade(alembic_config(db_url), "head")


async def upgrade_to_head_async(db_url: str | URL) -> None:
    """Run `upgrade_to_head` in a worker thread, without blocking the event loop."""
    await asyncio.to_thread(upgrade_to_head, db_url)


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
