"""Alembic environment: runs the migrations on the blocking driver of the configured database.

The database URL comes, in this order, from ``config.attributes["db_url"]`` (set by
`stock_manager.adapters.storage.migrate`), ``-x db_url=...``, the ``DB_URL`` environment variable, or
``sqlalchemy.url`` in alembic.ini. Async URLs (``sqlite+aiosqlite``) are accepted.

Online, all pending revisions run in one transaction: on SQLite it starts with ``BEGIN IMMEDIATE`` (DDL is
transactional there too, and a second upgrader waits); on PostgreSQL it first takes the advisory lock every
transaction of the application takes (see `engine`), so no unit of work runs against a half-migrated schema.
"""

import logging.config
import os

from alembic import context

from stock_manager.adapters.storage.engine import create_migration_engine, is_sqlite, sync_db_url
from stock_manager.adapters.storage.tables import metadata
from stock_manager.domain.errors import ConfigurationError

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _db_url() -> str:
    url = (
        config.attributes.get("db_url")
        or context.get_x_argument(as_dictionary=True).get("db_url")
        or os.environ.get("DB_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise ConfigurationError("no database URL for the migration: pass -x db_url=... or set DB_URL")
    return str(url)


def run_migrations_offline() -> None:
    """Write the migrations' SQL for the URL's dialect instead of running it (``alembic upgrade --sql``)."""
    url = sync_db_url(_db_url())
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the pending migrations in one transaction, serialised against every other writer."""
    url = _db_url()
    engine = create_migration_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            sqlite = is_sqlite(connection.engine.url)
            context.configure(
                connection=connection, target_metadata=metadata, render_as_batch=sqlite, compare_type=True
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
