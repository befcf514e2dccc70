"""Fills seen by WebSocket notice and by REST totals are recorded once; a gap in the notice stream is
filled from the broker's totals; a count above the broker's stops trading (KIS gives no fill id)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.order_status import OrderStatus
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.ports.broker import FillReport, StreamResumed
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_execution import ACCOUNT, T0, make_execution, make_signal, order_in_db, submitted


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def broker(clock: FixedClock) -> FakeBroker:
    return FakeBroker(clock, ACCOUNT, aggregate_fills=True)  # REST shows order totals only, like KIS


@pytest.fixture
async def execution(uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock) -> Execution:
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


async def recorded(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, Decimal, Decimal]]:
    async with uow_factory() as uow:
        fills = await uow.fills.list_for_account(ACCOUNT)
    return [(s.fill.broker_fill_id.rsplit(":", 1)[1], s.fill.quantity, s.fill.price) for s in fills]


async def test_stream_resumed_when_an_execution_happened_during_the_gap_then_recorded_from_rest_totals(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: 4 shares noticed over the socket; 6 more executed while it was down.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    number = order.broker_order_number
    assert number is not None
    await broker.fill(number, 4, 72000)
    clock.advance(timedelta(seconds=5))
    broker.execute(number, 6, 72100)

    # Act
    await broker.deliver(StreamResumed(ACCOUNT, clock.now(), gap_secs=5.0))

    # Assert
    assert await recorded(uow_factory) == [
        ("11774@4", Decimal(4), Decimal(72000)),
        ("11774@10", Decimal(6), Decimal(72100)),
    ]
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.avg_fill_price) == (OrderStatus.FILLED, Decimal(72060))
    assert execution.positions["005930"].quantity == Decimal(10)


async def test_notice_when_it_arrives_after_rest_totals_recorded_the_execution_then_ignored(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: the whole order executed during a gap and was recorded from REST on reconnect.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    late = broker.execute(order.broker_order_number, 10, 72100)
    await broker.deliver(StreamResumed(ACCOUNT, clock.now(), gap_secs=2.0))

    # Act: the execution's own notice arrives late.
    await broker.deliver(FillReport(ACCOUNT, late))

    # Assert
    assert await recorded(uow_factory) == [("11774@10", Decimal(10), Decimal(72100))]
    assert execution.positions["005930"].quantity == Decimal(10)
    assert execution.stopped_reason is None


async def test_periodic_check_when_broker_shows_more_once_then_waits_for_a_second_look_before_recording(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: an execution whose notice may still be on its way.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    broker.execute(order.broker_order_number, 4, 72000)

    # Act
    await execution.reconcile_open_orders("periodic", confirmed=False)
    after_first_look = await recorded(uow_factory)
    await execution.reconcile_open_orders("periodic", confirmed=False)

    # Assert
    assert after_first_look == []
    assert await recorded(uow_factory) == [("11774@4", Decimal(4), Decimal(72000))]


async def test_reconcile_when_we_recorded_more_than_the_broker_executed_then_stop_mode(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: a notice the broker's totals do not show (a broker-side correction, or a bug).
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    phantom = broker.execute(order.broker_order_number, 4, 72000)
    broker.fills.clear()
    broker.orders[order.broker_order_number] = broker.orders[order.broker_order_number].__class__(
        **{
            **{
                f: getattr(broker.orders[order.broker_order_number], f)
                for f in broker.orders[order.broker_order_number].__dataclass_fields__
            },
            "filled_quantity": Decimal(0),
            "avg_fill_price": None,
        }
    )
    await broker.deliver(FillReport(ACCOUNT, phantom))

    # Act
    await execution.reconcile_open_orders("periodic")

    # Assert
    assert execution.stopped_reason is not None and "more recorded as executed" in execution.stopped_reason
