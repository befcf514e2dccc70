"""Fills under the faults the fault-injection harness found mishandled: a notice racing the broker's totals
(an execution already recorded from REST is not counted again when its notice arrives late, while a later
execution is still recorded from its own notice), a notice read after the market clock moved to the next
session, a cancel or expiry notice overtaking fill notices, and a cancel that fails at the close."""

from dataclasses import replace
from datetime import time, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import TemporaryBrokerError
from stock_manager.domain.order_status import OrderStatus
from stock_manager.localtime import kst_date, kst_datetime
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.ports.broker import FillReport, StreamResumed
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_execution import ACCOUNT, DAY, T0, make_execution, make_signal, order_in_db, submitted


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def broker(clock: FixedClock) -> FakeBroker:
    return FakeBroker(clock, ACCOUNT, aggregate_fills=True)  # REST shows order totals only, like KIS


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def execution(
    uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, notifier: RecordingNotifier
) -> Execution:
    execution = make_execution(uow_factory, broker, clock, notifier)
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


async def recorded(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, Decimal, Decimal]]:
    async with uow_factory() as uow:
        fills = await uow.fills.list_for_account(ACCOUNT)
    return [(s.fill.broker_fill_id.rsplit(":", 1)[1], s.fill.quantity, s.fill.price) for s in fills]


async def test_notice_when_in_flight_while_rest_totals_recorded_its_execution_then_counted_once(
    execution: Execution,
    broker: FakeBroker,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange: 4 shares noticed; 3 more executed, their notice still on its way when the stream resumes and
    # the broker's totals are read (the order is not full yet, so "it cannot take more" does not help).
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    number = order.broker_order_number
    assert number is not None
    await broker.fill(number, 4, 72000)
    clock.advance(timedelta(seconds=1))
    in_flight = broker.execute(number, 3, 72050)
    await broker.deliver(StreamResumed(ACCOUNT, clock.now(), gap_secs=1.0))

    # Act: the in-flight notice arrives, then the last execution, a second later, with its own notice.
    await broker.deliver(FillReport(ACCOUNT, in_flight))
    clock.advance(timedelta(seconds=1))
    await broker.fill(number, 3, 72100)

    # Assert: each execution once, at its own price; the order is full and nothing stopped.
    assert await recorded(uow_factory) == [
        ("11774@4", Decimal(4), Decimal(72000)),
        ("11774@7", Decimal(3), Decimal(72050)),
        ("11774@10", Decimal(3), Decimal(72100)),
    ]
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_amount_krw) == (OrderStatus.FILLED, Decimal(4 * 72000 + 3 * 72050 + 3 * 72100))
    assert execution.positions["005930"].quantity == Decimal(10)
    assert execution.stopped_reason is None
    assert "already recorded from the broker's totals" in notifier.of_kind("duplicate_fill_notice")[0].message


async def test_notice_when_executed_after_rest_totals_were_read_then_recorded_although_an_earlier_one_never_came(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: 3 shares executed while the stream was down (their notice is lost for good), recorded from the
    # broker's totals on resume.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    number = order.broker_order_number
    assert number is not None
    broker.execute(number, 3, 72000)
    await broker.deliver(StreamResumed(ACCOUNT, clock.now(), gap_secs=1.0))

    # Act: a later execution of the same size arrives by notice.
    clock.advance(timedelta(seconds=2))
    await broker.fill(number, 3, 72100)

    # Assert: it is a new execution, not the lost one's notice.
    assert await recorded(uow_factory) == [
        ("11774@3", Decimal(3), Decimal(72000)),
        ("11774@6", Decimal(3), Decimal(72100)),
    ]


async def test_notice_when_read_after_the_clock_moved_to_the_next_session_then_dated_on_its_orders_day(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: an execution at 14:45 whose late notice is read the next morning, so the adapter (which has
    # only HHMMSS) dates it by the market clock: the next day.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    clock.set(kst_datetime(DAY, time(14, 45)))
    fill = broker.execute(order.broker_order_number, 3, 72000)
    clock.set(kst_datetime(DAY + timedelta(days=1), time(8, 30)))
    as_read = replace(
        fill, ts_filled=kst_datetime(DAY + timedelta(days=1), time(14, 45)), trading_date=DAY + timedelta(days=1)
    )

    # Act
    await broker.deliver(FillReport(ACCOUNT, as_read))

    # Assert: recorded on the order's day, under the identity the broker's totals of that day give it.
    async with uow_factory() as uow:
        [stored] = await uow.fills.list_for_account(ACCOUNT)
    assert stored.fill.broker_fill_id == f"{ACCOUNT}:{DAY:%Y%m%d}:11774@3"
    assert stored.fill.ts_filled == kst_datetime(DAY, time(14, 45)) and kst_date(stored.fill.ts_filled) == DAY


class CancelFails(FakeBroker):
    """A broker whose cancel request fails in transport (an HTTP 500 on order-rvsecncl)."""

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        raise TemporaryBrokerError("KIS order-rvsecncl VTTC0013U: HTTP 500 (EGW00001)")


async def test_cancel_at_the_close_when_the_request_fails_then_the_orders_executions_are_still_recorded(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: the order executed in full, but every notice was lost; then the closing cancel fails.
    broker = CancelFails(clock, ACCOUNT, aggregate_fills=True)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await broker.subscribe_order_events(execution.on_broker_event)
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    broker.execute(order.broker_order_number, 10, 72000)

    # Act
    asked = await execution.cancel_open_orders("session closed")

    # Assert: nothing was cancelled, but the broker's executions and state are in our records.
    assert asked == 0
    assert await recorded(uow_factory) == [("11774@10", Decimal(10), Decimal(72000))]
    assert (await order_in_db(uow_factory, order)).status is OrderStatus.FILLED
    assert execution.positions["005930"].quantity == Decimal(10) and not execution.open_orders


async def test_expiry_notice_when_it_overtakes_fill_notices_then_the_executions_are_recorded_before_it_closes(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: 4 shares noticed, 3 more executed whose notice is still on its way when the exchange expires
    # the remainder at the close.
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    await broker.fill(order.broker_order_number, 4, 72000)
    clock.advance(timedelta(seconds=1))
    late = broker.execute(order.broker_order_number, 3, 72050)

    # Act: the expiry notice (the late fill notice may never come: the daemon may stop after the close).
    await broker.expire(order.broker_order_number)
    after_expiry = await recorded(uow_factory)
    await broker.deliver(FillReport(ACCOUNT, late))

    # Assert: every execution recorded by the time the order closed, once, also when the notice comes.
    expected = [("11774@4", Decimal(4), Decimal(72000)), ("11774@7", Decimal(3), Decimal(72050))]
    assert after_expiry == expected and await recorded(uow_factory) == expected
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELED, Decimal(7))
    assert execution.positions["005930"].quantity == Decimal(7) and execution.stopped_reason is None


class Unreadable(FakeBroker):
    """A broker whose executions cannot be read while `down` is set."""

    down = False

    async def get_fills(self, account_id, trading_date):
        if self.down:
            raise TemporaryBrokerError("KIS inquire-daily-ccld: HTTP 500 five times")
        return await super().get_fills(account_id, trading_date)


async def test_expiry_notice_when_the_broker_cannot_be_read_then_the_order_stays_open_until_reconciled(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: an execution whose notice was lost; the expiry notice comes while REST is failing.
    broker = Unreadable(clock, ACCOUNT, aggregate_fills=True)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await broker.subscribe_order_events(execution.on_broker_event)
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    broker.execute(order.broker_order_number, 3, 72000)
    broker.down = True

    # Act
    await broker.expire(order.broker_order_number)
    still_open = (await order_in_db(uow_factory, order)).status
    broker.down = False
    await execution.reconcile_open_orders("periodic reconciliation")

    # Assert: not closed without its executions; the reconciliation took state and fills together.
    assert still_open is OrderStatus.SENT
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELED, Decimal(3))
    assert await recorded(uow_factory) == [("11774@3", Decimal(3), Decimal(72000))]


async def test_late_notice_when_its_execution_was_recorded_at_the_expiry_and_the_next_session_began_then_ignored(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange: an execution at 13:30 whose notice is late; the expiry at the close records it from the
    # broker's totals; the next session begins before the notice is read (dated by the adapter on that day).
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    clock.set(kst_datetime(DAY, time(13, 30)))
    late = broker.execute(order.broker_order_number, 3, 72000)
    clock.set(kst_datetime(DAY, time(15, 30)))
    await broker.expire(order.broker_order_number)
    next_day = DAY + timedelta(days=1)
    clock.set(kst_datetime(next_day, time(8, 30)))
    execution.begin_session(next_day, Decimal(10_000_000))

    # Act
    await broker.deliver(
        FillReport(ACCOUNT, replace(late, ts_filled=kst_datetime(next_day, time(13, 30)), trading_date=next_day))
    )

    # Assert: the execution once.
    assert await recorded(uow_factory) == [("11774@3", Decimal(3), Decimal(72000))]
    assert execution.positions["005930"].quantity == Decimal(3) and execution.stopped_reason is None


class OrdersUnreadable(FakeBroker):
    """A broker whose order list cannot be read (inquire-daily-ccld answering HTTP 500)."""

    async def get_orders(self, account_id, trading_date):  # type: ignore[no-untyped-def]
        raise TemporaryBrokerError("KIS inquire-daily-ccld VTTC0081R: HTTP 500 (EGW00001)")


async def a_late_notice_read_the_next_morning(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
) -> FillReport:
    """Yesterday's order executes 3 shares at 09:10 and expires; its notice is read the next day at 10:00, dated
    by the adapter 09:10 of that day: a moment already past, so the time alone cannot tell it is late."""
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    clock.set(kst_datetime(DAY, time(9, 10)))
    late = broker.execute(order.broker_order_number, 3, 72000)
    clock.set(kst_datetime(DAY, time(15, 30)))
    await broker.expire(order.broker_order_number)
    next_day = DAY + timedelta(days=1)
    clock.set(kst_datetime(next_day, time(10, 0)))
    execution.begin_session(next_day, Decimal(10_000_000))
    return FillReport(ACCOUNT, replace(late, ts_filled=kst_datetime(next_day, time(9, 10)), trading_date=next_day))


async def test_late_notice_when_dated_earlier_today_and_the_broker_has_no_such_order_today_then_ignored(
    execution: Execution,
    broker: FakeBroker,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    notice = await a_late_notice_read_the_next_morning(execution, broker, uow_factory, clock)

    await broker.deliver(notice)

    # Assert: yesterday's execution once, nothing external, trading goes on.
    async with uow_factory() as uow:
        stored = await uow.fills.list_for_account(ACCOUNT)
    assert [(s.fill.broker_fill_id.rsplit(":", 2)[1:], s.order_id is not None) for s in stored] == [
        ([f"{DAY:%Y%m%d}", "11774@3"], True)
    ]
    assert "external_fill" not in notifier.kinds() and execution.stopped_reason is None
    assert execution.positions["005930"].quantity == Decimal(3)


async def test_notice_when_a_hand_order_today_reuses_the_number_symbol_and_side_of_yesterdays_then_external(
    execution: Execution,
    broker: FakeBroker,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FixedClock,
    notifier: RecordingNotifier,
):
    # Arrange: the same number, symbol and side as yesterday's order of ours, placed by hand today.
    notice = await a_late_notice_read_the_next_morning(execution, broker, uow_factory, clock)
    number = notice.fill.broker_order_number
    broker.add_order("005930", notice.fill.side, Decimal(2), Decimal(71000), number=number)

    # Act
    by_hand = await broker.fill(number, 2, 71000)

    # Assert: today's execution, external; yesterday's order untouched.
    async with uow_factory() as uow:
        stored = await uow.fills.list_for_account(ACCOUNT)
    assert [(s.fill.broker_fill_id.rsplit(":", 2)[1:], s.order_id is not None) for s in stored] == [
        ([f"{DAY:%Y%m%d}", "11774@3"], True),
        ([f"{kst_date(by_hand.ts_filled):%Y%m%d}", "11774@2"], False),
    ]
    assert notifier.kinds().count("external_fill") == 1
    assert execution.positions["005930"].quantity == Decimal(5)


async def test_late_notice_when_the_brokers_orders_cannot_be_read_then_ignored_and_left_to_the_totals(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, notifier: RecordingNotifier
):
    broker = OrdersUnreadable(clock, ACCOUNT, aggregate_fills=True)
    execution = make_execution(uow_factory, broker, clock, notifier)
    await broker.subscribe_order_events(execution.on_broker_event)
    notice = await a_late_notice_read_the_next_morning(execution, broker, uow_factory, clock)

    await broker.deliver(notice)

    assert [kind for kind in notifier.kinds() if "fill" in kind][-1] == "fill_notice_ignored"
    assert await recorded(uow_factory) == [("11774@3", Decimal(3), Decimal(72000))]
    assert execution.stopped_reason is None
