"""The daemon's tick path: sustained tick rate on one core, and trade frame → order request latency.

Every part drives the daemon's own objects: the KIS adapter (frame split, `FrameDispatcher`, `parse_trades`),
the real `SessionRunner.on_tick` (MA cross `evaluate_tick`) and the real `Execution` (risk gate, order row
committed NEW, then `place_order`) on a SQLite database built by the migrations in a temp directory. Each of
the 40 symbols is held (seeded as recorded buy fills, loaded as `SessionRunner.open` loads them), so every tick
is evaluated against its stop-loss (-5 %) and take-profit (+10 %). Prices are synthetic, on the KRX tick grid
across the price bands; the 46-field H0STCNT0 records come from the simulator's own `TradeRecorder`.

1. Parse + evaluate, one core: frames split and dispatched into ``on_tick`` in process (no socket), none
   crossing a threshold (no order): ticks/s. Also the same frames flooded through the simulator's WebSocket
   (sender and receiver share this process and core).
2. Frame → order request: a real `KisExchangeSimulator` (REST + WebSocket on loopback, in front of a
   `SimBroker` replay) and a `KisBroker` wired to the runner as the daemon wires them. The simulator sends
   one frame at a time and waits until the adapter has handled it (the lockstep of ``--mode sim``), so no
   tick queues behind another. ``--trigger-fraction`` of the frames cross a threshold, so ``evaluate_tick``
   yields an EXIT and an order is placed. Timed per triggering tick: from the moment websockets'
   ``ClientConnection.recv`` returns the frame to the adapter (a subclass passed to its ``connect``) to the
   moment the order-cash request is handed to the httpx transport (a wrapper of the real loopback one).
   Each round of 40 triggers runs on a new session date, so idempotency keys differ; the replay is before
   its first session, so the venue refuses each order (market closed) *after* the timed moment, which
   closes the order and lets the symbol trigger again. Risk limits are generous; the rate limiter never waits.

   In the path: frame split → H0STCNT0 parse → `on_tick` → `evaluate_tick` → `Execution.submit` (lock,
   idempotency read, kill-switch read, risk rules, INSERT order NEW + event, COMMIT with fsync) →
   `KisBroker.place_order` (body, limiter, token) → httpx request built. Not in it: the wire before ``recv``
   returns (part 3 is that floor), the REST round trip and the SENT/REJECTED commit after the request left
   (printed apart), log rendering (level CRITICAL unless ``--log-level INFO``, lines to stderr).
3. Floor: the same frames from a bare websockets server to a bare client on loopback, one at a time,
   one-way send → ``recv`` returned, in the same process.

    uv run python benchmarks/tick_to_order.py
    uv run python benchmarks/tick_to_order.py --ticks 10000 --symbols 40 --trigger-fraction 0.25
    uv run python benchmarks/tick_to_order.py --cpu 0        # Linux: pin the process to one core
"""

import argparse
import asyncio
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock_time
from decimal import Decimal
from functools import partial
from importlib.metadata import version
from pathlib import Path
from unittest import mock

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from stock_manager.adapters.broker.kis import websocket as kis_websocket
from stock_manager.adapters.broker.kis.broker import KisBroker
from stock_manager.adapters.broker.kis.config import KisConfig, KisMode
from stock_manager.adapters.broker.kis.dispatch import FrameDispatcher
from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.ws_frames import split_data_frame
from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.frames import TRADE_TR, TradeRecorder, data_frame
from stock_manager.adapters.broker.kis_sim.server import DEFAULT_CREDENTIAL, KisExchangeSimulator
from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.adapters.venues.krx.profile import krx_profile
from stock_manager.adapters.venues.krx.rules import (
    krx_cost_model,
    krx_instrument,
    price_limits,
    round_to_tick,
    tick_size,
)
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import Tick
from stock_manager.domain.model import InstrumentKind, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MA_CROSS, STRATEGY_ID
from stock_manager.entrypoints.venues import SIM_HTS_ID, sim_account
from stock_manager.localtime import kst_date, kst_datetime
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.storage import StoredFill
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner

FIRST_DAY = date(2025, 1, 6)  # round r trades on FIRST_DAY + r days (a fresh EXIT key per symbol and round)
RECEIVED_NS: list[int] = []  # perf_counter_ns when websockets returned each H0STCNT0 frame to the adapter
ON_TICK_NS: list[int] = []  # ... when SessionRunner.on_tick was entered with its tick
PLACE_NS: list[int] = []  # ... when Execution called KisBroker.place_order (the NEW row committed)


class MeasuredNothing(RuntimeError):
    """A part of the benchmark produced no sample; the run fails (exit 1) instead of printing nothing."""


class StampedConnection(ClientConnection):
    """The adapter's websockets connection, noting the moment `recv` returns a trade frame."""

    async def recv(self, decode: bool | None = None) -> str | bytes:  # type: ignore[override]
        message = await super().recv(decode)
        if isinstance(message, str) and message.startswith("0|H0STCNT0|"):
            RECEIVED_NS.append(time.perf_counter_ns())
        return message


class StampingTransport(httpx.AsyncBaseTransport):
    """The real loopback HTTP transport, noting when an order request is handed over and when it is answered."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.order_ns: list[int] = []
        self.answered_ns: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/order-cash"):
            return await self._inner.handle_async_request(request)
        self.order_ns.append(time.perf_counter_ns())
        response = await self._inner.handle_async_request(request)
        self.answered_ns.append(time.perf_counter_ns())
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def stamped[**P, R](stamps: list[int], call: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Return `call`, noting the perf_counter_ns of each call in `stamps` first."""

    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        stamps.append(time.perf_counter_ns())
        return await call(*args, **kwargs)

    return wrapper


@dataclass(frozen=True, slots=True)
class Frame:
    """One H0STCNT0 record to send, the round (session date index) it belongs to, and whether it triggers."""

    symbol: str
    record: list[str]
    round: int
    triggers: bool


def build_frames(
    symbols: list[str], avg: dict[str, Decimal], rounds: int, per_symbol: int, rng: random.Random, *, triggers: bool
) -> list[Frame]:
    """Return `rounds` × `per_symbol` × len(symbols) frames; with `triggers`, one per symbol and round crosses
    its stop-loss (x0.94) or take-profit (x1.11); the rest stay within ±4 % of the average price."""
    recorder, frames = TradeRecorder(), []
    for r in range(rounds):
        day = FIRST_DAY + timedelta(days=r)
        trigger_at = {s: rng.randrange(per_symbol) if triggers else -1 for s in symbols}
        second = 0
        for j in range(per_symbol):
            for symbol in rng.sample(symbols, len(symbols)):
                base, fire = avg[symbol], trigger_at[symbol] == j
                factor = (
                    Decimal("0.94" if rng.random() < 0.5 else "1.11")
                    if fire
                    else 1 + Decimal(rng.randint(-400, 400)) / 10_000
                )
                price = round_to_tick(base * factor, Side.BUY)
                at = (kst_datetime(day, clock_time(9, 0)) + timedelta(seconds=second)).replace(microsecond=0)
                second += 1
                tick = Tick(symbol, price, Decimal(rng.randint(1, 500)), at)
                record = recorder.record(tick, base, price_limits(base), tick_size(price), None)
                frames.append(Frame(symbol, record, r, fire))
    return frames


def percentiles(values_us: list[float]) -> str:
    """Return "p50 … p90 … p99 … max … mean …" of microsecond values.

    Raises
    ------
    MeasuredNothing
        If there is no value: a benchmark that measured nothing must not print a figure.
    """
    ordered = sorted(values_us)
    if not ordered:
        raise MeasuredNothing("no sample to take percentiles of")

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return (
        f"p50 {at(0.5):8,.0f}  p90 {at(0.9):8,.0f}  p99 {at(0.99):8,.0f}  max {ordered[-1]:8,.0f}  "
        f"mean {statistics.fmean(ordered):8,.0f} us  (n={len(ordered):,})"
    )


class Bench:
    """The daemon's objects on a fresh migrated SQLite database, the simulator and the adapter."""

    def __init__(self, tmp: Path, symbols: list[str]) -> None:
        self.tmp, self.symbols = tmp, symbols
        self.market = FixedClock(kst_datetime(FIRST_DAY, clock_time(8, 30)))
        # The replay stays before its first session: the venue refuses every order (market closed).
        self.venue = SimBroker(
            symbols=["005930"],
            start_date=date(2025, 6, 2),
            end_date=date(2025, 6, 3),
            clock=FixedClock(kst_datetime(date(2025, 6, 2), clock_time(0, 0))),
            state_dir=tmp / "sim",
        )
        self.account = sim_account(self.venue.replay_id)
        self.credential = KisCredential(
            app_key=DEFAULT_CREDENTIAL.app_key,
            app_secret=DEFAULT_CREDENTIAL.app_secret,
            account=self.account,
            hts_id=SIM_HTS_ID,
        )
        self.server = KisExchangeSimulator(
            self.venue,
            mode="paper",
            credentials=(self.credential,),
            wall_clock=SystemClock(),
            rate_limit_per_sec=None,
            pingpong_interval_secs=None,
        )
        self.transport = StampingTransport()

    async def start(self, avg: dict[str, Decimal]) -> None:
        """Migrate the database, seed the holdings, start the simulator, log in and subscribe as the daemon."""
        url = f"sqlite+aiosqlite:///{(self.tmp / 'stockbot.db').as_posix()}"
        await upgrade_to_head(url)
        self.engine = create_engine(url)
        uow = SqlUnitOfWorkFactory(self.engine, mode="sim")
        await self.server.start()
        config = KisConfig(
            mode=KisMode.PAPER,
            app_key=SecretStr(self.credential.app_key),
            app_secret=SecretStr(self.credential.app_secret),
            account=self.account,
            hts_id=SIM_HTS_ID,
            rest_base_url=self.server.rest_base_url,
            ws_url=self.server.ws_url,
            rate_limit_per_sec=1e6,
            subscribe_pacing_secs=0.0,
            token_cache_dir=self.tmp / "tokens",
        )
        self.kis = KisBroker(
            config, clock=SystemClock(), market_clock=self.market, cost_model=krx_cost_model(), transport=self.transport
        )
        # Generous limits: every round's 40 exits are created in the same market minute, and each is refused
        # by the venue (a failed order), so the rate throttle and the cooldown are off.
        limits = RiskLimits(
            max_open_positions=10_000,
            max_quantity_per_symbol=Decimal(10**9),
            daily_loss_limit_pct=Decimal(100),
            max_orders_per_minute=None,
            cooldown_after_failures=None,
            max_consecutive_broker_failures=None,
        )
        instruments = [krx_instrument(s, InstrumentKind.STOCK, s) for s in self.symbols]
        self.profile = krx_profile(instruments)
        self.execution = Execution(
            config=ExecutionConfig(self.account, Mode.SIM, limits),
            uow_factory=uow,
            broker=self.kis,
            clock=self.market,
            notifier=NullNotifier(),
            venue=self.profile,
        )
        self.runner = SessionRunner(
            execution=self.execution,
            uow_factory=uow,
            broker=self.kis,
            clock=self.market,
            notifier=NullNotifier(),
            mode=Mode.SIM,
            venue=self.profile,
            strategies=StrategyBook((MA_CROSS,)),
        )
        # Holdings as recorded buy fills before the first session, restored as SessionRunner.open restores them.
        seeded_at = kst_datetime(FIRST_DAY - timedelta(days=3), clock_time(10, 0))
        async with uow() as u:
            await u.strategies.ensure_strategy(STRATEGY_ID, "MA 50/200 cross", "PRD §3.3", seeded_at)
            for instrument in instruments:
                await u.market_data.upsert_symbol(instrument, seeded_at)
            for symbol, price in avg.items():
                fill = Fill(
                    f"seed:{symbol}",
                    f"seed-{symbol}",
                    symbol,
                    Side.BUY,
                    Decimal(10),
                    price,
                    Decimal(0),
                    Decimal(0),
                    seeded_at,
                    kst_date(seeded_at),
                )
                await u.fills.add(StoredFill(fill, self.account, None, "seed"), seeded_at)
            await u.commit()
        async with uow() as u:
            fills = [s.fill for s in await u.fills.list_for_account(self.account)]
            self.execution.load(positions_from_fills(self.account, fills), await u.orders.list_open(self.account))
        self.kis.place_order = stamped(PLACE_NS, self.kis.place_order)  # type: ignore[method-assign]
        with mock.patch.object(kis_websocket, "connect", partial(connect, create_connection=StampedConnection)):
            await self.kis.login()
            await self.kis.subscribe_order_events(self.execution.on_broker_event)
            await self.kis.subscribe_quotes(self.symbols, stamped(ON_TICK_NS, self.runner.on_tick))
        for _ in range(1000):  # until the simulator has every registration
            if all(self.server.hub.has_subscribers(TRADE_TR, s) for s in self.symbols):
                break
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("the simulator did not register every symbol")

    def begin_round(self, r: int) -> None:
        """Start session date `r` as the market-open sequence would: clock, session, fresh per-session state."""
        day = FIRST_DAY + timedelta(days=r)
        # A KRX regular session with its phases (09:00-15:30 KST): without them no order passes the phase rule.
        session = krx_session(day, kst_datetime(day, clock_time(9, 0)), kst_datetime(day, clock_time(15, 30)))
        self.market.set(kst_datetime(session.trading_date, clock_time(9, 0)))
        self.execution.begin_session(session.trading_date, Decimal(10**12), session=session)
        self.runner.session = session

    async def close(self) -> None:
        """Close the adapter, the simulator, the replay's journal and the database."""
        await self.kis.close()
        await self.server.stop()
        await self.venue.close()
        await self.engine.dispose()


async def parse_rate(bench: Bench, frames: list[Frame], passes: int) -> float:
    """Part 1: frames split and dispatched into `SessionRunner.on_tick` in process; return ticks/s."""
    dispatcher = FrameDispatcher(
        account_id=bench.account,
        cost_model=krx_cost_model(),
        market_clock=bench.market,
        wall_clock=SystemClock(),
        cipher_keys=lambda tr_id: None,
        masker=Masker(),
    )
    dispatcher.add_quote_handler(bench.symbols, bench.runner.on_tick)
    texts = [data_frame(TRADE_TR, [f.record]) for f in frames]
    bench.begin_round(0)
    started = time.perf_counter()
    for _ in range(passes):
        for text in texts:
            frame = split_data_frame(text)
            assert frame is not None
            await dispatcher.handle(frame, 1)
    return passes * len(texts) / (time.perf_counter() - started)


async def flood_rate(bench: Bench, frames: list[Frame]) -> float:
    """Part 1b: the simulator sends every frame at once; return ticks/s until the adapter handled them all."""
    bench.begin_round(0)
    started = time.perf_counter()
    for f in frames:
        await bench.server.hub.send_records(TRADE_TR, f.symbol, [f.record], encrypted=False)
    await bench.kis.wait_data_frames_handled(bench.server.data_frames_sent)
    return len(frames) / (time.perf_counter() - started)


async def order_path(bench: Bench, frames: list[Frame]) -> tuple[dict[str, list[float]], int, int]:
    """Part 2: one frame at a time through the simulator; time each triggering tick to its order request.

    Returns microsecond samples by stage, triggering ticks that placed no order, and calm ticks that did.
    """
    samples: dict[str, list[float]] = {
        k: []
        for k in ("send_recv", "recv_order", "send_order", "recv_tick", "tick_place", "place_order", "order_answer")
    }
    missed = unexpected = 0
    current_round = -1
    for f in frames:
        if f.round != current_round:
            current_round = f.round
            bench.begin_round(f.round)
        orders_before, received_before = len(bench.transport.order_ns), len(RECEIVED_NS)
        sent = time.perf_counter_ns()
        await bench.server.hub.send_records(TRADE_TR, f.symbol, [f.record], encrypted=False)
        await bench.kis.wait_data_frames_handled(bench.server.data_frames_sent)
        assert len(RECEIVED_NS) == received_before + 1, "a trade frame was not stamped on arrival"
        received = RECEIVED_NS[-1]
        samples["send_recv"].append((received - sent) / 1000)
        ordered = len(bench.transport.order_ns) - orders_before
        if f.triggers and ordered == 1:
            order, tick, place = bench.transport.order_ns[-1], ON_TICK_NS[-1], PLACE_NS[-1]
            for key, start, end in (
                ("recv_order", received, order),
                ("send_order", sent, order),
                ("recv_tick", received, tick),
                ("tick_place", tick, place),
                ("place_order", place, order),
                ("order_answer", order, bench.transport.answered_ns[-1]),
            ):
                samples[key].append((end - start) / 1000)
        elif f.triggers:
            missed += 1
        elif ordered:
            unexpected += 1
    return samples, missed, unexpected


def fsync_probe(directory: Path, count: int = 200) -> list[float]:
    """Return microseconds of `count` 4 KiB write + fsync on `directory`'s disk (SQLite synchronous=FULL pays
    one or more per commit)."""
    values = []
    with open(directory / "fsync.probe", "wb") as handle:
        for _ in range(count):
            started = time.perf_counter_ns()
            handle.write(b"x" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
            values.append((time.perf_counter_ns() - started) / 1000)
    return values


async def bare_floor(frames: list[Frame]) -> list[float]:
    """Part 3: the same frames from a bare websockets server to a bare client, one at a time; one-way us."""
    texts = [data_frame(TRADE_TR, [f.record]) for f in frames]
    sent_ns: list[int] = []
    received_ns: list[int] = []
    handled, ready, done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handler(connection: ServerConnection) -> None:
        await ready.wait()
        for text in texts:
            handled.clear()
            sent_ns.append(time.perf_counter_ns())
            await connection.send(text)
            await handled.wait()
        done.set()
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", ping_interval=None, compression=None, max_size=2**22) as client:
            ready.set()
            for _ in texts:
                await client.recv()
                received_ns.append(time.perf_counter_ns())
                handled.set()
            await done.wait()
    return [(r - s) / 1000 for s, r in zip(sent_ns, received_ns, strict=True)]


def machine_facts() -> list[str]:
    """Return CPU, affinity, load, OS, Python and library versions."""
    cpuinfo = Path("/proc/cpuinfo")
    names = (
        [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text(encoding="utf-8").splitlines()
            if line.startswith("model name")
        ]
        if cpuinfo.exists()
        else []
    )
    cpu = names[0] if names else platform.processor() or "?"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a on this platform"
    libraries = ", ".join(f"{name} {version(name)}" for name in ("websockets", "httpx", "aiohttp", "sqlalchemy"))
    return [
        f"cpu              {cpu}; {os.cpu_count()} logical CPUs, {affinity} usable by this process",
        f"load average     {load} (1/5/15 min)",
        f"platform         {platform.platform()}",
        f"python           {platform.python_implementation()} {platform.python_version()}; {libraries}",
    ]


async def main(args: argparse.Namespace) -> None:
    configure_logging(args.log_level)
    rng = random.Random(args.seed)  # noqa: S311 - synthetic prices, not cryptography
    symbols = [f"{900000 + 37 * i:06d}" for i in range(args.symbols)]
    # Average prices log-spread over 1,000..900,000 KRW (every KRX tick band), on the tick grid.
    avg = {
        s: round_to_tick(Decimal(round(math.exp(rng.uniform(math.log(1_000), math.log(900_000))))), Side.BUY)
        for s in symbols
    }
    per_symbol = max(1, round(1 / args.trigger_fraction))
    calm = build_frames(
        symbols, avg, math.ceil(args.ticks / len(symbols) / per_symbol), per_symbol, rng, triggers=False
    )
    mixed = build_frames(symbols, avg, math.ceil(args.ticks / len(symbols)), per_symbol, rng, triggers=True)
    print("\n".join(machine_facts()))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        fsync = fsync_probe(Path(tmp))
        bench = Bench(Path(tmp), symbols)
        try:
            await bench.start(avg)
            rate = await parse_rate(bench, calm, args.passes)
            flood = await flood_rate(bench, calm)
            assert not bench.transport.order_ns, "a calm tick placed an order"
            samples, missed, unexpected = await order_path(bench, mixed)
            stopped = bench.execution.stopped_reason
        finally:
            await bench.close()
    floor = await bare_floor(mixed)
    triggers = sum(f.triggers for f in mixed)
    if not samples["recv_order"] or missed:
        raise MeasuredNothing(
            f"part 2: {triggers - missed} of {triggers} triggering ticks placed an order "
            f"(stop mode: {stopped or 'no'}); the order path was not measured"
        )
    print(f"disk fsync       4 KiB write + fsync in the temp dir: {percentiles(fsync)}")
    print(
        f"run              {len(symbols)} symbols, average prices {min(avg.values()):,}..{max(avg.values()):,} "
        f"KRW; SQLite migrated in a temp dir; {time.perf_counter() - started:.1f} s"
    )
    print(f"\n1. parse + evaluate on one core, in process: {len(calm):,} ticks x {args.passes} passes, no order")
    print(f"   split + H0STCNT0 parse + SessionRunner.on_tick         {rate:10,.0f} ticks/s")
    print(f"   same frames flooded over the simulator's WebSocket     {flood:10,.0f} ticks/s (sender on the same core)")
    print(
        f"\n2. frame -> order request: KisExchangeSimulator + KisBroker + SessionRunner/Execution on SQLite, "
        f"{len(mixed):,} frames, {triggers:,} triggering"
    )
    rows = (
        ("recv returned -> order request handed to transport", "recv_order"),
        ("frame sent    -> order request handed to transport", "send_order"),
        ("  recv returned -> on_tick entered (adapter parse)", "recv_tick"),
        ("  on_tick -> place_order (strategy, risk, NEW commit)", "tick_place"),
        ("  place_order -> request handed to transport", "place_order"),
        ("frame sent    -> recv returned (every frame)", "send_recv"),
        ("out of path: order request -> answer headers", "order_answer"),
    )
    for label, key in rows:
        print(f"   {label:53} {percentiles(samples[key])}")
    print(
        f"   triggering ticks without an order: {missed}; orders from calm ticks: {unexpected}; "
        f"stop mode: {stopped or 'no'}"
    )
    print(f"\n3. floor: bare websockets server -> client on loopback, the same {len(mixed):,} frames one at a time")
    print(f"   {'frame sent    -> recv returned':53} {percentiles(floor)}")
    print(f"\n{machine_facts()[1]} (after)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticks", type=int, default=10_000, help="triggering ticks in part 2; ticks per pass in part 1"
    )
    parser.add_argument("--symbols", type=int, default=40, help="at most 40 (41 registrations, notices take one)")
    parser.add_argument("--trigger-fraction", type=float, default=0.25, help="share of part 2's frames that trigger")
    parser.add_argument("--passes", type=int, default=5, help="passes over the frames in part 1")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-level", default="CRITICAL", help="daemon log level (lines go to stderr)")
    parser.add_argument("--cpu", type=int, help="pin the process to this CPU first (Linux only)")
    args = parser.parse_args()
    if not 0 < args.trigger_fraction <= 1 or not 1 <= args.symbols <= 40 or args.ticks < 1:
        parser.error("--trigger-fraction must be in (0, 1], --symbols in 1..40, --ticks positive")
    if args.cpu is not None:
        if not hasattr(os, "sched_setaffinity"):
            parser.error("--cpu needs os.sched_setaffinity (Linux)")
        os.sched_setaffinity(0, {args.cpu})
    try:
        if sys.platform == "win32":
            asyncio.run(main(args), loop_factory=asyncio.SelectorEventLoop)
        else:
            asyncio.run(main(args))
    except MeasuredNothing as e:
        sys.exit(f"tick_to_order: measured nothing: {e}")
