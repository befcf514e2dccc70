"""The daemon lease: one daemon per account, held for the whole run.

Two daemons trading one account would both send orders and both write its positions. Before a daemon starts
it acquires the account's lease; a second one is refused, naming the holder (host, PID, since when). The
lease is released when the holder exits, and also when it dies without a word (killed, power loss): the
adapters tie it to something the operating system or the database server releases with the process (an OS
file lock; a PostgreSQL session advisory lock).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from stock_manager.domain.errors import StockbotError


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds a lease, as far as it can be told.

    Attributes
    ----------
    host : str | None
        The holder's machine name.
    pid : int | None
        The holder's operating-system process id (on its host).
    since : datetime | None
        When it took the lease (aware, UTC).
    detail : str
        Anything else that identifies it (e.g. its PostgreSQL backend and address); may be empty.
    """

    host: str | None
    pid: int | None
    since: datetime | None
    detail: str = ""

    def describe(self, tz: tzinfo = UTC) -> str:
        """Return the holder for people, its time shown in `tz`: ``host DESKTOP-1, PID 4242, since
        2026-03-02 08:55:01 UTC``."""
        parts = [f"host {self.host or 'unknown'}", f"PID {self.pid if self.pid is not None else 'unknown'}"]
        if self.since is not None:
            since = self.since.astimezone(tz)
            parts.append(f"since {since:%Y-%m-%d %H:%M:%S} {since.tzname() or ''}".rstrip())
        if self.detail:
            parts.append(self.detail)
        return ", ".join(parts)


class LeaseHeld(StockbotError):
    """Another process holds the lease: this daemon must not start.

    Attributes
    ----------
    subject : str
        What the lease is for, as shown to people (an account, masked).
    holder : LeaseHolder | None
        The holder, when it could be identified.
    """

    def __init__(self, subject: str, holder: LeaseHolder | None, tz: tzinfo = UTC) -> None:
        who = holder.describe(tz) if holder is not None else "a process that could not be identified"
        super().__init__(
            f"another stockbot daemon is running for {subject} ({who}); stop it first, or wait until it exits"
        )
        self.subject = subject
        self.holder = holder


class DaemonLease(Protocol):
    """**Port:** the right to run the daemon for one account, held from before the daemon starts until after it
    stops. Not reentrant: acquire once, release once."""

    async def acquire(self) -> None:
        """Take the lease and record who holds it.

        Raises
        ------
        LeaseHeld
            If another process holds it (naming the holder).
        StorageUnavailable
            If the lock itself cannot be reached (database down, directory not writable).
        """
        ...

    async def holder(self) -> LeaseHolder | None:
        """Return who holds the lease now (possibly this process), or None when nobody does or it is unknown."""
        ...

    async def is_held(self) -> bool:
        """Return True while this process still holds the lease (False after a lost database session)."""
        ...

    async def release(self) -> None:
        """Give the lease up; harmless when it is not held. Never raises."""
        ...
