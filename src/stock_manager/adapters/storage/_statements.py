"""Statement helpers shared by the repositories: dialect-aware inserts and upserts."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def dialect_insert(connection: AsyncConnection, table: Table) -> Any:
    """Return an INSERT for `table` that supports ``ON CONFLICT`` on the connection's backend."""
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


def insert_unless_exists(connection: AsyncConnection, table: Table, unique: Sequence[str]) -> Any:
    """Return ``INSERT ... ON CONFLICT (unique) DO NOTHING``: one statement, no error, no partial write."""
    return dialect_insert(connection, table).on_conflict_do_nothing(index_elements=list(unique))


def upsert(connection: AsyncConnection, table: Table, key: Sequence[str]) -> Any:
    """Return ``INSERT ... ON CONFLICT (key) DO UPDATE`` replacing every non-key column."""
    statement = dialect_insert(connection, table)
    replaced = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=replaced)
