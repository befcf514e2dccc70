"""The order path on a real database: signal → risk → order committed NEW → broker → SENT/REJECTED, and
broker notices → fills, order status and positions, each applied once (spec 001 §8, §11)."""

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.signals import Signal
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import FillReport
from stock_manager.service_layer.ports.storage import EventRecord
from tests.fakes import Ambiguous, FakeBroker, Fatal, RecordingNotifier, Reject, as_recorded, krx_venue

ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)  # 09:05:01 KST
START_EQUITY_KRW = Decimal(10_000_000)
# The rules these specs are about; the market-data and value rules are specified in test_risk_rules and
# test_risk_controls.
LIMITS = RiskLimits(
    max_open_positions=5,
    max_quantity_per_symbol=Decimal(1_000),
    daily_loss_limit_pct=Decimal(2),
    max_value_per_symbol_krw=None,
    max_symbol_weight_pct=None,
    max_order_value_krw=None,
    price_collar_pct=None,
    max_quote_age_secs=None,
    max_orders_per_minute=None,
    cooldown_after_failures=None,
)
HOURS = krx_session(DAY, kst_datetime(DAY, time(9, 0)), kst_datetime(DAY, time(15, 30)))


def open_market(execution: Execution) -> None:
    """Give the session its hours and each traded symbol a quote with wide day limits."""
    for symbol in ("005930", "000660", "005380", "035420", "069500"):
        execution.note_quote(symbol, Decimal(72_100), T0, Decimal(1), Decimal(10_000_000))


ETF = "069500"


# -- BUILDERS -------------------------------------------------------------------------------------------


def make_signal(
    symbol: str = "005930",
    side: Side = Side.BUY,
    intent: Intent = Intent.ENTRY,
    quantity: int | None = 10,
    limit_price: str | None = "72100",
    *,
    ts_signal: datetime = T0,
    target_value_krw: Decimal | None = None,
) -> Signal:
    return Signal(
        strategy_id="ma_cross",
        symbol=symbol,
        side=side,
        intent=intent,
        order_type=OrderType.LIMIT if limit_price is not None else OrderType.MARKET,
        reference_price=Decimal(limit_price or "72100"),
        ts_signal=ts_signal,
        reason="MA50 crossed above MA200",
        quantity=Decimal(quantity) if quantity is not None else None,
        target_value_krw=target_value_krw,
        limit_price=Decimal(limit_price) if limit_price is not None else None,
    )


async def submitted(execution: Execution, uow_factory: SqlUnitOfWorkFactory, signal: Signal) -> Order:
    """Submit `signal` and return its order as the database holds it after the broker call."""
    order = await execution.submit(signal)
    assert order is not None
    return await order_in_db(uow_factory, order)


def make_execution(
    uow_factory: SqlUnitOfWorkFactory,
    broker: FakeBroker,
    clock: FixedClock,
    notifier: RecordingNotifier,
    *,
    limits: RiskLimits = LIMITS,
    positions: dict[str, Position] | None = None,
) -> Execution:
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, limits),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=notifier,
        venue=krx_venue(etfs=[ETF]),
    )
    execution.load(positions or {}, [])
    execution.begin_session(DAY, START_EQUITY_KRW, session=HOURS)
    open_market(execution)
    return execution


def held(symbol: str, quantity: int, avg_price: int) -> Position:
    return Position(ACCOUNT, symbol, quantity=Decimal(quantity), avg_price=Decimal(avg_price))


async def orders_in_db(uow_factory: SqlUnitOfWorkFactory) -> list[Order]:
    async with uow_factory() as uow:
        return await uow.orders.list_for_date(ACCOUNT, DAY)


async def order_in_db(uow_factory: SqlUnitOfWorkFactory, order: Order) -> Order:
    assert order.id is not None
    async with uow_factory() as uow:
        stored = await uow.orders.get(order.id)
    assert stored is not None
    return stored


async def events_in_db(uow_factory: SqlUnitOfWorkFactory, kind: str) -> list[EventRecord]:
    async with uow_factory() as uow:
        return await uow.events.list_kind(kind, ACCOUNT)


# -- FIXTURES -------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def broker(clock: FixedClock, uow_factory: SqlUnitOfWorkFactory) -> FakeBroker:
    return FakeBroker(clock, ACCOUNT, uow_factory=uow_factory)


@pytest.fixture
async def execution(
    uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock, notifier: RecordingNotifier
) -> Execution:
    execution = make_execution(uow_factory, broker, clock, notifier)
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


# -- SENDING ------------------------------------------------------------------------------------------


async def test_submit_when_signal_allowed_then_order_committed_new_before_broker_call_then_sent(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    signal = make_signal()
    key = f"{ACCOUNT}:{signal.idempotency_key}"

    # Act
    order = await execution.submit(signal)

    # Assert
    assert order is not None
    [call] = broker.place_calls
    assert call.request.symbol == "005930" and call.request.side is Side.BUY
    assert (call.request.quantity, call.request.limit_price) == (Decimal(10), Decimal(72100))
    [row_at_send] = call.new_rows_in_database or ()
    assert (row_at_send.idempotency_key, row_at_send.status, row_at_send.broker_order_number) == (
        key,
        OrderStatus.NEW,
        None,
    )
    [stored] = await orders_in_db(uow_factory)
    assert stored.idempotency_key == key
    assert stored.status is OrderStatus.SENT
    assert stored.broker_order_number == "0000011774"
    assert stored.ts_sent == T0
    assert execution.open_orders[stored.id or -1].status is OrderStatus.SENT
    assert [e.kind for e in await events_in_db(uow_factory, "order_sent")] == ["order_sent"]


async def test_submit_when_same_signal_twice_then_one_order_sent(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    signal = make_signal()
    await execution.submit(signal)

    # Act
    second = await execution.submit(signal)

    # Assert
    assert second is None
    assert len(broker.place_calls) == 1
    assert len(await orders_in_db(uow_factory)) == 1


async def test_submit_when_same_signal_after_restart_then_returns_stored_order_and_sends_nothing(
    broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, notifier: RecordingNotifier
):
    # Arrange: the decision was sent (and refused) by an earlier run of the daemon.
    signal = make_signal()
    broker.script_place(Reject("주문가능금액을 초과 했습니다", code="APBK0952"))
    first = await make_execution(uow_factory, broker, clock, notifier).submit(signal)
    restarted = make_execution(uow_factory, broker, clock, notifier)

    # Act
    again = await restarted.submit(signal)

    # Assert
    assert first is not None and again is not None
    assert again.id == first.id and again.status is OrderStatus.REJECTED
    assert len(broker.place_calls) == 1
    assert len(await orders_in_db(uow_factory)) == 1


async def test_submit_when_order_of_same_strategy_symbol_intent_open_then_sends_nothing(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: a later decision (another idempotency key) for the same (strategy, symbol, intent).
    await execution.submit(make_signal())
    later = make_signal(ts_signal=T0 + timedelta(minutes=5))

    # Act
    result = await execution.submit(later)

    # Assert
    assert result is None
    assert len(broker.place_calls) == 1
    assert [o.idempotency_key for o in await orders_in_db(uow_factory)] == [
        f"{ACCOUNT}:{make_signal().idempotency_key}"
    ]


async def test_submit_when_kill_switch_set_then_no_broker_call_and_risk_denied_by_kill_switch(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "operator stop", "cli", T0)
        await uow.commit()

    # Act
    result = await execution.submit(make_signal())

    # Assert
    assert result is None
    assert broker.place_calls == []
    assert await orders_in_db(uow_factory) == []
    [denied] = await events_in_db(uow_factory, "risk_denied")
    assert denied.payload["rule"] == "kill_switch"
    assert "operator stop" in denied.message


async def test_submit_when_max_open_positions_reached_then_no_broker_call_and_denial_records_rule_and_inputs(
    broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, notifier: RecordingNotifier
):
    # Arrange: one symbol held, and at most one may be.
    limits = replace(LIMITS, max_open_positions=1)
    execution = make_execution(
        uow_factory, broker, clock, notifier, limits=limits, positions={"000660": held("000660", 5, 150_000)}
    )

    # Act
    result = await execution.submit(make_signal("005930"))

    # Assert
    assert result is None
    assert broker.place_calls == []
    assert await orders_in_db(uow_factory) == []
    [denied] = await events_in_db(uow_factory, "risk_denied")
    assert denied.payload["rule"] == "max_open_positions"
    assert denied.payload["proposal"] == {
        "symbol": "005930",
        "side": "BUY",
        "intent": "ENTRY",
        "order_type": "LIMIT",
        "quantity": "10",
        "price_krw": "72100",
    }
    snapshot = denied.payload["risk_state"]
    assert snapshot["positions"] == {"000660": "5"}
    assert snapshot["start_of_day_equity_krw"] == "10000000"
    assert snapshot["stopped"] is False
    assert [e.payload["rule"] for e in notifier.of_kind("risk_denied")] == ["max_open_positions"]


async def test_submit_when_limit_prices_off_tick_grid_then_buys_rounded_down_and_sells_up_before_sending(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: (symbol, side, intent, asked limit, limit on the grid); ticks are 100 KRW at 72,150,
    # 50 KRW below 50,000 and 100 KRW from it, 5 KRW for an ETF at 10,003.
    cases = [
        ("005930", Side.BUY, Intent.ENTRY, "72150", "72100"),
        ("000660", Side.SELL, Intent.EXIT, "72150", "72200"),
        ("035420", Side.SELL, Intent.EXIT, "49990", "50000"),  # up into the next tick band
        (ETF, Side.BUY, Intent.ENTRY, "10003", "10000"),
    ]

    # Act
    for symbol, side, intent, asked, _ in cases:
        await execution.submit(make_signal(symbol, side, intent, limit_price=asked))

    # Assert
    expected = {symbol: Decimal(sent) for symbol, *_, sent in cases}
    assert {c.request.symbol: c.request.limit_price for c in broker.place_calls} == expected
    assert {o.symbol: o.limit_price for o in await orders_in_db(uow_factory)} == expected


async def test_submit_when_sized_by_target_value_then_quantity_uses_rounded_limit(
    execution: Execution, broker: FakeBroker
):
    # Arrange: 1,000,000 KRW at 72,150 rounded down to 72,100 → 13.87 → 13 shares.
    signal = make_signal(quantity=None, limit_price="72150", target_value_krw=Decimal(1_000_000))

    # Act
    await execution.submit(signal)

    # Assert
    [call] = broker.place_calls
    assert (call.request.quantity, call.request.limit_price) == (Decimal(13), Decimal(72100))


# -- BROKER OUTCOMES ----------------------------------------------------------------------------------


async def test_submit_when_broker_rejects_then_order_rejected_with_broker_code_and_message(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    broker.script_place(Reject("주문가능금액을 초과 했습니다", code="APBK0952"))

    # Act
    order = await execution.submit(make_signal())

    # Assert
    assert order is not None
    stored = await order_in_db(uow_factory, order)
    assert stored.status is OrderStatus.REJECTED
    assert stored.status_reason == "APBK0952 주문가능금액을 초과 했습니다"
    assert stored.broker_order_number is None
    assert execution.open_orders == {}
    assert len(await events_in_db(uow_factory, "order_rejected")) == 1


async def test_submit_when_outcome_ambiguous_and_broker_placed_it_then_adopted_without_resending(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    broker.script_place(Ambiguous(placed=True, number="0000011801"))

    # Act
    order = await execution.submit(make_signal())

    # Assert
    assert order is not None
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.broker_order_number) == (OrderStatus.SENT, "0000011801")
    assert len(broker.place_calls) == 1
    assert len(await events_in_db(uow_factory, "order_adopted")) == 1


async def test_submit_when_outcome_ambiguous_and_broker_time_in_whole_seconds_then_adopted(
    broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, notifier: RecordingNotifier
):
    # Arrange: the order is created at 09:05:01.400; the broker stamps its acceptance 09:05:01 (KIS ORD_TMD
    # has whole seconds), which reads as earlier than our row.
    clock = FixedClock(T0 + timedelta(milliseconds=400))
    broker.clock = clock
    execution = make_execution(uow_factory, broker, clock, notifier)
    broker.script_place(Ambiguous(placed=True, number="0000011801", ts_accepted=T0))

    # Act
    order = await execution.submit(make_signal())

    # Assert
    assert order is not None
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.broker_order_number) == (OrderStatus.SENT, "0000011801")


async def test_submit_when_outcome_ambiguous_and_broker_did_not_place_it_then_canceled_not_placed(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    broker.script_place(Ambiguous(placed=False))
    signal = make_signal()

    # Act
    order = await execution.submit(signal)
    again = await execution.submit(signal)

    # Assert
    assert order is not None and again is None
    stored = await order_in_db(uow_factory, order)
    assert stored.status is OrderStatus.CANCELED
    assert stored.status_reason.startswith("not placed")
    assert len(broker.place_calls) == 1
    assert broker.orders == {}
    assert execution.open_orders == {}


async def test_submit_when_broker_refuses_the_session_then_stop_mode_and_order_left_new_for_recovery(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    broker.script_place(Fatal("EGW00123 기간이 만료된 token 입니다"))

    # Act
    order = await execution.submit(make_signal())
    later = await execution.submit(make_signal("000660", limit_price="150000"))

    # Assert
    assert order is not None and later is None
    assert (await order_in_db(uow_factory, order)).status is OrderStatus.NEW
    assert execution.stopped_reason is not None and "EGW00123" in execution.stopped_reason
    assert len(await events_in_db(uow_factory, "stop_mode")) == 1
    assert [e.payload["rule"] for e in await events_in_db(uow_factory, "risk_denied")] == ["stop_mode"]
    assert len(broker.place_calls) == 1


# -- FILLS --------------------------------------------------------------------------------------------


async def test_fill_notice_when_delivered_twice_then_applied_once(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    order = await submitted(execution, uow_factory, make_signal())
    assert order.broker_order_number is not None
    fill = await broker.fill(order.broker_order_number, 10, 72100)

    # Act
    await broker.deliver(FillReport(ACCOUNT, fill))

    # Assert
    async with uow_factory() as uow:
        stored_fills = await uow.fills.list_for_account(ACCOUNT)
        positions = await uow.positions.list_all(ACCOUNT)
    assert [(s.fill, s.order_id) for s in stored_fills] == [(as_recorded(fill, ACCOUNT, 10), order.id)]
    assert [(p.symbol, p.quantity) for p in positions] == [("005930", Decimal(10))]
    assert execution.positions["005930"].quantity == Decimal(10)
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.FILLED, Decimal(10))
    assert len(await events_in_db(uow_factory, "fill")) == 1


async def test_fills_when_partial_then_rest_then_partial_then_filled_at_average_price(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
):
    # Arrange
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    assert order.broker_order_number is not None
    number = order.broker_order_number

    # Act
    clock.advance(timedelta(seconds=3))
    await broker.fill(number, 4, 72000)
    after_first = await order_in_db(uow_factory, order)
    clock.advance(timedelta(seconds=3))
    await broker.fill(number, 6, 72100)
    after_second = await order_in_db(uow_factory, order)

    # Assert
    assert (after_first.status, after_first.filled_quantity) == (OrderStatus.PARTIAL, Decimal(4))
    assert after_first.ts_partial == T0 + timedelta(seconds=3)
    assert (after_second.status, after_second.filled_quantity) == (OrderStatus.FILLED, Decimal(10))
    assert after_second.avg_fill_price == Decimal(72060)  # (4 × 72,000 + 6 × 72,100) / 10
    assert after_second.ts_filled == T0 + timedelta(seconds=6)
    position = execution.positions["005930"]
    assert (position.quantity, position.avg_price) == (Decimal(10), Decimal(72060))
    assert execution.open_orders == {}


async def test_fill_notice_when_order_number_never_placed_by_us_then_recorded_as_external_fill(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, notifier: RecordingNotifier
):
    # Arrange: an order placed by hand in the broker's own app.
    by_hand = broker.add_order("000660", Side.BUY, Decimal(3), Decimal(150_000), number="0000099001")

    # Act
    fill = await broker.fill(by_hand.broker_order_number, 3, 150_000)

    # Assert
    async with uow_factory() as uow:
        [stored] = await uow.fills.list_for_account(ACCOUNT)
    assert (stored.fill, stored.order_id) == (as_recorded(fill, ACCOUNT, 3), None)
    [external] = await events_in_db(uow_factory, "external_fill")
    assert (external.payload["broker_fill_id"], external.payload["broker_reference"]) == (
        stored.fill.broker_fill_id,
        fill.broker_fill_id,
    )
    assert execution.positions["000660"].quantity == Decimal(3)
    assert notifier.of_kind("fill") == []


async def test_cancel_notice_when_partially_filled_then_canceled_keeping_the_filled_part(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    order = await submitted(execution, uow_factory, make_signal(quantity=10))
    assert order.broker_order_number is not None
    await broker.fill(order.broker_order_number, 4, 72100)

    # Act
    await broker.expire(order.broker_order_number)

    # Assert
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELED, Decimal(4))
    assert execution.positions["005930"].quantity == Decimal(4)
    assert execution.open_orders == {}


async def test_record_fill_when_two_fills_of_one_order_recorded_concurrently_then_both_counted(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange
    order = await submitted(execution, uow_factory, make_signal(quantity=10))
    assert order.broker_order_number is not None
    first = broker.execute(order.broker_order_number, 4, 72100)
    second = broker.execute(order.broker_order_number, 6, 72100)

    # Act: the notice of one fill, while the close's inquiry (sync_from_broker) records the other; both
    # must start from the order as the other left it, or the second write loses the first fill.
    await asyncio.gather(broker.deliver(FillReport(ACCOUNT, first)), execution.record_fill(second, source="recovery"))

    # Assert
    async with uow_factory() as uow:
        assert len(await uow.fills.list_for_account(ACCOUNT)) == 2
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.FILLED, Decimal(10))


# -- DAILY LOSS LIMIT ---------------------------------------------------------------------------------


async def test_realized_loss_when_daily_loss_limit_reached_then_stop_mode_and_open_entry_orders_canceled(
    broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, notifier: RecordingNotifier
):
    # Arrange: 2 % of 10,000,000 KRW is 200,000 KRW; selling 100 shares 2,100 KRW below cost loses 210,000.
    execution = make_execution(
        uow_factory,
        broker,
        clock,
        notifier,
        positions={"000660": held("000660", 100, 100_000), "005380": held("005380", 20, 200_000)},
    )
    await broker.subscribe_order_events(execution.on_broker_event)
    losing_exit = await submitted(execution, uow_factory, make_signal("000660", Side.SELL, Intent.EXIT, 100, "97900"))
    other_exit = await submitted(execution, uow_factory, make_signal("005380", Side.SELL, Intent.EXIT, 20, "210000"))
    entry = await submitted(execution, uow_factory, make_signal("005930", Side.BUY, Intent.ENTRY, 10, "72100"))
    assert losing_exit.broker_order_number is not None

    # Act
    await broker.fill(losing_exit.broker_order_number, 100, 97_900)

    # Assert
    assert execution.stopped_reason is not None and "daily loss limit" in execution.stopped_reason
    assert len(await events_in_db(uow_factory, "stop_mode")) == 1
    assert [c.broker_order_number for c in broker.cancel_calls] == [entry.broker_order_number]
    assert (await order_in_db(uow_factory, entry)).status is OrderStatus.CANCELED
    assert (await order_in_db(uow_factory, other_exit)).status is OrderStatus.SENT
    assert (await order_in_db(uow_factory, losing_exit)).status is OrderStatus.FILLED
