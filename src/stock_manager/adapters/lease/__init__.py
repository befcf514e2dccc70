"""Daemon leases (`service_layer.ports.lease.DaemonLease`): an OS file lock next to an SQLite database, a
session advisory lock on PostgreSQL. `lease_for` picks the one for a database URL."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import make_url

from stock_manager.adapters.lease.file_lease import FileLease
from stock_manager.adapters.lease.pg_lease import PgAdvisoryLease, advisory_key
from stock_manager.domain.errors import ConfigurationError
from stock_manager.service_layer.ports.lease import DaemonLease

__all__ = ["FileLease", "PgAdvisoryLease", "advisory_key", "lease_for"]


def lease_for(
    database_url: str, key_subject: str, subject: str, *, now: Callable[[], datetime], file_tag: str = ""
) -> DaemonLease:
    """Return the lease for a daemon on `database_url`.

    Parameters
    ----------
    database_url : str
        The SQLAlchemy URL of the daemon's database.
    key_subject : str
        What the PostgreSQL lock key derives from (the account; on SQLite the database file is the key).
    subject : str
        What the lease is for, as shown to people.
    now : Callable[[], datetime]
        The wall clock (aware UTC).
    file_tag : str
        On SQLite, names a lock of its own next to the database (another venue's daemon on the same file).

    Raises
    ------
    ConfigurationError
        For an in-memory SQLite database (no other process can share it, so it needs no lease, and gets
        none) or a database that is neither SQLite nor PostgreSQL.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PgAdvisoryLease(database_url, key_subject, subject)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigurationError("an in-memory SQLite database cannot hold a daemon lease; use a file")
        return FileLease(Path(url.database), subject, now=now, tag=file_tag)
    raise ConfigurationError(f"no daemon lease for a {url.get_backend_name()} database (SQLite or PostgreSQL)")
