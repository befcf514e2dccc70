"""Benchmarks fail loudly when they measured nothing: a figure is printed only from real samples.

    from _measured import require
    require(samples, "part 2: no triggering tick placed an order")

`require` exits the script with status 1 and a one-line message naming it, instead of printing a figure made
of no data (or dying on an IndexError in a percentile).
"""

import sys
from pathlib import Path


def require(measured: object, what: str) -> None:
    """Exit with status 1 and "<script>: measured nothing: <what>" unless `measured` is truthy."""
    if not measured:
        sys.exit(f"{Path(sys.argv[0]).name}: measured nothing: {what}")
