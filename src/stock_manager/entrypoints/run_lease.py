"""The daemon lease of a run: part of the composition root (see `service_layer.ports.lease`).

One daemon per account: paper and live lease their KIS account; sim leases "sim" (every simulated account of
one database, since their identity is only known once the replay is open). On SQLite the lease is the
database file's lock, whatever the account; on PostgreSQL an advisory lock keyed by the account. The Upbit daemon
holds a lease of its own (its own lock file next to an SQLite database), so one KIS and one Upbit daemon can
share a database.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.lease import lease_for
from stock_manager.adapters.observability.masking import partial_account
from stock_manager.config.settings import Mode, Settings, VenueName
from stock_manager.service_layer.ports.lease import DaemonLease


def run_lease(settings: Settings) -> DaemonLease:
    """Return the (not yet acquired) lease a daemon of `settings` must hold.

    Raises
    ------
    ConfigurationError
        For a database that cannot hold one (in-memory SQLite, another engine).
    """
    if settings.venue is VenueName.UPBIT:
        return lease_for(settings.database_url, *_upbit_lease(settings), now=SystemClock().now, file_tag="upbit")
    if settings.mode is Mode.SIM or not settings.kis_account:
        key, subject = "sim", "sim mode on this database"
    else:
        key, subject = f"kis:{settings.kis_account}", f"account {partial_account(settings.kis_account)}"
    return lease_for(settings.database_url, key, subject, now=SystemClock().now)


def _upbit_lease(settings: Settings) -> tuple[str, str]:
    # The Upbit daemon's lease, apart from KIS's: its account (the access key's) in live, "upbit:<mode>" else.
    if settings.mode is Mode.LIVE and settings.upbit_access_key is not None:
        from stock_manager.adapters.broker.upbit.broker import account_id_for

        account = account_id_for(settings.upbit_access_key.get_secret_value())
        return f"upbit:{account}", f"account {partial_account(account)}"
    return f"upbit:{settings.mode}", f"Upbit {settings.mode} mode on this database"


@asynccontextmanager
async def holding_run_lease(settings: Settings) -> AsyncIterator[DaemonLease]:
    """Hold the run's lease for the body of the ``async with``; release it however the body ends.

    Raises
    ------
    LeaseHeld
        If another daemon holds it (naming its host, PID and since when).
    StorageUnavailable
        If the lock cannot be reached.
    """
    lease = run_lease(settings)
    await lease.acquire()
    try:
        yield lease
    finally:
        await lease.release()
