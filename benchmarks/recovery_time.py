"""Recovery time: a daemon's restart to a reconciled state on PostgreSQL, with a long history.

A fresh database (the project's migrations, its own name, dropped at the end) is seeded with ``--orders``
historical orders (default 100,000) over many past sessions, about 200 a session, with their fills
(1-3 executions each; some orders cancelled after a partial fill or none, some rejected), every position
consistent (nothing sold that was not held), the positions table as the daemon leaves it, one daily
settlement per session with the summary the close writes (every order of the day), and the position
checkpoint the last close wrote (revision 0003; ``--no-checkpoint`` leaves it out, as in a database from
before, whose first start folds every fill). Today holds 30 orders already done and ``--open`` working orders
(default 50), some partly filled, when the daemon "died". The history is built by `recovery_seed.py`.

The broker is an in-process implementation of the `Broker` port holding today's orders as the exchange saw
them while the daemon was down: 15 of the open ones filled (fills our database lacks), 10 cancelled (4 of
them after a partial fill we missed), the rest still working (8 with a partial fill we missed). Its
holdings are what every execution adds up to, so a correct recovery leaves no position difference.
``--broker-latency-ms`` adds a delay to each broker read (a REST round trip; 0 by default).

Timed: `SessionRunner.restore`, the step of the market-open sequence that loads positions and open orders,
begins the session, gathers the recovery plan (database and broker reads, planning) and applies it
(missed fills recorded, cancels applied, a ``recovery_logs`` row): the daemon's own code path, called as
`SessionRunner.open` calls it, on a warm connection pool. Each run uses a fresh copy of the seeded
database (``CREATE DATABASE ... TEMPLATE``) so every run resolves the same differences. The breakdown is
measured by wrapping, not copying, the code: database reads (units of work outside the apply step,
including turning rows into objects), broker reads, planning (`plan_recovery`), applying (`apply_plan`),
and the rest (positions rebuilt in memory, loading).

    uv run python benchmarks/recovery_time.py
    uv run python benchmarks/recovery_time.py --orders 100000 --open 50 --runs 5 --broker-latency-ms 30
    uv run python benchmarks/recovery_time.py --server postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date
from datetime import time as clock_time
from decimal import Decimal
from typing import Any
from unittest import mock

from _measured import require
from recovery_seed import ACCOUNT, RESTART, SYMBOLS, TODAY, Seed, admin, build_seed, write_seed
from sqlalchemy import URL, make_url, select

from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head_sync
from stock_manager.adapters.storage.tables import recovery_logs
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.adapters.venues.krx.profile import krx_profile
from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar
from stock_manager.domain.modes import Mode
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.localtime import kst_date, kst_datetime
from stock_manager.service_layer import recovery as recovery_module
from stock_manager.service_layer import trading_day as session_module
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    BrokerOrderReport,
    BrokerPosition,
    CashBalance,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIMITS = RiskLimits(
    max_open_positions=40,
    max_quantity_per_symbol=Decimal(1_000_000),
    daily_loss_limit_pct=Decimal(50),
    max_value_per_symbol_krw=None,
    max_symbol_weight_pct=None,
    max_order_value_krw=None,
    price_collar_pct=None,
    max_quote_age_secs=None,
    max_orders_per_minute=None,
    cooldown_after_failures=None,
)


# -- THE BROKER -------------------------------------------------------------------------------------------


class BenchBroker:
    """The `Broker` port in process: today's orders and executions as the exchange holds them, read only.

    Parameters
    ----------
    seed : Seed
        Today's orders (their reports), every execution (the holdings) and today's executions (the fills).
    latency_secs : float
        Delay of each read, standing for a REST round trip.
    """

    def __init__(self, seed: Seed, latency_secs: float) -> None:
        self._latency = latency_secs
        self._orders = [o.report() for o in seed.today]
        self._fills = [
            replace(f, broker_fill_id=f"exch:{f.broker_order_number}:{i}")  # the exchange's own ids
            for i, f in enumerate(f for o in seed.today for f in (*o.recorded, *o.unrecorded))
        ]
        held = positions_from_fills(ACCOUNT, seed.all_fills())
        self._positions = [BrokerPosition(s, p.quantity, p.avg_price) for s, p in sorted(held.items()) if not p.is_flat]
        self.reads = 0

    async def _read(self) -> None:
        self.reads += 1
        if self._latency:
            await asyncio.sleep(self._latency)

    async def login(self) -> None:
        """Nothing to do."""

    async def issue_access_token(self) -> None:
        """Nothing to do."""

    async def issue_approval_key(self) -> None:
        """Nothing to do."""

    async def get_accounts(self) -> list[AccountRef]:
        """Return the one account."""
        return [AccountRef(ACCOUNT)]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return a fixed deposit."""
        await self._read()
        return CashBalance(account_id, Decimal(100_000_000), Decimal(100_000_000))

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return the holdings every execution adds up to."""
        await self._read()
        return list(self._positions)

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` (only today's are held)."""
        await self._read()
        return [r for r in self._orders if kst_date(r.ts_accepted) == trading_date]

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return the executions of `trading_date`, one by one, with the exchange's ids."""
        await self._read()
        return [f for f in self._fills if kst_date(f.ts_filled) == trading_date]

    async def get_price(self, symbol: str) -> Quote:
        """Not needed by the restore step."""
        raise NotImplementedError("the restore step reads no price")

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Not needed by the restore step."""
        raise NotImplementedError("the restore step reads no bars")

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Refuse: recovery never places an order."""
        raise OrderRejectedByBroker("the benchmark broker takes no order")

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        """Refuse: recovery never cancels."""
        raise OrderRejectedByBroker("the benchmark broker takes no cancel")

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Nothing to deliver."""

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Nothing to deliver."""

    async def close(self) -> None:
        """Nothing to release."""


# -- TIMING -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Phases:
    """Seconds spent per phase in one run."""

    db: float = 0.0
    broker: float = 0.0
    planning: float = 0.0
    applying: float = 0.0
    applying_now: bool = False


class TimedBroker:
    """Forwards to a broker, adding each call's duration to `phases.broker`."""

    def __init__(self, inner: BenchBroker, phases: Phases) -> None:
        self._inner = inner
        self._phases = phases

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not name.startswith("get_"):
            return attribute

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attribute(*args, **kwargs)
            finally:
                self._phases.broker += time.perf_counter() - started

        return timed


class TimedUnitOfWorkFactory:
    """Forwards to a unit-of-work factory; time inside a unit of work outside the apply step is DB reads."""

    def __init__(self, inner: SqlUnitOfWorkFactory, phases: Phases) -> None:
        self._inner = inner
        self._phases = phases

    @contextlib.asynccontextmanager
    async def _timed(self) -> Any:
        started = time.perf_counter()
        try:
            async with self._inner() as uow:
                yield uow
        finally:
            if not self._phases.applying_now:
                self._phases.db += time.perf_counter() - started

    def __call__(self) -> Any:
        return self._timed()


def timed_calls(phases: Phases) -> contextlib.ExitStack:
    """Wrap `plan_recovery` (planning) and the `apply_plan` the session calls (applying) for one run."""
    stack = contextlib.ExitStack()
    plan, apply = recovery_module.plan_recovery, session_module.apply_plan

    def timed_plan(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return plan(*args, **kwargs)
        finally:
            phases.planning += time.perf_counter() - started

    async def timed_apply(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        phases.applying_now = True
        try:
            return await apply(*args, **kwargs)
        finally:
            phases.applying_now = False
            phases.applying += time.perf_counter() - started

    stack.enter_context(mock.patch.object(recovery_module, "plan_recovery", timed_plan))
    stack.enter_context(mock.patch.object(session_module, "apply_plan", timed_apply))
    return stack


@dataclass(slots=True)
class RunResult:
    """One run: total seconds, the phases, and what the restore left."""

    total: float
    phases: Phases
    outcome: str
    stopped: str | None
    open_orders: int
    fills_added: int
    positions_match: bool


async def one_run(url: URL, seed: Seed, latency_secs: float) -> RunResult:
    """Restore and reconcile once on the database at `url` (a fresh copy of the seed) and check the result."""
    engine = create_engine(url)
    try:
        inner = SqlUnitOfWorkFactory(engine, mode="live")
        async with inner() as uow:  # a warm pool: the daemon has written its state before the open
            fills_before = len(await uow.fills.list_for_date(ACCOUNT, TODAY))
        phases = Phases()
        broker = BenchBroker(seed, latency_secs)
        timed_broker = TimedBroker(broker, phases)
        uow_factory = TimedUnitOfWorkFactory(inner, phases)
        clock = FixedClock(RESTART)
        venue = krx_profile([krx_instrument(s, kind) for s, (_, kind) in SYMBOLS.items()])
        execution = Execution(
            config=ExecutionConfig(ACCOUNT, Mode.LIVE, LIMITS),
            uow_factory=uow_factory,
            broker=timed_broker,
            clock=clock,
            notifier=NullNotifier(),
            venue=venue,
        )
        runner = SessionRunner(
            execution=execution,
            uow_factory=uow_factory,
            broker=timed_broker,
            clock=clock,
            notifier=NullNotifier(),
            mode=Mode.LIVE,
            venue=venue,
            strategies=StrategyBook((MA_CROSS,)),
        )
        session = krx_session(TODAY, kst_datetime(TODAY, clock_time(9, 0)), kst_datetime(TODAY, clock_time(15, 30)))
        with timed_calls(phases):
            started = time.perf_counter()
            await runner.restore(session)
            total = time.perf_counter() - started
        async with inner() as uow:
            fills_after = len(await uow.fills.list_for_date(ACCOUNT, TODAY))
        async with engine.connect() as connection:
            logs = (await connection.execute(select(recovery_logs.c.outcome).order_by(recovery_logs.c.id))).all()
        held = {p.symbol: p.quantity for p in await broker.get_positions(ACCOUNT)}
        ours = {s: p.quantity for s, p in execution.positions.items() if not p.is_flat}
        return RunResult(
            total,
            phases,
            logs[-1][0] if logs else "?",
            execution.stopped_reason,
            len(execution.open_orders),
            fills_after - fills_before,
            held == ours,
        )
    finally:
        await engine.dispose()


def median(values: list[float]) -> float:
    """Return the median."""
    return statistics.median(values)


async def main(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)  # the daemon's log lines, to stderr (CRITICAL: none)
    server = make_url(args.server).set(drivername="postgresql+psycopg")
    base = f"stockbot_bench_recovery_{uuid.uuid4().hex[:10]}"
    started = time.perf_counter()
    seed = build_seed(args.orders, args.open, args.seed)
    built = time.perf_counter() - started
    admin(server, f'CREATE DATABASE "{base}"')
    created: list[str] = [base]
    try:
        base_url = server.set(database=base)
        upgrade_to_head_sync(base_url.render_as_string(hide_password=False))
        started = time.perf_counter()
        counts = write_seed(base_url, seed, checkpoint=not args.no_checkpoint)
        written = time.perf_counter() - started
        missed = sum(len(o.unrecorded) for o in seed.open_orders)
        print(f"PostgreSQL {server.render_as_string(hide_password=True)}, database {base}")
        print(
            f"seeded {counts['orders']:,} orders ({counts['orders'] - len(seed.today):,} over "
            f"{counts['settlements']} past sessions + {len(seed.today)} today, {len(seed.open_orders)} open), "
            f"{counts['fills']:,} fills, {counts['settlements']} settlements "
            f"(built {built:.1f} s, written {written:.1f} s)"
        )
        by_state: dict[str, int] = {}
        for order in seed.open_orders:
            by_state[order.broker_state.value] = by_state.get(order.broker_state.value, 0) + 1
        print(
            f"broker: open orders now {by_state}; {missed} executions our database lacks; "
            f"read latency {args.broker_latency_ms} ms"
        )
        results: list[RunResult] = []
        for run in range(args.runs):
            copy = f"{base}_run{run}"
            admin(server, f'CREATE DATABASE "{copy}" TEMPLATE "{base}"')
            created.append(copy)
            result = await one_run(server.set(database=copy), seed, args.broker_latency_ms / 1000)
            admin(server, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
            created.remove(copy)
            results.append(result)
            p = result.phases
            other = result.total - p.db - p.broker - p.planning - p.applying
            print(
                f"  run {run + 1}: {result.total * 1000:8.1f} ms  (db {p.db * 1000:.1f}, broker "
                f"{p.broker * 1000:.1f}, planning {p.planning * 1000:.1f}, applying {p.applying * 1000:.1f}, "
                f"other {other * 1000:.1f})  outcome {result.outcome}, {result.fills_added} fills recorded, "
                f"{result.open_orders} orders still open, positions = broker: {result.positions_match}"
                f"{'' if result.stopped is None else ', STOPPED: ' + result.stopped}"
            )
        require(results, "no restart was timed (--runs 0?)")
        total = median([r.total for r in results])
        db = median([r.phases.db for r in results])
        broker = median([r.phases.broker for r in results])
        planning = median([r.phases.planning for r in results])
        applying = median([r.phases.applying for r in results])
        print(
            f"\nrestart to reconciled (SessionRunner.restore), median of {len(results)}: {total * 1000:.0f} ms "
            f"(target < 2000 ms)"
        )
        print(f"  DB reads        {db * 1000:8.1f} ms")
        print(f"  broker reads    {broker * 1000:8.1f} ms")
        print(f"  planning        {planning * 1000:8.1f} ms")
        print(f"  applying        {applying * 1000:8.1f} ms")
        other = median(
            [r.total - r.phases.db - r.phases.broker - r.phases.planning - r.phases.applying for r in results]
        )
        print(f"  other (memory)  {other * 1000:8.1f} ms")
        ok = all(r.stopped is None and r.positions_match and r.outcome == "CORRECTED" for r in results)
        if not ok:
            print("the restore did not reach a clean reconciled state", file=sys.stderr)
        return 0 if ok else 1
    finally:
        for name in created:
            admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help="PostgreSQL server (its database is only used to create and drop the benchmark's own)",
    )
    parser.add_argument("--orders", type=int, default=100_000, help="historical orders")
    parser.add_argument("--open", type=int, default=50, help="open orders today (at least 33)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250613)
    parser.add_argument("--broker-latency-ms", type=float, default=0.0, help="delay of each broker read")
    parser.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="seed no position checkpoint (a database before its first close on revision 0003)",
    )
    parser.add_argument("--log-level", default="CRITICAL", help="the daemon's log lines on stderr (INFO: all)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
