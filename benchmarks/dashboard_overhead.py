"""Does serving the dashboard delay the daemon's orders? Tick-to-order latency, p50/p90/p99, with no dashboard
and with a dashboard answering 10 requests/s, for each place the dashboard can run (`Placement`), side by side.

The order path is the daemon's own: each trade print is received on a TCP socket in the daemon's event loop,
noted as a quote, evaluated by the MA cross strategy (`evaluate_tick`: stop-loss -5 %, take-profit +10 %), and a
triggering one goes through the real `Execution.submit` built by `bootstrap.build_execution` (risk rules,
idempotency read, kill-switch read, the order committed NEW with its event on SQLite, synchronous=FULL) to
`Broker.place_order`. The broker here is a stub that notes the moment it is called and refuses the order, so
the symbol may trigger again (each trigger then starts a new session date, outside the timed interval).

Timed per triggering print: from the moment a separate *feed process* writes it to the socket
(``time.monotonic_ns``, the same clock in every process on one machine) to the moment ``place_order`` is
called. Delays the daemon's event loop suffers before it reads the print are inside the interval. The
dashboard's load comes from another separate process: 10 GET/s over loopback, round-robin over the overview,
its live fragment, orders, events and ``/api/status``, reading the same database while it is written.

    uv run python benchmarks/dashboard_overhead.py                 # 30 s per configuration
    uv run python benchmarks/dashboard_overhead.py --secs 10 --placements process,loop

Exit code 1 when a configuration measured no triggering print.
"""

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.config.settings import load_settings
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import Tick
from stock_manager.domain.model import Side
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.strategies.base import MarketDay
from stock_manager.domain.strategies.ma_cross import MA_CROSS, STRATEGY_ID, MaCrossParams
from stock_manager.entrypoints.bootstrap import build_execution, venue_profile
from stock_manager.entrypoints.dashboard.app import dashboard_config
from stock_manager.entrypoints.dashboard.server import Placement, alongside
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.storage import StoredFill

SYMBOLS = {
    "005930": Decimal(60_000),
    "000660": Decimal(90_000),
    "005380": Decimal(180_000),
    "035420": Decimal(200_000),
    "069500": Decimal(31_000),
}
ACCOUNT = "99990000-01"
FIRST_DAY = date(2025, 1, 6)
PATHS = ["/", "/fragments/overview", "/orders", "/events", "/api/status"]


class StubBroker:
    """The broker's `place_order`: note when it is called, then refuse (the order ends REJECTED)."""

    def __init__(self) -> None:
        self.called_ns: list[int] = []

    async def place_order(self, request: object) -> object:
        self.called_ns.append(time.monotonic_ns())
        raise OrderRejectedByBroker("benchmark: refused after timing", code="BENCH")

    async def get_orders(self, *args: object) -> list[object]:
        return []

    async def get_fills(self, *args: object) -> list[object]:
        return []


def feed(
    port: int, secs: float, rate: float, trigger_fraction: float, ready: "multiprocessing.synchronize.Event"
) -> None:
    """The feed process: write ``symbol price trigger sent_ns`` lines at `rate` per second for `secs`."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ready.wait(30)
    symbols, interval = list(SYMBOLS), 1.0 / rate
    started, n = time.monotonic(), 0
    while time.monotonic() - started < secs:
        symbol = symbols[n % len(symbols)]
        triggers = (n // len(symbols)) % max(1, round(1 / trigger_fraction)) == 0
        price = SYMBOLS[symbol] * (Decimal("0.94") if triggers else Decimal("1.01"))
        sock.sendall(f"{symbol} {price} {int(triggers)} {time.monotonic_ns()}\n".encode())
        n += 1
        time.sleep(max(0.0, started + n * interval - time.monotonic()))
    sock.sendall(b"END\n")
    sock.close()


def load(url: str, secs: float, per_sec: float, counts: "multiprocessing.sharedctypes.Synchronized[int]") -> None:
    """The load process: GET the dashboard's pages at `per_sec` for `secs` (each answer read to its end)."""
    import httpx

    with httpx.Client(base_url=url.rstrip("/"), timeout=10) as client:
        started, n = time.monotonic(), 0
        while time.monotonic() - started < secs:
            answer = client.get(PATHS[n % len(PATHS)], headers={"accept": "text/html"})
            if answer.status_code == 200:
                with counts.get_lock():
                    counts.value += 1
            n += 1
            time.sleep(max(0.0, started + n / per_sec - time.monotonic()))


@dataclass
class Result:
    label: str
    latencies_us: list[float]
    arrival_us: list[float]
    requests: int


async def run(label: str, placement: Placement | None, args: argparse.Namespace) -> Result:
    """One configuration on a fresh database: the order path, the feed, and (with a placement) the dashboard."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{(Path(tmp) / 'stockbot.db').as_posix()}"
        await upgrade_to_head(url)
        off = "off"
        settings = load_settings(
            db_url=url,
            data_dir=Path(tmp),
            mode="sim",
            sim_symbols=",".join(SYMBOLS),
            risk_cooldown_after_failures=off,
            risk_max_orders_per_minute=off,
            risk_max_quote_age_secs=off,
            risk_max_consecutive_broker_failures=off,
            risk_max_order_value_krw=off,
            risk_max_value_per_symbol_krw=off,
            risk_max_symbol_weight_pct=off,
            dashboard_port=args.port,
        )
        engine = create_engine(url)
        uow_factory = SqlUnitOfWorkFactory(engine, mode="sim")
        profile = venue_profile(settings)
        clock = FixedClock(kst_datetime(FIRST_DAY, clock_time(9, 0)))
        broker = StubBroker()
        execution = build_execution(
            settings,
            uow_factory,
            broker,
            clock,
            profile,
            ACCOUNT,  # type: ignore[arg-type]
            notifier=NullNotifier(),
        )
        seeded = kst_datetime(FIRST_DAY - timedelta(days=3), clock_time(10, 0))
        async with uow_factory() as uow:
            await uow.strategies.ensure_strategy(STRATEGY_ID, "MA 50/200 cross", "PRD §3.3", seeded)
            for symbol, price in SYMBOLS.items():
                await uow.market_data.upsert_symbol(profile.instruments.get(symbol), seeded)
                fill = Fill(
                    f"seed:{symbol}",
                    f"seed-{symbol}",
                    symbol,
                    Side.BUY,
                    Decimal(10),
                    price,
                    Decimal(0),
                    Decimal(0),
                    seeded,
                    seeded.date(),
                )
                await uow.fills.add(StoredFill(fill, ACCOUNT, None, "seed"), seeded)
            await uow.commit()
        async with uow_factory() as uow:
            fills = [s.fill for s in await uow.fills.list_for_account(ACCOUNT)]
            execution.load(positions_from_fills(ACCOUNT, fills), [])
        strategy = MA_CROSS.build(MaCrossParams())
        day = [FIRST_DAY]

        def begin(d: date) -> None:
            clock.set(kst_datetime(d, clock_time(9, 0)))
            execution.begin_session(d, Decimal(10**12), session=session_for(d))

        begin(day[0])
        latencies: list[float] = []
        arrivals: list[float] = []
        done = asyncio.Event()

        market_day = MarketDay()  # the MA cross's tick rules (stop-loss, take-profit) need no day history

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while line := await reader.readline():
                    received = time.monotonic_ns()
                    if line.startswith(b"END"):
                        break
                    symbol, price, triggers, sent = line.decode().split()
                    arrivals.append((received - int(sent)) / 1000)
                    tick = Tick(symbol, Decimal(price), Decimal(1), clock.now())
                    execution.note_quote(symbol, tick.price, tick.ts_event)
                    before = len(broker.called_ns)
                    position, ts_decision = execution.positions.get(symbol), profile.bar_close(day[0])
                    for signal in strategy.tick_signals(tick, position, ts_decision, market_day):
                        await execution.submit(signal)
                    if len(broker.called_ns) > before:
                        latencies.append((broker.called_ns[-1] - int(sent)) / 1000)
                        day[0] += timedelta(days=1)  # a new session date: a fresh idempotency key (not timed)
                        begin(day[0])
                    elif triggers == "1":
                        print(f"  a triggering print placed no order ({symbol} {price})", file=sys.stderr)
            except Exception as e:  # say why instead of waiting forever for the END line
                print(f"  the order path failed: {type(e).__name__}: {e}", file=sys.stderr)
            finally:
                writer.close()
                done.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        feed_port = server.sockets[0].getsockname()[1]
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        requests = context.Value("i", 0)
        config = dashboard_config(settings, host="127.0.0.1", port=args.port)
        feeder = context.Process(target=feed, args=(feed_port, args.secs, args.rate, args.trigger_fraction, ready))
        try:
            if placement is None:
                feeder.start()
                ready.set()
                await done.wait()
                await asyncio.to_thread(feeder.join, 10)
            else:
                async with alongside(config, placement) as dashboard_url:
                    loader = context.Process(target=load, args=(dashboard_url, args.secs + 1, 10.0, requests))
                    loader.start()
                    await asyncio.sleep(1.0)  # the load runs before and throughout the feed
                    feeder.start()
                    ready.set()
                    await done.wait()
                    await asyncio.to_thread(feeder.join, 10)
                    await asyncio.to_thread(loader.join, 15)
        finally:
            server.close()
            await engine.dispose()
        return Result(label, latencies, arrivals, requests.value)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return (
        f"{at(0.5) / 1000:7.2f} {at(0.9) / 1000:7.2f} {at(0.99) / 1000:7.2f} {ordered[-1] / 1000:7.2f} "
        f"{statistics.fmean(ordered) / 1000:7.2f}"
    )


async def main(args: argparse.Namespace) -> int:
    placements = [Placement(p) for p in args.placements.split(",") if p]
    configurations: list[tuple[str, Placement | None]] = [("no dashboard", None)]
    configurations += [(f"dashboard, 10 req/s, {p}", p) for p in placements]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{platform.platform()}; Python {platform.python_version()}; {cpus} usable CPUs; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"feed: {args.rate:g} prints/s for {args.secs:g} s x {args.rounds} rounds per configuration, "
        f"{args.trigger_fraction:.0%} triggering; SQLite (WAL, synchronous=FULL) in a temp dir"
    )
    merged: dict[str, Result] = {label: Result(label, [], [], 0) for label, _ in configurations}
    for _ in range(args.rounds):  # configurations take turns, so the machine's moods spread over all of them
        for label, placement in configurations:
            r = await run(label, placement, args)
            merged[label].latencies_us += r.latencies_us
            merged[label].arrival_us += r.arrival_us
            merged[label].requests += r.requests
    results = list(merged.values())
    print(
        f"\n{'tick -> order request, ms':34} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'mean':>7}   orders  "
        "dashboard answers"
    )
    empty = False
    for r in results:
        if not r.latencies_us:
            print(f"{r.label:34} measured nothing")
            empty = True
            continue
        print(f"{r.label:34} {percentiles(r.latencies_us)}   {len(r.latencies_us):6}  {r.requests}")
    print(f"\n{'every print: written -> read, ms':34} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'mean':>7}   prints")
    for r in results:
        if r.arrival_us:
            print(f"{r.label:34} {percentiles(r.arrival_us)}   {len(r.arrival_us):6}")
    return 1 if empty else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secs", type=float, default=30.0, help="feed duration per configuration")
    parser.add_argument("--rate", type=float, default=50.0, help="trade prints per second")
    parser.add_argument("--trigger-fraction", type=float, default=0.2, help="share of prints that trigger an order")
    parser.add_argument("--placements", default="process,thread,loop", help="comma-separated: process,thread,loop")
    parser.add_argument("--rounds", type=int, default=2, help="turns each configuration takes")
    parser.add_argument("--port", type=int, default=18765, help="the dashboard's port")
    configure_logging("CRITICAL")  # the order path's log lines would be timed too; the daemon logs to a file
    sys.exit(asyncio.run(main(parser.parse_args())))
