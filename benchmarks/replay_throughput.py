"""Replay throughput: how fast the whole daemon trades the default replayed year, end to end.

Prints sessions, trade prints, orders, fills, wall time, sessions/s and prints/s, and the process's peak resident
memory, for the embedded SQLite (default) or the database given with --db-url (PostgreSQL: upgraded first).

    uv run python benchmarks/replay_throughput.py
    uv run python benchmarks/replay_throughput.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _measured import require

from stock_manager.adapters.marketdata import session_prints, trading_days
from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage
from stock_manager.entrypoints.venues import open_venue
from stock_manager.service_layer.ports.notifications import NullNotifier


async def main(db_url: str | None, symbols: str | None, date_from: str | None, date_to: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp), db_url=db_url, sim_symbols=symbols, sim_from=date_from, sim_to=date_to
        )
        days = trading_days(settings.sim_symbols, settings.sim_from, settings.sim_to)
        prints = 0
        for day in days:
            session = session_for(day)
            for symbol in settings.sim_symbols:
                prints += len(session_prints(symbol, day, session.ts_open, session.ts_close))
        configure_logging("CRITICAL")
        started = time.perf_counter()
        async with open_storage(settings, upgrade=True) as storage, open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        elapsed = time.perf_counter() - started
    require(
        result.settlements and prints,
        f"the replay settled {len(result.settlements)} sessions, "
        f"{prints} prints (nothing left to replay in {settings.sim_from}..{settings.sim_to}?)",
    )
    orders = sum(s.orders_count for s in result.settlements)
    fills = sum(s.fills_count for s in result.settlements)
    print(f"database         {settings.database_url.split(':')[0]}")
    print(f"period           {settings.sim_from} → {settings.sim_to}, {len(settings.sim_symbols)} symbols")
    print(f"sessions         {len(result.settlements)}")
    print(f"trade prints     {prints:,}")
    print(f"orders / fills   {orders} / {fills}")
    print(f"wall time        {elapsed:.2f} s (startup and schema upgrade included)")
    print(f"sessions/s       {len(result.settlements) / elapsed:.1f}")
    print(f"prints/s         {prints / elapsed:,.0f}")
    try:
        import resource  # POSIX only

        print(f"peak RSS         {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    except ImportError:
        print("peak RSS         (not measured on this platform)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url")
    parser.add_argument("--symbols")
    parser.add_argument("--from", dest="date_from")
    parser.add_argument("--to", dest="date_to")
    args = parser.parse_args()
    run = main(args.db_url, args.symbols, args.date_from, args.date_to)
    if sys.platform == "win32":
        asyncio.run(run, loop_factory=asyncio.SelectorEventLoop)
    else:
        asyncio.run(run)
