"""The replay journal: an append-only JSON Lines file that lets the simulated exchange survive a crash.

A real broker keeps its orders when the daemon is killed; so does the simulator. The sim broker writes one
line per command and checkpoint to ``<state dir>/journal.jsonl`` (UTF-8, one JSON object per line, keys
below, money and quantities as decimal strings, times as ISO 8601 UTC). Rebuilding means re-running the
journal through the deterministic matching engine; nothing else is stored.

Records (``type`` first):

* ``start`` - ``{"type":"start","format":1,"replay_id":"…","params":{…}}``: first line; the replay's
  parameters (symbols, period, start cash, participation rate, costs, data fingerprint).
* ``session`` - ``{"type":"session","day":"2025-06-13","ts":"…"}``: the session was opened (pre-open).
* ``place`` - ``{"type":"place","day":…,"at":N,"ts":…,"order_number":"0000000001","request":{…}}``: an
  accepted order; ``at`` is the number of that day's prints already played when it was placed.
* ``place_amount`` - ``{"type":"place_amount","day":…,"at":N,"ts":…,"order_number":…,"account_id":…,
  "symbol":"KRW-BTC","amount_krw":"6000","client_order_id":…}``: an accepted market buy by KRW amount.
* ``burn`` - ``{"type":"burn","day":…,"at":N,"ts":…,"client_order_id":…}``: a client order id made unusable
  by a refused order (venues whose ids are single-use even for failed orders).
* ``cancel`` - ``{"type":"cancel","day":…,"at":N,"ts":…,"order_number":…}``: an accepted cancel.
* ``print`` - ``{"type":"print","day":…,"at":N,"ts":…,"fills":[["0000000001-0001","10","74100"],…]}``:
  checkpoint after the N-th print of the day (``at`` counts prints played, this one included) with the
  fills it produced as [fill id, quantity, price]; written for every print that filled something and at
  least once a minute of market time. A rebuild checks every print's fills against these.
* ``close`` - ``{"type":"close","day":…,"ts":…,"expired":["0000000002",…]}``: the close; the listed orders
  expired.
* ``finished`` - ``{"type":"finished","ts":…}``: the last session closed; the replay is over.

Durability: each line is written with one ``write`` to a file opened with ``O_APPEND``, so a killed process
leaves at most one partial last line, which the reader ignores and the next writer truncates. ``place``,
``place_amount``, ``burn``, ``cancel``, ``close`` and ``finished`` are also ``fsync``-ed. While a broker holds the
journal it keeps an exclusive lock on ``journal.lock`` beside it (``filelock``: ``flock`` on POSIX,
``msvcrt.locking`` on Windows; the operating system releases it when the process dies), so two brokers cannot
append to one replay (in one process, close the old broker before building a new one on the same directory).

A journal whose ``start`` line differs from the new broker's (other parameters, data, engine version or
format) is moved to ``archive/journal-<old replay id>-<n>.jsonl`` and a new replay starts.
"""

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from stock_manager.domain.errors import ConfigurationError, StockbotError

JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "journal.lock"
ARCHIVE_DIR = "archive"

type Record = dict[str, Any]


class JournalError(StockbotError):
    """The journal cannot be used: a line in the middle is corrupt, or it contradicts the replay."""


def _decode(data: bytes) -> tuple[list[Record], int]:
    # Returns the records and the byte length of the valid prefix. Only the end of the file may be damaged:
    # a last piece without a newline, or an unreadable last line, is an interrupted write and is dropped.
    *complete, unfinished = data.split(b"\n")
    records: list[Record] = []
    valid = 0
    for index, line in enumerate(complete):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError("not a journal record")
        except ValueError as exc:
            if index == len(complete) - 1 and not unfinished:
                break
            raise JournalError(f"journal line {index + 1} is corrupt: {exc}") from exc
        records.append(record)
        valid += len(line) + 1
    return records, valid


class Journal:
    """An open, locked journal file in a state directory.

    Use `Journal.open` to create one; `records` holds what was in the file when it was opened.
    """

    def __init__(self, path: Path, fd: int, records: list[Record], lock: FileLock) -> None:
        self.path = path
        self.records = records
        self._fd: int | None = fd
        self._lock = lock
        self.read_only = False

    @classmethod
    def open(cls, state_dir: Path, *, read_only: bool = False) -> "Journal":
        """Open (creating it if needed) and lock ``journal.jsonl`` in `state_dir`; drop a partial last line.

        With `read_only`, nothing is created, truncated or appended (``recover --dry-run``).

        Raises
        ------
        ConfigurationError
            If another process holds the journal.
        JournalError
            If a line other than the last is corrupt.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(state_dir / LOCK_FILE, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise ConfigurationError(f"replay state {state_dir} is in use by another process") from None
        path = state_dir / JOURNAL_FILE
        created = not path.exists()
        try:
            fd = _open_append(path) if not read_only else os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except BaseException:
            lock.release()
            raise
        try:
            data = path.read_bytes()
            records, valid = _decode(data)
            if valid < len(data) and not read_only:
                os.ftruncate(fd, valid)
                os.fsync(fd)
            if created and not read_only:
                _fsync_dir(state_dir)
        except BaseException:
            os.close(fd)
            lock.release()
            raise
        journal = cls(path, fd, records, lock)
        journal.read_only = read_only
        return journal

    def append(self, record: Record, *, sync: bool = False) -> None:
        """Append one record as a line; with `sync`, also fsync it to the disk.

        Raises
        ------
        OSError
            If the write fails; the journal is then closed and must be reopened.
        """
        if self._fd is None:
            raise ValueError("the journal is closed")
        if self.read_only:
            raise OSError("the journal was opened read-only")
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
            if sync:
                os.fsync(self._fd)
        except OSError:
            self.close()
            raise

    def archive(self, name: str) -> Path:
        """Move the journal to ``archive/journal-<name>-<n>.jsonl`` and start an empty one in its place.

        Returns
        -------
        Path
            Where the old journal now is.
        """
        if self._fd is None:
            raise ValueError("the journal is closed")
        archive_dir = self.path.parent / ARCHIVE_DIR
        archive_dir.mkdir(exist_ok=True)
        number = 1
        while (target := archive_dir / f"journal-{name}-{number}.jsonl").exists():
            number += 1
        os.close(self._fd)  # Windows cannot rename an open file; the lock file still guards the directory
        self._fd = None
        self.path.rename(target)
        self._fd = _open_append(self.path)
        _fsync_dir(self.path.parent)
        self.records = []
        return target

    def archived_count(self) -> int:
        """Return how many journals were archived beside this one (a counter that only grows)."""
        archive_dir = self.path.parent / ARCHIVE_DIR
        return sum(1 for _ in archive_dir.glob("journal-*.jsonl")) if archive_dir.is_dir() else 0

    def close(self) -> None:
        """Release the lock and the file; safe to call twice."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        if self._lock.is_locked:
            self._lock.release()

    @property
    def closed(self) -> bool:
        """Return True once the journal was closed."""
        return self._fd is None


def _open_append(path: Path) -> int:
    # O_BINARY matters on Windows: no newline translation in the journal.
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)


def _fsync_dir(directory: Path) -> None:
    # Makes a new or renamed entry durable on POSIX; Windows cannot open a directory and needs no such step.
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
