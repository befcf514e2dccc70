"""Startup recovery on a real database: gather the plan, apply it through `Execution` (spec 001 §10)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity
from stock_manager.adapters.storage.tables import recovery_logs
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan
from tests.fakes import Crash, FakeBroker, RecordingNotifier, SimulatedCrash, as_recorded, krx_venue
from tests.integration.test_execution import ACCOUNT, DAY, HOURS, LIMITS, T0, open_market

# -- BUILDERS -------------------------------------------------------------------------------------------


def make_signal(symbol: str = "005930", quantity: int = 10, limit_price: str = "72100") -> Signal:
    return Signal(
        strategy_id="ma_cross",
        symbol=symbol,
        side=Side.BUY,
        intent=Intent.ENTRY,
        order_type=OrderType.LIMIT,
        reference_price=Decimal(limit_price),
        ts_signal=T0,
        reason="MA50 crossed above MA200",
        quantity=Decimal(quantity),
        limit_price=Decimal(limit_price),
    )


async def start_daemon(
    uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, notifier: RecordingNotifier
) -> Execution:
    """Build an `Execution` with its state loaded from the database, as the market-open sequence does."""
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, LIMITS),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=notifier,
        venue=krx_venue(),
    )
    async with uow_factory() as uow:
        fills = [s.fill for s in await uow.fills.list_for_account(ACCOUNT)]
        open_orders = await uow.orders.list_open(ACCOUNT)
    execution.load(positions_from_fills(ACCOUNT, fills), open_orders)
    execution.begin_session(DAY, Decimal(0), session=HOURS)
    open_market(execution)
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


async def recover(
    execution: Execution,
    uow_factory: SqlUnitOfWorkFactory,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
) -> None:
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())
    await apply_plan(plan, execution, uow_factory, notifier, clock, mode="sim")


async def crash_during_send(
    uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, *, placed: bool
) -> None:
    """Run a daemon that dies inside the broker call, after its NEW row was committed."""
    daemon = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    broker.script_place(Crash(placed=placed))
    with pytest.raises(SimulatedCrash):
        await daemon.submit(make_signal())
    broker.order_event_handler = None  # the dead process hears nothing more


async def orders_in_db(uow_factory: SqlUnitOfWorkFactory) -> list[Order]:
    async with uow_factory() as uow:
        return await uow.orders.list_for_date(ACCOUNT, DAY)


async def events_in_db(uow_factory: SqlUnitOfWorkFactory, kind: str) -> list[EventRecord]:
    async with uow_factory() as uow:
        return await uow.events.list_kind(kind, ACCOUNT)


async def recovery_log_rows(db_engine: AsyncEngine) -> list[dict[str, Any]]:
    async with db_engine.connect() as connection:
        rows = await connection.execute(select(recovery_logs).order_by(recovery_logs.c.id))
        return [dict(row._mapping) for row in rows]


# -- FIXTURES -------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def broker(clock: FixedClock) -> FakeBroker:
    return FakeBroker(clock, ACCOUNT)


# -- SPECIFICATIONS -------------------------------------------------------------------------------------


async def test_restart_when_crashed_after_broker_placed_and_filled_the_order_then_adopts_and_records_fill(
    uow_factory: SqlUnitOfWorkFactory,
    db_engine: AsyncEngine,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange: the NEW row is committed, the broker places the order, the daemon dies; then it fills.
    await crash_during_send(uow_factory, broker, clock, placed=True)
    [number] = broker.orders
    clock.advance(timedelta(seconds=20))
    fill = broker.execute(number, 10, 72100)
    clock.advance(timedelta(minutes=5))
    execution = await start_daemon(uow_factory, broker, clock, notifier)

    # Act
    await recover(execution, uow_factory, broker, clock, notifier)

    # Assert
    [order] = await orders_in_db(uow_factory)
    assert (order.status, order.broker_order_number, order.filled_quantity) == (OrderStatus.FILLED, number, Decimal(10))
    async with uow_factory() as uow:
        [stored] = await uow.fills.list_for_account(ACCOUNT)
        positions = await uow.positions.list_all(ACCOUNT)
    assert (stored.fill, stored.order_id, stored.source) == (as_recorded(fill, ACCOUNT, 10), order.id, "recovery")
    assert [(p.symbol, p.quantity) for p in positions] == [("005930", Decimal(10))]
    assert execution.positions["005930"].quantity == Decimal(10)
    assert execution.open_orders == {}
    assert len(broker.place_calls) == 1 and broker.cancel_calls == []  # the one call made before the crash
    [log] = await recovery_log_rows(db_engine)
    assert (log["account_id"], log["mode"], log["dry_run"], log["outcome"]) == (ACCOUNT, "sim", False, "CORRECTED")
    assert [a["kind"] for a in log["summary"]["actions"]] == ["adopt", "fill"]
    [event] = await events_in_db(uow_factory, "recovery")
    assert event.severity == "INFO"
    assert len(await events_in_db(uow_factory, "recovery_adopted")) == 1
    assert execution.stopped_reason is None


async def test_restart_when_crashed_before_broker_received_the_order_then_canceled_as_not_placed(
    uow_factory: SqlUnitOfWorkFactory,
    db_engine: AsyncEngine,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange
    await crash_during_send(uow_factory, broker, clock, placed=False)
    clock.advance(timedelta(minutes=5))
    execution = await start_daemon(uow_factory, broker, clock, notifier)

    # Act
    await recover(execution, uow_factory, broker, clock, notifier)

    # Assert
    [order] = await orders_in_db(uow_factory)
    assert order.status is OrderStatus.CANCELED
    assert order.status_reason.startswith("not placed")
    assert len(broker.place_calls) == 1
    assert [log["outcome"] for log in await recovery_log_rows(db_engine)] == ["CORRECTED"]


async def test_restart_when_database_and_broker_agree_then_clean_log_and_trading_goes_on(
    uow_factory: SqlUnitOfWorkFactory,
    db_engine: AsyncEngine,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange: one order sent and filled while the daemon ran.
    first = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    await first.submit(make_signal())
    [number] = broker.orders
    await broker.fill(number, 10, 72100)
    execution = await start_daemon(uow_factory, broker, clock, notifier)

    # Act
    await recover(execution, uow_factory, broker, clock, notifier)

    # Assert
    [log] = await recovery_log_rows(db_engine)
    assert log["outcome"] == "CLEAN" and log["summary"]["clean"] is True
    assert len(await events_in_db(uow_factory, "recovery")) == 1
    assert execution.stopped_reason is None
    assert len(broker.place_calls) == 1


async def test_restart_when_position_differs_from_broker_holding_then_stop_mode(
    uow_factory: SqlUnitOfWorkFactory,
    db_engine: AsyncEngine,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange: our fills say 10 shares; the broker holds 7 (3 sold by hand, no order we can see).
    first = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    await first.submit(make_signal())
    [number] = broker.orders
    await broker.fill(number, 10, 72100)
    broker.set_position("005930", 7, 72100)
    execution = await start_daemon(uow_factory, broker, clock, notifier)

    # Act
    await recover(execution, uow_factory, broker, clock, notifier)
    later = await execution.submit(make_signal("000660", 1, "150000"))

    # Assert
    assert execution.stopped_reason is not None
    assert "005930: 10" in execution.stopped_reason and "7 at the broker" in execution.stopped_reason
    assert len(await events_in_db(uow_factory, "stop_mode")) == 1
    [log] = await recovery_log_rows(db_engine)
    assert log["outcome"] == "FAILED"
    [difference] = log["summary"]["position_differences"]
    assert difference["symbol"] == "005930"
    assert (Decimal(difference["ours"]), Decimal(difference["broker"])) == (Decimal(10), Decimal(7))
    [event] = await events_in_db(uow_factory, "recovery")
    assert event.severity == "ERROR"
    assert later is None and len(broker.place_calls) == 1


async def test_restart_when_order_was_placed_by_hand_then_external_events_and_fill_without_order(
    uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, notifier: RecordingNotifier
):
    # Arrange: 3 × 000660 bought in the broker's app while the daemon was down.
    by_hand = broker.add_order("000660", Side.BUY, Decimal(3), Decimal(150_000), number="0000099001")
    fill = broker.execute(by_hand.broker_order_number, 3, 150_000)
    execution = await start_daemon(uow_factory, broker, clock, notifier)

    # Act
    await recover(execution, uow_factory, broker, clock, notifier)

    # Assert
    assert await orders_in_db(uow_factory) == []
    async with uow_factory() as uow:
        [stored] = await uow.fills.list_for_account(ACCOUNT)
    assert (stored.fill, stored.order_id) == (as_recorded(fill, ACCOUNT, 3), None)
    assert len(await events_in_db(uow_factory, "external_order")) == 1
    assert len(await events_in_db(uow_factory, "external_fill")) == 1
    assert execution.positions["000660"].quantity == Decimal(3)
    assert execution.stopped_reason is None
