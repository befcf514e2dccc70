"""Money exact to the won after a crash: an order filled in many small parts while the daemon was down is rebuilt
from the broker's order totals (``inquire-daily-ccld`` ``tot_ccld_qty`` / ``tot_ccld_amt``, TTTC0081R), whose
``avg_prvs`` is an integer (as the venue's sample shows), and its recorded amount equals ``tot_ccld_amt`` to the
won; the position's cost basis equals the broker's purchase amount (``inquire-balance`` ``pchs_amt``).

Real sockets (the KIS adapter against the KIS-compatible simulator), a real database (SQLite and PostgreSQL),
the daemon's own recovery (`gather_plan` + `apply_plan`)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from stock_manager.adapters.broker.kis import KisBroker
from stock_manager.adapters.broker.kis.requests import BALANCE_PATH, DAILY_CCLD_PATH, balance_params, daily_ccld_params
from stock_manager.adapters.broker.kis_sim import KisExchangeSimulator
from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import BrokerOrderEvent, FillReport, OrderEventHandler
from stock_manager.service_layer.position_history import load_position_history
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan
from tests.fakes import RecordingNotifier, krx_venue
from tests.integration.test_execution import LIMITS
from tests.kis.sim_support import ACCOUNT, SAMSUNG, SharedWall, make_adapter

DAY = date(2023, 12, 20)
#: A tiny share of each print's volume: an order of a few dozen shares fills in many small parts.
PARTICIPATION = Decimal("0.00001")


class Killed:
    """The daemon's notice handler until it is killed: the first `lives` fill notices get through, then nothing."""

    def __init__(self, target: OrderEventHandler, lives: int) -> None:
        self._target = target
        self.lives = lives

    async def __call__(self, event: BrokerOrderEvent) -> None:
        if self.lives <= 0:
            return
        if isinstance(event, FillReport):
            self.lives -= 1
        await self._target(event)


class Exchange:
    """The replay, the KIS-compatible simulator in front of it, and the wall clock they share."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.wall = SharedWall()
        self.venue = SimBroker(
            symbols=[SAMSUNG],
            start_date=DAY,
            end_date=DAY,
            participation_rate=PARTICIPATION,
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path / "venue",
        )
        self.sim = KisExchangeSimulator(
            self.venue, mode="paper", wall_clock=self.wall, rate_limit_per_sec=None, pingpong_interval_secs=None
        )
        self.frames = HandledFrames()

    def adapter(self) -> KisBroker:
        return make_adapter(self.sim, self.venue, self.wall, self.tmp / "tokens", self.frames)

    def execution(self, uow_factory: SqlUnitOfWorkFactory, broker: KisBroker) -> Execution:
        return Execution(
            config=ExecutionConfig(ACCOUNT, Mode.PAPER, LIMITS),
            uow_factory=uow_factory,
            broker=broker,
            clock=self.venue.clock,
            notifier=RecordingNotifier(),
            venue=krx_venue(),
        )


@asynccontextmanager
async def exchange(tmp_path: Path) -> AsyncIterator[Exchange]:
    ex = Exchange(tmp_path)
    await ex.sim.start()
    try:
        yield ex
    finally:
        await ex.sim.stop()
        await ex.venue.close()


def buy(quantity: int, limit_krw: int, session: TradingSession, n: int) -> Signal:
    return Signal(
        strategy_id=("ma_cross", "volatility_breakout")[n],
        symbol=SAMSUNG,
        side=Side.BUY,
        intent=Intent.ENTRY,
        order_type=OrderType.LIMIT,
        reference_price=Decimal(limit_krw),
        ts_signal=session.ts_open.replace(second=n),
        reason=f"exact amounts, order {n}",
        quantity=Decimal(quantity),
        limit_price=Decimal(limit_krw),
    )


async def broker_totals(kis: KisBroker) -> tuple[dict[str, tuple[Decimal, Decimal, str]], Decimal]:
    """Return per order (tot_ccld_qty, tot_ccld_amt, avg_prvs) and the holding's pchs_amt, as the wire says."""
    config = kis.config
    pages = await kis.rest.read_pages(DAILY_CCLD_PATH, config.tr("TTTC0081R"), daily_ccld_params(config, DAY))
    orders = {
        normalize_order_number(row["odno"]): (
            Decimal(row["tot_ccld_qty"]),
            Decimal(row["tot_ccld_amt"]),
            row["avg_prvs"],
        )
        for page in pages
        for row in page.body["output1"]
        if not row["orgn_odno"]
    }
    balance = await kis.rest.read_pages(BALANCE_PATH, config.tr("TTTC8434R"), balance_params(config))
    purchase = sum(
        (Decimal(row["pchs_amt"]) for page in balance for row in page.body["output1"] if row["pdno"] == SAMSUNG),
        Decimal(0),
    )
    return orders, purchase


async def test_recovery_when_many_small_fills_were_missed_then_amounts_and_cost_basis_equal_the_brokers_to_the_won(
    tmp_path: Path, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: two limit buys well above the market (two strategies: one live order per strategy and symbol);
    # the daemon hears three fill notices, then is killed while both orders go on filling in small parts at
    # several prices until the close.
    async with exchange(tmp_path) as ex:
        session = await anext(aiter(ex.venue.sessions()))
        first = ex.adapter()
        await first.login()
        daemon = ex.execution(uow_factory, first)
        daemon.load({}, [])
        daemon.begin_session(DAY, Decimal(50_000_000), session=session)
        daemon.note_quote(SAMSUNG, Decimal(75_000), session.ts_open, Decimal(1), Decimal(10_000_000))
        killed = Killed(daemon.on_broker_event, lives=3)
        await first.subscribe_order_events(killed)
        orders = [await daemon.submit(buy(quantity, 80_000, session, n)) for n, quantity in enumerate((47, 29))]
        assert all(o is not None and o.broker_order_number for o in orders), (orders, daemon.stopped_reason)
        await ex.venue.run_until_close(session)
        await asyncio.wait_for(ex.frames.wait_for(ex.sim.data_frames_sent), 20)
        await first.close()

        # Act: the restarted daemon's recovery, from the broker's totals.
        second = ex.adapter()
        await second.login()
        restarted = ex.execution(uow_factory, second)
        async with uow_factory() as uow:
            history = await load_position_history(uow, ACCOUNT, DAY)
            open_orders = await uow.orders.list_open(ACCOUNT)
        restarted.load(history.positions(), open_orders)
        restarted.begin_session(DAY, Decimal(50_000_000), session=session)
        inputs = RecoveryInputs(ACCOUNT, DAY)
        plan = await gather_plan(uow_factory, second, inputs, krx_venue().fill_identity, history)
        await apply_plan(plan, restarted, uow_factory, RecordingNotifier(), ex.venue.clock, mode=Mode.PAPER)
        totals, purchase = await broker_totals(second)
        executions = ex.venue.book.fills()
        await second.close()

    # Assert: the case is the one meant (many small fills, integer avg_prvs, non-integer averages, notices heard
    # for part of them only) ...
    assert killed.lives == 0
    assert len(executions) >= 10
    assert all(qty > 0 for qty, _, _ in totals.values())
    assert any(amount % qty != 0 for qty, amount, _ in totals.values()), totals
    assert all(avg.isdigit() for _, _, avg in totals.values())
    # ... every order's recorded amount is tot_ccld_amt, to the won (exactly), and its state the broker's ...
    async with uow_factory() as uow:
        stored = await uow.fills.list_for_account(ACCOUNT)
        recorded_orders = await uow.orders.list_for_date(ACCOUNT, DAY)
        positions = await uow.positions.list_all(ACCOUNT)
    sources = {s.source for s in stored}
    assert sources == {"notice", "recovery"}
    for order in recorded_orders:
        number = normalize_order_number(order.broker_order_number or "")
        fills = [s.fill for s in stored if normalize_order_number(s.fill.broker_order_number) == number]
        qty, amount, _ = totals[number]
        assert sum((f.quantity for f in fills), Decimal(0)) == qty == order.filled_quantity
        assert sum((f.notional_krw for f in fills), Decimal(0)) == amount == order.filled_amount_krw
        assert order.status in (OrderStatus.FILLED, OrderStatus.PARTIAL, OrderStatus.CANCELED)
    # ... and the position's cost basis is the broker's purchase amount, to the won, in the positions table and
    # folded again from the stored fills (what a restart does).
    (position,) = [p for p in positions if p.symbol == SAMSUNG]
    folded = positions_from_fills(ACCOUNT, [s.fill for s in stored])[SAMSUNG]
    total_amount = sum((amount for _, amount, _ in totals.values()), Decimal(0))
    for held in (position, folded):
        assert held.quantity == sum((qty for qty, _, _ in totals.values()), Decimal(0))
        assert (held.quantity * held.avg_price).quantize(Decimal(1), ROUND_HALF_EVEN) == purchase == total_amount
