"""The order state machine: every legal transition, and the refusal of every illegal one (spec 001 §8)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import product

import pytest

from stock_manager.domain.errors import DuplicateFill, InvalidTransition
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import TRANSITIONS, OrderStatus
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected

T0 = datetime(2023, 3, 2, 0, 0, tzinfo=UTC)
S = OrderStatus


def make_order(quantity: int = 10) -> Order:
    return Order(
        idempotency_key="k",
        account_id="A",
        strategy_id="s",
        symbol="005930",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        limit_price=Decimal(60000),
        intent=Intent.ENTRY,
        reason="test",
        trading_date=date(2023, 3, 2),
        ts_created=T0,
    )


def fill(fill_id: str, quantity: int, number: str = "0000000001") -> Fill:
    return Fill(
        fill_id, number, "005930", Side.BUY, Decimal(quantity), Decimal(60000), Decimal(8), Decimal(0), T0, T0.date()
    )


def order_in(status: OrderStatus) -> Order:
    """Drive a fresh order into `status` through legal events only."""
    order = make_order()
    path = {
        S.NEW: [],
        S.SENT: [OrderAccepted("0000000001", T0)],
        S.PARTIAL: [OrderAccepted("0000000001", T0), OrderFilled(fill("f1", 4))],
        S.FILLED: [OrderAccepted("0000000001", T0), OrderFilled(fill("f1", 10))],
        S.CANCELED: [OrderAccepted("0000000001", T0), OrderCanceled(T0, "test")],
        S.REJECTED: [OrderRejected(T0, "test")],
    }[status]
    for event in path:
        order.apply(event)
    assert order.status is status
    return order


def event_for(trigger: OrderStatus, order: Order):
    remaining = int(order.quantity - order.filled_quantity)
    match trigger:
        case S.SENT:
            return OrderAccepted("0000000002", T0)
        case S.PARTIAL:
            return OrderFilled(fill(f"p-{order.status}", 1))
        case S.FILLED:
            return OrderFilled(fill(f"f-{order.status}", remaining or 1))
        case S.CANCELED:
            return OrderCanceled(T0, "cancel")
        case S.REJECTED:
            return OrderRejected(T0, "reject", "APBK0919")
    return None


LEGAL = sorted(TRANSITIONS, key=str)
ILLEGAL = sorted((pair for pair in product(S, S) if pair not in TRANSITIONS and pair[1] is not S.NEW), key=str)


@pytest.mark.parametrize(("current", "trigger"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_apply_when_transition_is_in_table_then_status_follows_table(current, trigger):
    # Arrange
    order = order_in(current)
    event = event_for(trigger, order)
    if current is S.CANCELED and trigger is S.FILLED:
        event = OrderFilled(fill("late-all", 10))  # a late fill of everything after our cancel
    # Act
    order.apply(event)
    # Assert
    assert order.status is TRANSITIONS[(current, trigger)]
    assert order.events[-1] is event


@pytest.mark.parametrize(("current", "trigger"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_apply_when_transition_is_not_in_table_then_raises_and_leaves_order_unchanged(current, trigger):
    order = order_in(current)
    event = event_for(trigger, order)
    before = (order.status, order.filled_quantity, len(order.events), order.broker_order_number)
    with pytest.raises(InvalidTransition, match="not allowed"):
        order.apply(event)
    assert (order.status, order.filled_quantity, len(order.events), order.broker_order_number) == before


def test_apply_when_partial_fills_sum_to_quantity_then_filled_with_average_price():
    order = order_in(S.SENT)
    order.apply(
        OrderFilled(
            Fill("a", "1", "005930", Side.BUY, Decimal(4), Decimal(60000), Decimal(0), Decimal(0), T0, T0.date())
        )
    )
    assert order.status is S.PARTIAL and order.ts_partial == T0
    order.apply(
        OrderFilled(
            Fill("b", "1", "005930", Side.BUY, Decimal(6), Decimal(60100), Decimal(0), Decimal(0), T0, T0.date())
        )
    )
    assert order.status is S.FILLED
    assert order.avg_fill_price == (Decimal(4) * 60000 + Decimal(6) * 60100) / 10
    assert order.remaining_quantity == 0


def test_apply_when_fill_id_seen_before_then_duplicate_refused():
    order = order_in(S.PARTIAL)
    with pytest.raises(DuplicateFill):
        order.apply(OrderFilled(fill("f1", 1)))
    assert order.filled_quantity == 4


def test_apply_when_fill_exceeds_quantity_then_refused():
    order = order_in(S.PARTIAL)
    with pytest.raises(InvalidTransition, match="overfills"):
        order.apply(OrderFilled(fill("big", 7)))
    assert order.filled_quantity == 4


def test_apply_when_late_fill_after_cancel_then_quantity_counted_and_status_stays_canceled():
    order = order_in(S.CANCELED)
    order.apply(OrderFilled(fill("late", 3)))
    assert order.status is S.CANCELED
    assert order.filled_quantity == 3


def test_order_when_limit_without_price_then_refused():
    with pytest.raises(ValueError, match="limit price"):
        Order(
            idempotency_key="k",
            account_id="A",
            strategy_id="s",
            symbol="005930",
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            quantity=Decimal(1),
            limit_price=None,
            intent=Intent.ENTRY,
            reason="",
            trading_date=date(2023, 1, 2),
            ts_created=T0,
        )
