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

import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from _harness_cli import harness_parser, run_harness_cli
from tests.e2e.upbit_fault_harness import UpbitHarnessConfig, run_upbit_harness


def main() -> int:
    parser = harness_parser(__doc__.split("\n\n")[0], kills=100, seed=20240301, period=("2024-03-01", "2024-04-15"))
    parser.add_argument(
        "--speed", default="20000", help="SIM_SPEED of the killed runs: market seconds per wall second (20000)"
    )
    args = parser.parse_args()

    def configure(data_dir: Path, db_url: str) -> UpbitHarnessConfig:
        return UpbitHarnessConfig(
            data_dir=data_dir,
            db_url=db_url,
            kills=args.kills,
            seed=args.seed,
            period=(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)),
            speed=args.speed,
            trading_kill_secs=(0.1, args.max_trading_kill_secs),
            final_timeout_secs=3600.0,
        )

    def headline(config: UpbitHarnessConfig, db_url: str) -> str:
        return (
            f"Upbit fault harness: {args.kills} kills, KRW-BTC {args.date_from} → {args.date_to}, speed "
            f"{args.speed}, seed {args.seed}, faults {','.join(f'{k}={v}' for k, v in config.faults.items())}, "
            f"{db_url.split(':', 1)[0]}, Python {platform.python_version()} on {platform.system()} "
            f"{platform.machine()}"
        )

    return run_harness_cli(args, "stockbot-upbit-faults-", configure, run_upbit_harness, headline)


if __name__ == "__main__":
    sys.exit(main())
