"""An order that works across trading days (a GTC order at a venue whose order numbers never repeat, as
Upbit's uuids) fills on later days than its own: each fill is dated on its own day, still belongs to the order
(never an external fill), and a restart recovers a fill it missed on a later day exactly once."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.sessions import continuous_session
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import CashBalance, Quote
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_venue_neutral_core import ACCOUNT, COIN, LIMITS, coin_venue

D1, D2, D3 = date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)
PRICE = Decimal(88_712_000)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class UuidVenueBroker(FakeBroker):
    """The fake broker with a uuid venue's day reports: a day's orders are those created that day, and its
    executions are every trade of those orders, whatever day it traded (as the Upbit adapter reports them)."""

    def next_number(self) -> str:
        return f"9d3c{super().next_number()}-uuid"

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        created = {n for n, r in self.orders.items() if r.trading_date == trading_date}
        return [f for f in self.fills if f.broker_order_number in created]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(D1, 3))


@pytest.fixture
def broker(clock: FixedClock) -> UuidVenueBroker:
    fake = UuidVenueBroker(clock, ACCOUNT)
    fake.cash = CashBalance(ACCOUNT, Decimal(10_000_000), Decimal(10_000_000))
    fake.quotes[COIN] = Quote(COIN, PRICE, PRICE, None, None, at(D1, 3))
    return fake


async def start(uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, day: date) -> Execution:
    """An `Execution` loaded from the database and open for `day`, as the daemon's open does."""
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, LIMITS),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        venue=coin_venue(),
    )
    async with uow_factory() as uow:
        fills = [s.fill for s in await uow.fills.list_for_account(ACCOUNT)]
        open_orders = await uow.orders.list_open(ACCOUNT)
    execution.load(positions_from_fills(ACCOUNT, fills), open_orders)
    execution.begin_session(
        day, Decimal(10_000_000), session=continuous_session(day, at(day, 0), at(day, 0) + timedelta(days=1))
    )
    execution.note_quote(COIN, PRICE, clock.now())
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


async def test_gtc_order_when_it_fills_on_later_days_then_each_fill_is_its_own_and_recovery_adds_only_the_missed(
    uow_factory: SqlUnitOfWorkFactory, broker: UuidVenueBroker, clock: FixedClock
):
    # Day 1: a GTC buy of 0.03 is placed and a third of it fills (notice).
    execution = await start(uow_factory, broker, clock, D1)
    order = await execution.submit(
        Signal(
            strategy_id="turtle",
            symbol=COIN,
            side=Side.BUY,
            intent=Intent.ENTRY,
            order_type=OrderType.LIMIT,
            reference_price=PRICE,
            ts_signal=at(D1, 3),
            reason="breakout",
            quantity=Decimal("0.03"),
            limit_price=PRICE,
        )
    )
    assert order is not None and order.broker_order_number is not None
    number = order.broker_order_number
    await broker.fill(number, Decimal("0.01"), PRICE, fill_id="trade-1")

    # Day 2 (a new session of the same process): another third fills; its notice is dated on day 2.
    clock.set(at(D2, 5))
    execution.begin_session(D2, Decimal(10_000_000), session=continuous_session(D2, at(D2, 0), at(D3, 0)))
    second = await broker.fill(number, Decimal("0.01"), PRICE, fill_id="trade-2")
    assert second.trading_date == D2

    # Day 2, later: the last third fills while the daemon is down (no notice); it restarts on day 3.
    clock.set(at(D2, 14))
    broker.execute(number, Decimal("0.01"), PRICE, fill_id="trade-3")
    broker.order_event_handler = None
    clock.set(at(D3, 1))
    restarted = await start(uow_factory, broker, clock, D3)
    plan = await gather_plan(
        uow_factory, broker, RecoveryInputs(ACCOUNT, D3, order_numbers_restart_daily=False), coin_venue().fill_identity
    )
    await apply_plan(plan, restarted, uow_factory, RecordingNotifier(), clock, mode=Mode.SIM)
    again = await gather_plan(
        uow_factory, broker, RecoveryInputs(ACCOUNT, D3, order_numbers_restart_daily=False), coin_venue().fill_identity
    )

    # Each execution is recorded once, as the order's, on the day it traded; the order is FILLED; positions
    # equal the venue's; nothing is labelled external and a second look finds nothing to do.
    assert [(a.kind, a.fill.broker_fill_id if a.fill else None) for a in plan.actions] == [("fill", "trade-3")]
    assert again.is_clean
    async with uow_factory() as uow:
        fills = await uow.fills.list_for_account(ACCOUNT)
        stored = await uow.orders.get(order.id)
        external = await uow.events.recent(100)
    assert [(s.fill.broker_fill_id, s.fill.trading_date, s.order_id) for s in fills] == [
        ("trade-1", D1, order.id),
        ("trade-2", D2, order.id),
        ("trade-3", D2, order.id),
    ]
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.filled_quantity == Decimal("0.03") and stored.trading_date == D1
    assert not [e for e in external if e.kind == "external_fill"]
    assert restarted.state.positions[COIN].quantity == broker.positions[COIN].quantity == Decimal("0.03")
