"""The fault-injection harness for a long run: `stockbot run --mode sim` under the simulator's faults, killed
at random moments (mostly while trading) and restarted until the period is done, then the database compared
with the exchange's own records (see tests/e2e/fault_harness.py for the faults and the invariants).

Prints kills (start-up / trading), restarts, faults injected by kind, the daemon's fault events, orders and
fills on both sides, each invariant's result and the wall time. Exit code 0 when every invariant held.

    uv run python benchmarks/fault_harness.py --kills 200
    uv run python benchmarks/fault_harness.py --kills 200 --db-url postgresql+psycopg://postgres@127.0.0.1:5432/stockbot_faults
    uv run python benchmarks/fault_harness.py --kills 20 --from 2023-02-13 --to 2023-03-03 --speed fastest

A PostgreSQL database given with --db-url must exist and be empty (it is migrated here); the default is a
SQLite file in the data directory (a temporary one unless --data-dir is given).
"""

import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from _harness_cli import harness_parser, run_harness_cli
from tests.e2e.fault_harness import SYMBOLS, HarnessConfig, run_harness


def main() -> int:
    parser = harness_parser(__doc__.split("\n\n")[0], kills=200, seed=20230217, period=("2023-01-02", "2023-12-22"))
    parser.add_argument("--symbols", default=SYMBOLS, help=f"replayed symbols ({SYMBOLS})")
    parser.add_argument(
        "--speed",
        default="20000",
        help="SIM_SPEED: market seconds per wall second (20000: about 1.2 s per session), or 'fastest'",
    )
    args = parser.parse_args()

    def configure(data_dir: Path, db_url: str) -> HarnessConfig:
        return HarnessConfig(
            data_dir=data_dir,
            db_url=db_url,
            kills=args.kills,
            seed=args.seed,
            period=(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)),
            symbols=args.symbols,
            speed=args.speed,
            trading_kill_secs=(0.1, args.max_trading_kill_secs),
            final_timeout_secs=3600.0,
        )

    def headline(config: HarnessConfig, db_url: str) -> str:
        return (
            f"fault harness: {args.kills} kills, {args.date_from} → {args.date_to}, {args.symbols}, speed "
            f"{args.speed}, seed {args.seed}, {db_url.split(':', 1)[0]}, Python {platform.python_version()} on "
            f"{platform.system()} {platform.machine()}"
        )

    return run_harness_cli(args, "stockbot-faults-", configure, run_harness, headline)


if __name__ == "__main__":
    sys.exit(main())
