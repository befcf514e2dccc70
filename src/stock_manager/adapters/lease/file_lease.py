"""The daemon lease on SQLite: an operating-system file lock next to the database file.

``stockbot.db`` gets ``stockbot.db.daemon.lock`` (locked with ``flock`` on POSIX, ``LockFileEx``-style
``msvcrt.locking`` on Windows, through the `filelock` library; never its "soft" fallback, which a killed
process would leave behind) and ``stockbot.db.daemon.json``, the side record naming the holder (host, PID,
since when). The operating system releases the lock when the holder's process ends, however it ends; the side
record is only read while the lock is held, so a stale one is harmless.
"""

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from stock_manager.domain.errors import StorageUnavailable
from stock_manager.localtime import KST
from stock_manager.service_layer.ports.lease import LeaseHeld, LeaseHolder

LOCK_SUFFIX = ".daemon.lock"
RECORD_SUFFIX = ".daemon.json"


class FileLease:
    """**Adapter:** `DaemonLease` held as an OS file lock next to an SQLite database.

    Parameters
    ----------
    database : Path
        The SQLite database file (it need not exist yet; its directory is created).
    subject : str
        What the lease is for, as shown to people in `LeaseHeld`.
    now : Callable[[], datetime]
        The wall clock (aware UTC), for the side record's "since".
    tag : str
        Names a lease of its own on the same database (another venue's daemon): ``stockbot.db.<tag>.daemon.lock``;
        empty: ``stockbot.db.daemon.lock``.
    """

    def __init__(self, database: Path, subject: str, *, now: Callable[[], datetime], tag: str = "") -> None:
        stem = database.name + (f".{tag}" if tag else "")
        self.lock_path = database.with_name(stem + LOCK_SUFFIX)
        self.record_path = database.with_name(stem + RECORD_SUFFIX)
        self._subject = subject
        self._now = now
        self._lock = FileLock(self.lock_path, timeout=0, thread_local=False, is_singleton=False, fallback_to_soft=False)

    async def acquire(self) -> None:
        """Take the lock without waiting and write the side record.

        Raises
        ------
        LeaseHeld
            If another process holds the lock (naming it from the side record).
        StorageUnavailable
            If the lock file cannot be created or locked (directory missing rights, no file locking).
        """
        await asyncio.to_thread(self._acquire)

    def _acquire(self) -> None:
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire(blocking=False)
        except Timeout:
            raise LeaseHeld(self._subject, self._read_record(), KST) from None
        except OSError as e:
            raise StorageUnavailable(f"cannot lock {self.lock_path}: {e.strerror or e}") from None
        record = {"host": socket.gethostname(), "pid": os.getpid(), "since": self._now().isoformat()}
        temporary = self.record_path.with_name(self.record_path.name + f".{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(record), encoding="utf-8")
            os.replace(temporary, self.record_path)
        except OSError as e:
            self._lock.release()
            raise StorageUnavailable(f"cannot write {self.record_path}: {e.strerror or e}") from None

    async def holder(self) -> LeaseHolder | None:
        """Return the holder named by the side record while the lock is held by anyone; None when it is free."""
        return await asyncio.to_thread(self._holder)

    def _holder(self) -> LeaseHolder | None:
        if self._lock.is_locked:
            return self._read_record()
        probe = FileLock(self.lock_path, timeout=0, thread_local=False, is_singleton=False, fallback_to_soft=False)
        try:
            probe.acquire(blocking=False)
        except Timeout:
            return self._read_record()
        except OSError:
            return None
        probe.release()
        return None

    async def is_held(self) -> bool:
        """Return True while this process holds the lock."""
        return self._lock.is_locked

    async def release(self) -> None:
        """Remove the side record and release the lock (the operating system would at exit anyway)."""
        if not self._lock.is_locked:
            return
        with contextlib.suppress(OSError):  # a stale record is harmless: it is only read while the lock is held
            self.record_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._lock.release()

    def _read_record(self) -> LeaseHolder | None:
        try:
            record = json.loads(self.record_path.read_text(encoding="utf-8"))
            since = datetime.fromisoformat(record["since"]) if record.get("since") else None
            return LeaseHolder(
                host=record.get("host"), pid=record.get("pid"), since=since, detail=f"lock {self.lock_path}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return LeaseHolder(host=None, pid=None, since=None, detail=f"lock {self.lock_path}")
