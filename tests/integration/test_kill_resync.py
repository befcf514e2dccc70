"""A kill switch stops the session task wherever it is: the daemon rebuilds its working orders from the
database, and settles a send that was cut off, before it cancels or flattens (spec 000 §7, 001 §11)."""

import asyncio
import copy

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.order_status import OrderStatus
from tests.fakes import CancelCall, FakeBroker, RecordingNotifier
from tests.integration.test_execution import ACCOUNT, T0, make_execution, make_signal, order_in_db, submitted


async def test_cancel_open_when_memory_missed_the_sent_commit_then_the_order_is_still_cancelled(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the order is SENT in the database, but the task was stopped before memory saw it.
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    order = await submitted(execution, uow_factory, make_signal())
    assert order.broker_order_number is not None
    stale = copy.deepcopy(order)
    stale.broker_order_number, stale.status = None, OrderStatus.NEW
    execution.open_orders[order.id] = stale

    # Act
    await execution.resync_from_database()
    cancelled = await execution.cancel_open_orders("kill switch")

    # Assert
    assert cancelled == 1 and [c.broker_order_number for c in broker.cancel_calls] == [order.broker_order_number]
    assert (await order_in_db(uow_factory, order)).status is OrderStatus.CANCELED


async def test_resync_when_the_send_was_cut_off_after_the_broker_took_it_then_the_order_is_adopted(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the broker accepted the order, but the task stopped before the answer was recorded, so the
    # database still holds it NEW without a broker number.
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    order = await submitted(execution, uow_factory, make_signal())
    number = order.broker_order_number
    assert number is not None
    unanswered = copy.deepcopy(order)
    unanswered.status, unanswered.broker_order_number, unanswered.ts_sent = OrderStatus.NEW, None, None
    async with uow_factory() as uow:
        await uow.orders.update(unanswered, clock.now())
        await uow.commit()
    execution.open_orders = {order.id: unanswered}

    # Act
    await execution.resync_from_database()

    # Assert: found at the broker by its shape and adopted, so a cancel-open can reach it.
    [held] = execution.open_orders.values()
    assert (held.broker_order_number, held.status) == (number, OrderStatus.SENT)
    assert (await order_in_db(uow_factory, order)).broker_order_number == number


async def test_cancel_open_when_a_submission_is_sending_as_the_kill_lands_then_it_waits_and_cancels_it(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the broker takes its time answering an order sent from another task (the KIS WebSocket's).
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    release = asyncio.Event()
    request_out = asyncio.Event()
    place = broker.place_order

    async def slow_place(request):
        request_out.set()
        await release.wait()
        return await place(request)

    broker.place_order = slow_place  # type: ignore[method-assign]
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    sending = asyncio.create_task(execution.submit(make_signal()))
    await asyncio.wait_for(request_out.wait(), 10)  # the order row is NEW and the request is out

    # Act: the kill arrives; the broker answers a moment later.
    execution.request_kill("test")
    asyncio.get_running_loop().call_later(0.2, release.set)
    idle = await execution.quiesce(5.0)
    await execution.resync_from_database()
    cancelled = await execution.cancel_open_orders("kill switch")

    # Assert: the kill waited for the answer, so the order the broker holds was cancelled, not missed.
    order = await sending
    assert idle and order is not None and cancelled == 1
    assert (await order_in_db(uow_factory, order)).status is OrderStatus.CANCELED


class CancelsTakeTime(FakeBroker):
    """A broker that takes a cancel and carries it out later (the order stays open meanwhile), refusing a second
    cancel of the same order, as KIS does while one is pending."""

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        if any(c.broker_order_number == broker_order_number for c in self.cancel_calls):
            raise OrderRejectedByBroker("정정취소가능수량이 없습니다.", code="APBK0915")
        self.cancel_calls.append(CancelCall(account_id, broker_order_number, venue_order_ref))


async def test_cancel_open_when_the_closes_cancel_is_still_pending_as_the_kill_lands_then_counted_as_cancelled(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the close asked for the cancel; the kill switch stopped the session before the notice came.
    clock = FixedClock(T0)
    broker = CancelsTakeTime(clock, ACCOUNT)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await submitted(execution, uow_factory, make_signal())
    assert await execution.cancel_open_orders("session closed") == 1

    # Act
    cancelled = await execution.cancel_open_orders("kill switch")

    # Assert: the owner is told the order is being cancelled, and it was asked once.
    assert cancelled == 1 and len(broker.cancel_calls) == 1
