"""The log of faults a protocol simulator injected (the KIS- and the Upbit-compatible servers share it): counts by
kind in memory, and one JSON line per fault in a file that outlives a killed process."""

import json
from collections import Counter
from pathlib import Path


class FaultLog:
    """Counts the faults the simulator injected, by kind, and appends each to a JSON-lines file when given.

    The file (one ``{"kind": ..., ...}`` object per line, flushed at once) outlives a killed process, so a
    harness that kills the daemon can still tell what was injected.

    Parameters
    ----------
    path : Path | None
        Where to append; None keeps the counts in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()

    def note(self, kind: str, **detail: object) -> None:
        """Count one injected fault of `kind` (and log it with `detail`; a file that cannot be written is
        skipped: the log serves diagnosis, never trading)."""
        self.counts[kind] += 1
        if self.path is None:
            return
        try:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps({"kind": kind, **detail}, default=str) + "\n")
        except OSError:
            pass

    @staticmethod
    def read(path: Path) -> Counter[str]:
        """Return the counts by kind of a fault log file (empty when there is none; a torn last line is
        skipped)."""
        counts: Counter[str] = Counter()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return counts
        for line in lines:
            try:
                counts[str(json.loads(line)["kind"])] += 1
            except (ValueError, KeyError, TypeError):
                continue
        return counts
