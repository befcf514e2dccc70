"""The fault-injection harness on Upbit for a long run: `stockbot run --venue upbit --mode sim` under every fault
of the Upbit simulator, killed at random moments (mostly while trading) and restarted until the period is done,
then the database compared with the venue's own records (see tests/e2e/upbit_fault_harness.py for the faults and
the invariants).

Prints kills (start-up / trading), restarts, faults injected by kind, the daemon's fault events, orders (ours /
venue) and trades on both sides, the balances, each invariant's result and the wall time. Exit code 0 when every
invariant held.

    uv run python benchmarks/upbit_fault_harness.py --kills 100
    uv run python benchmarks/upbit_fault_harness.py --kills 100 --db-url postgresql+psycopg://postgres@127.0.0.1:5432/stockbot_upbit_faults

A PostgreSQL database given with --db-url must exist and be empty (it is migrated here); the default is a
SQLite file in the data directory (a temporary one unless --data-dir is given).
"""

import argparse
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from _measured import require
from tests.e2e.upbit_fault_harness import UpbitHarnessConfig, run_upbit_harness

from stock_manager.adapters.storage.migrate import upgrade_to_head_sync


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kills before the daemon may finish (100)")
    parser.add_argument("--db-url", help="database URL (default: SQLite in the data directory)")
    parser.add_argument("--seed", type=int, default=20240301, help="seed of the kill moments and fault seeds")
    parser.add_argument("--data-dir", type=Path, help="where the replay, logs and SQLite go (default: temporary)")
    parser.add_argument("--from", dest="date_from", default="2024-03-01", help="first replay day (2024-03-01)")
    parser.add_argument("--to", dest="date_to", default="2024-04-15", help="last replay day (2024-04-15)")
    parser.add_argument(
        "--speed", default="20000", help="SIM_SPEED of the killed runs: market seconds per wall second (20000)"
    )
    parser.add_argument(
        "--max-trading-kill-secs", type=float, default=1.6, help="longest wait after TRADING before a kill (1.6 s)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not print each kill")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stockbot-upbit-faults-") as scratch:
        data_dir = (args.data_dir or Path(scratch) / "data").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        db_url = args.db_url or f"sqlite+aiosqlite:///{(data_dir / 'stockbot.db').as_posix()}"
        upgrade_to_head_sync(db_url)
        config = UpbitHarnessConfig(
            data_dir=data_dir,
            db_url=db_url,
            kills=args.kills,
            seed=args.seed,
            period=(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)),
            speed=args.speed,
            trading_kill_secs=(0.1, args.max_trading_kill_secs),
            final_timeout_secs=3600.0,
        )
        print(
            f"Upbit fault harness: {args.kills} kills, KRW-BTC {args.date_from} → {args.date_to}, speed "
            f"{args.speed}, seed {args.seed}, faults {','.join(f'{k}={v}' for k, v in config.faults.items())}, "
            f"{db_url.split(':', 1)[0]}, Python {platform.python_version()} on {platform.system()} "
            f"{platform.machine()}",
            flush=True,
        )
        result = run_upbit_harness(config, say=(lambda _: None) if args.quiet else (lambda m: print(m, flush=True)))
        require(result.starts > 0, "the daemon never started")
        print(result.report())
        print(f"restarts {max(result.starts - 1, 0)}; result: {'PASS' if result.ok else 'FAIL'}")
        return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
