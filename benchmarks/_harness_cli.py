"""The command line shared by the two fault-harness benchmarks (fault_harness.py for KIS, upbit_fault_harness.py
for Upbit): the common options, a scratch data directory and database migrated to head, the run, its report and
PASS/FAIL as the exit code."""

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _measured import require

from stock_manager.adapters.storage.migrate import upgrade_to_head_sync


def harness_parser(description: str, *, kills: int, seed: int, period: tuple[str, str]) -> argparse.ArgumentParser:
    """Return a parser with the options both harnesses take (a harness adds its own, e.g. ``--speed``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--kills", type=int, default=kills, help=f"kills before the daemon may finish ({kills})")
    parser.add_argument("--db-url", help="database URL (default: SQLite in the data directory)")
    parser.add_argument("--seed", type=int, default=seed, help="seed of the kill moments and fault seeds")
    parser.add_argument("--data-dir", type=Path, help="where the replay, logs and SQLite go (default: temporary)")
    parser.add_argument("--from", dest="date_from", default=period[0], help=f"first replay day ({period[0]})")
    parser.add_argument("--to", dest="date_to", default=period[1], help=f"last replay day ({period[1]})")
    parser.add_argument(
        "--max-trading-kill-secs",
        type=float,
        default=1.6,
        help="longest wait after TRADING before a kill (1.6 s; the shortest is 0.1 s)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print each kill")
    return parser


def run_harness_cli(
    args: argparse.Namespace,
    prefix: str,
    configure: Callable[[Path, str], Any],
    run: Callable[..., Any],
    headline: Callable[[Any, str], str],
) -> int:
    """Run one harness: `configure(data_dir, db_url)` gives its configuration, `run(config, say=...)` its result,
    `headline(config, db_url)` the first line printed. Return 0 when every invariant held, else 1."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        data_dir = (args.data_dir or Path(scratch) / "data").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        db_url = args.db_url or f"sqlite+aiosqlite:///{(data_dir / 'stockbot.db').as_posix()}"
        upgrade_to_head_sync(db_url)
        config = configure(data_dir, db_url)
        print(headline(config, db_url), flush=True)
        result = run(config, say=(lambda _: None) if args.quiet else (lambda m: print(m, flush=True)))
        require(result.starts > 0, "the daemon never started")
        print(result.report())
        print(f"restarts {max(result.starts - 1, 0)}; result: {'PASS' if result.ok else 'FAIL'}")
        return 0 if result.ok else 1
