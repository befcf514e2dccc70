"""KIS order numbers restart every session: an order placed by hand today may carry the number of an order of
ours from an earlier day. Its fills are external, found as such, and never touch the old order."""

from datetime import timedelta
from decimal import Decimal

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_recovery import ACCOUNT, DAY, T0, start_daemon

NUMBER = "0000011774"


async def an_order_of_yesterday_numbered(uow_factory: SqlUnitOfWorkFactory, number: str) -> Order:
    yesterday = Order(
        idempotency_key=f"{ACCOUNT}:yesterday",
        account_id=ACCOUNT,
        strategy_id="ma_cross",
        symbol="005930",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(10),
        limit_price=Decimal(72100),
        intent=Intent.ENTRY,
        reason="",
        trading_date=DAY - timedelta(days=1),
        ts_created=T0 - timedelta(days=1),
        status=OrderStatus.CANCELED,
        broker_order_number=number,
    )
    async with uow_factory() as uow:
        await uow.orders.add(yesterday)
        await uow.commit()
    return yesterday


async def stored_fills(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, int | None]]:
    async with uow_factory() as uow:
        return [(s.fill.symbol, s.order_id) for s in await uow.fills.list_for_account(ACCOUNT)]


async def test_recovery_when_order_bought_by_hand_reuses_an_old_number_then_its_fill_is_external(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange
    old = await an_order_of_yesterday_numbered(uow_factory, NUMBER)
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    by_hand = broker.add_order("000660", Side.BUY, Decimal(2), Decimal(150000), number=NUMBER)
    broker.execute(by_hand.broker_order_number, 2, 150000)
    execution = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())
    # Act
    await apply_plan(plan, execution, uow_factory, RecordingNotifier(), clock, mode="sim")
    # Assert
    assert [a.kind for a in plan.actions] == ["external_order", "external_fill"]
    assert await stored_fills(uow_factory) == [("000660", None)]
    async with uow_factory() as uow:
        unchanged = await uow.orders.get_by_key(old.idempotency_key)
    assert unchanged is not None and (unchanged.status, unchanged.filled_quantity) == (OrderStatus.CANCELED, 0)
    assert execution.stopped_reason is None


async def test_notice_when_order_bought_by_hand_reuses_an_old_number_then_recorded_external_and_trading_goes_on(
    uow_factory: SqlUnitOfWorkFactory,
):
    await an_order_of_yesterday_numbered(uow_factory, NUMBER)
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    execution = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    broker.add_order("000660", Side.BUY, Decimal(2), Decimal(150000), number=NUMBER)

    await broker.fill(NUMBER, 2, 150000)

    assert await stored_fills(uow_factory) == [("000660", None)]
    assert execution.stopped_reason is None
    assert execution.positions["000660"].quantity == Decimal(2)


async def test_get_by_broker_number_when_date_given_then_only_that_sessions_order(uow_factory: SqlUnitOfWorkFactory):
    old = await an_order_of_yesterday_numbered(uow_factory, NUMBER)

    async with uow_factory() as uow:
        any_day = await uow.orders.get_by_broker_number(ACCOUNT, "11774")
        its_day = await uow.orders.get_by_broker_number(ACCOUNT, "11774", DAY - timedelta(days=1))
        today = await uow.orders.get_by_broker_number(ACCOUNT, "11774", DAY)

    assert any_day is not None and any_day.id == old.id
    assert its_day is not None and its_day.id == old.id
    assert today is None


async def test_recovery_when_broker_holds_shares_bought_by_hand_on_an_earlier_day_then_external_and_trading_goes_on(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: 4 × 000660 in the account from before the daemon's time; nothing of it in today's orders.
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    broker.set_position("000660", 4, 150000)
    notifier = RecordingNotifier()
    execution = await start_daemon(uow_factory, broker, clock, notifier)
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())

    # Act
    await apply_plan(plan, execution, uow_factory, notifier, clock, mode="sim")

    # Assert: reported (event and alert), not adopted, not a reason to stop.
    assert [a.kind for a in plan.actions] == ["external_holding"]
    assert [e.message for e in notifier.of_kind("external_holding")] == [
        "recovery: 4 000660 @ 150000 at the broker were not bought by this daemon"
    ]
    assert "000660" not in execution.positions and await stored_fills(uow_factory) == []
    assert execution.stopped_reason is None
