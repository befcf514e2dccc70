"""Recovery planning as a pure function: our orders and fills against the broker's (spec 001 §10)."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity, cumulative_identity
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState, BrokerPosition
from stock_manager.service_layer.reconciliation import PositionDifference, RecoveryPlan, plan_recovery

ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 0, 5, 1, 400_000, tzinfo=UTC)  # 09:05:01.4 KST, when our order row was committed
T0_BROKER = T0.replace(microsecond=0)  # the broker's acceptance time is in whole seconds (KIS ORD_TMD)


# -- BUILDERS -------------------------------------------------------------------------------------------


def as_cumulative(fill: Fill, cumulative: int) -> Fill:
    """The same execution under the identity recovery gives it: its order and cumulative quantity."""
    return replace(fill, broker_fill_id=cumulative_identity(ACCOUNT, fill, Decimal(cumulative)))


def our_order(
    key: str = "k1",
    number: str | None = None,
    status: OrderStatus | None = None,
    *,
    order_id: int = 1,
    symbol: str = "005930",
    quantity: int = 10,
    limit: int = 72100,
) -> Order:
    return Order(
        idempotency_key=f"{ACCOUNT}:{key}",
        account_id=ACCOUNT,
        strategy_id="ma_cross",
        symbol=symbol,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        limit_price=Decimal(limit),
        intent=Intent.ENTRY,
        reason="test",
        trading_date=DAY,
        ts_created=T0,
        id=order_id,
        status=status or (OrderStatus.SENT if number else OrderStatus.NEW),
        broker_order_number=number,
    )


def report(
    number: str,
    state: BrokerOrderState = BrokerOrderState.OPEN,
    *,
    symbol: str = "005930",
    quantity: int = 10,
    limit: int = 72100,
    filled: int = 0,
    ts_accepted: datetime = T0_BROKER,
) -> BrokerOrderReport:
    return BrokerOrderReport(
        account_id=ACCOUNT,
        broker_order_number=number,
        venue_order_ref="06010",
        symbol=symbol,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        limit_price=Decimal(limit),
        state=state,
        filled_quantity=Decimal(filled),
        avg_fill_price=Decimal(limit) if filled else None,
        ts_accepted=ts_accepted,
        trading_date=DAY,
    )


def fill(
    fill_id: str, number: str, quantity: int, price: int = 72100, *, symbol: str = "005930", seconds: int = 30
) -> Fill:
    return Fill(
        fill_id,
        number,
        symbol,
        Side.BUY,
        Decimal(quantity),
        Decimal(price),
        Decimal(0),
        Decimal(0),
        T0 + timedelta(seconds=seconds),
        kst_date(T0 + timedelta(seconds=seconds)),
    )


def holding(symbol: str, quantity: int, avg_price: int = 72100) -> BrokerPosition:
    return BrokerPosition(symbol, Decimal(quantity), Decimal(avg_price))


def plan(
    *,
    open_orders: Sequence[Order] = (),
    known_orders: Sequence[Order] | None = None,
    recorded_fills: Sequence[Fill] = (),
    broker_orders: Sequence[BrokerOrderReport] = (),
    broker_fills: Sequence[Fill] = (),
    broker_positions: Sequence[BrokerPosition] = (),
) -> RecoveryPlan:
    """Plan with `known_orders` defaulting to the open ones (every order of ours the days cover)."""
    return plan_recovery(
        account_id=ACCOUNT,
        open_orders=open_orders,
        known_orders=open_orders if known_orders is None else known_orders,
        recorded_fills=recorded_fills,
        broker_orders=broker_orders,
        broker_fills=broker_fills,
        broker_positions=broker_positions,
        fill_identity=CumulativeFillIdentity(),
    )


def kinds(result: RecoveryPlan) -> list[tuple[str, str | None]]:
    return [(a.kind, a.order_key) for a in result.actions]


# -- AGREEMENT ------------------------------------------------------------------------------------------


def test_plan_when_database_and_broker_agree_then_clean():
    # Arrange: one order filled and recorded, one still working at both ends.
    done = our_order("done", "0000011774", OrderStatus.FILLED, order_id=1)
    working = our_order("working", "0000011775", order_id=2, symbol="000660", limit=150_000)
    f1 = fill("F1", "0000011774", 10)

    # Act
    result = plan(
        open_orders=[working],
        known_orders=[done, working],
        recorded_fills=[f1],
        broker_orders=[
            report("0000011774", BrokerOrderState.FILLED, filled=10),
            report("0000011775", symbol="000660", limit=150_000),
        ],
        broker_fills=[f1],
        broker_positions=[holding("005930", 10)],
    )

    # Assert
    assert result.is_clean
    assert result.actions == () and result.stop_reasons == () and result.position_differences == ()
    assert result.positions_after["005930"].quantity == Decimal(10)


# -- NEW ORDERS WITHOUT A BROKER NUMBER ------------------------------------------------------------------


def test_plan_when_new_order_has_exactly_one_matching_broker_order_then_adopt():
    # Arrange: the broker stamps whole seconds, so its acceptance reads 0.4 s before our row.
    new = our_order("k1")
    placed = report("0000011774")

    # Act
    result = plan(open_orders=[new], broker_orders=[placed])

    # Assert
    [action] = result.actions
    assert (action.kind, action.order_key, action.report) == ("adopt", new.idempotency_key, placed)
    assert result.stop_reasons == ()


def test_plan_when_new_order_has_no_matching_broker_order_then_not_placed():
    # Act
    result = plan(open_orders=[our_order("k1")], broker_orders=[])

    # Assert
    assert kinds(result) == [("not_placed", f"{ACCOUNT}:k1")]
    assert result.stop_reasons == ()


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(report("0000011774", quantity=11), id="other-quantity"),
        pytest.param(report("0000011774", limit=72000), id="other-limit"),
        pytest.param(report("0000011774", symbol="000660"), id="other-symbol"),
        pytest.param(report("0000011774", ts_accepted=T0 - timedelta(minutes=5)), id="accepted-before-ours"),
        pytest.param(report("0000011774", ts_accepted=T0 + timedelta(minutes=10)), id="accepted-long-after"),
    ],
)
def test_plan_when_broker_order_differs_in_shape_or_time_then_not_adopted(other: BrokerOrderReport):
    # Act
    result = plan(open_orders=[our_order("k1")], broker_orders=[other])

    # Assert
    assert ("not_placed", f"{ACCOUNT}:k1") in kinds(result)
    assert "adopt" not in [kind for kind, _ in kinds(result)]


def test_plan_when_two_broker_orders_match_one_new_order_then_ambiguous_and_stop():
    # Act
    result = plan(open_orders=[our_order("k1")], broker_orders=[report("0000011774"), report("0000011775")])

    # Assert
    assert ("ambiguous", f"{ACCOUNT}:k1") in kinds(result)
    assert "adopt" not in [kind for kind, _ in kinds(result)]
    [reason] = result.stop_reasons
    assert f"{ACCOUNT}:k1" in reason
    assert not result.is_clean


def test_plan_when_one_broker_order_matches_two_new_orders_then_both_ambiguous_and_stop():
    # Arrange: two decisions of the same shape, one order at the broker.
    first, second = our_order("k1", order_id=1), our_order("k2", order_id=2)

    # Act
    result = plan(open_orders=[first, second], broker_orders=[report("0000011774")])

    # Assert
    assert kinds(result) == [("ambiguous", first.idempotency_key), ("ambiguous", second.idempotency_key)]
    assert len(result.stop_reasons) == 1


def test_plan_when_match_is_ambiguous_then_candidates_are_not_labelled_external():
    # Arrange: one of the two is ours, so neither is "placed by hand" and no fill is recorded as external.
    candidates = [report("0000011774", BrokerOrderState.FILLED, filled=10), report("0000011775")]

    # Act
    result = plan(
        open_orders=[our_order("k1")],
        broker_orders=candidates,
        broker_fills=[fill("F1", "0000011774", 10)],
        broker_positions=[holding("005930", 10)],
    )

    # Assert
    assert [kind for kind, _ in kinds(result)] == ["ambiguous"]


# -- WORKING ORDERS ---------------------------------------------------------------------------------------


def test_plan_when_fill_was_missed_then_fill_action_for_our_order():
    # Arrange: F1 was recorded, F2 happened while the daemon was down.
    order = our_order("k1", "0000011774", OrderStatus.PARTIAL)
    f1, f2 = fill("F1", "0000011774", 4), fill("F2", "0000011774", 6, seconds=60)

    # Act
    result = plan(
        open_orders=[order],
        recorded_fills=[f1],
        broker_orders=[report("0000011774", BrokerOrderState.FILLED, filled=10)],
        broker_fills=[f1, f2],
        broker_positions=[holding("005930", 10)],
    )

    # Assert
    [action] = result.actions
    assert (action.kind, action.order_key, action.fill) == ("fill", order.idempotency_key, as_cumulative(f2, 10))
    assert result.positions_after["005930"].quantity == Decimal(10)
    assert result.position_differences == ()


def test_plan_when_broker_cancelled_the_order_then_cancel():
    # Arrange
    order = our_order("k1", "0000011774")

    # Act
    result = plan(open_orders=[order], broker_orders=[report("0000011774", BrokerOrderState.CANCELED)])

    # Assert
    assert kinds(result) == [("cancel", order.idempotency_key)]


def test_plan_when_broker_has_no_record_of_a_sent_order_then_cancel_as_expired():
    # Act
    result = plan(open_orders=[our_order("k1", "0000011774")], broker_orders=[])

    # Assert
    assert kinds(result) == [("cancel", f"{ACCOUNT}:k1")]


def test_plan_when_broker_rejected_the_order_then_reject():
    # Act
    result = plan(
        open_orders=[our_order("k1", "0000011774")], broker_orders=[report("0000011774", BrokerOrderState.REJECTED)]
    )

    # Assert
    assert kinds(result) == [("reject", f"{ACCOUNT}:k1")]


# -- ORDERS PLACED BY HAND ----------------------------------------------------------------------------------


def test_plan_when_order_placed_by_hand_at_the_broker_then_external_order_and_fill_never_adopted():
    # Arrange: no NEW order of ours; someone bought 3 shares of 000660 in the broker's app.
    by_hand = report("0000099001", BrokerOrderState.FILLED, symbol="000660", quantity=3, limit=150_000, filled=3)
    f1 = fill("X1", "0000099001", 3, 150_000, symbol="000660")

    # Act
    result = plan(
        open_orders=[], broker_orders=[by_hand], broker_fills=[f1], broker_positions=[holding("000660", 3, 150_000)]
    )

    # Assert
    assert kinds(result) == [("external_order", None), ("external_fill", None)]
    assert result.actions[0].report == by_hand and result.actions[1].fill == as_cumulative(f1, 3)
    assert result.positions_after["000660"].quantity == Decimal(3)
    assert result.position_differences == ()


def test_plan_when_order_placed_by_hand_differs_from_our_new_order_then_ours_not_placed_and_it_external():
    # Arrange
    new = our_order("k1")
    by_hand = report("0000099001", quantity=1)

    # Act
    result = plan(open_orders=[new], broker_orders=[by_hand])

    # Assert
    assert kinds(result) == [("not_placed", new.idempotency_key), ("external_order", None)]


# -- POSITIONS -------------------------------------------------------------------------------------------


def test_plan_when_positions_from_fills_differ_from_broker_holdings_then_position_differences():
    # Arrange: our fills say 10 × 005930; the broker holds 7.
    done = our_order("k1", "0000011774", OrderStatus.FILLED)
    f1 = fill("F1", "0000011774", 10)

    # Act
    result = plan(
        known_orders=[done],
        recorded_fills=[f1],
        broker_orders=[report("0000011774", BrokerOrderState.FILLED, filled=10)],
        broker_fills=[f1],
        broker_positions=[holding("005930", 7)],
    )

    # Assert
    assert result.actions == ()
    assert result.position_differences == (
        PositionDifference("005930", Decimal(10), Decimal(7), Decimal(72100), Decimal(72100)),
    )
    assert not result.is_clean


def test_plan_when_broker_holds_a_symbol_the_daemon_never_held_then_external_holding_reported_not_adopted():
    # Arrange: 2 × 000660 bought by hand on an earlier day (no order or fill the broker's days show); our
    # 005930 agrees with the broker.
    done = our_order("k1", "0000011774", OrderStatus.FILLED)
    f1 = fill("F1", "0000011774", 10)

    # Act
    result = plan(
        known_orders=[done],
        recorded_fills=[f1],
        broker_orders=[report("0000011774", BrokerOrderState.FILLED, filled=10)],
        broker_fills=[f1],
        broker_positions=[holding("005930", 10), holding("000660", 2, 150_000)],
    )

    # Assert: labelled, left out of our positions, and no reason to stop.
    assert [(a.kind, a.detail, a.after) for a in result.actions] == [
        ("external_holding", "2 000660 @ 150000 at the broker were not bought by this daemon", "reported, not adopted")
    ]
    assert result.position_differences == () and result.stop_reasons == ()
    assert "000660" not in result.positions_after


# -- BROKER NUMBERS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [pytest.param("11774", "0000011774", id="ours-short"), pytest.param("0000011774", "11774", id="theirs-short")],
)
def test_plan_when_broker_number_differs_only_in_leading_zeros_then_same_order(ours: str, theirs: str):
    # Arrange: our working order, and an earlier order of ours that is done.
    working = our_order("k1", ours, OrderStatus.PARTIAL, order_id=1)
    done = our_order("k0", ours.replace("11774", "11700"), OrderStatus.FILLED, order_id=2, quantity=5)
    f0 = fill("F0", theirs.replace("11774", "11700"), 5, seconds=-60)
    f1, f2 = fill("F1", theirs, 4), fill("F2", theirs, 6, seconds=60)

    # Act
    result = plan(
        open_orders=[working],
        known_orders=[done, working],
        recorded_fills=[f0, f1],
        broker_orders=[
            report(theirs.replace("11774", "11700"), BrokerOrderState.FILLED, quantity=5, filled=5),
            report(theirs, BrokerOrderState.FILLED, filled=10),
        ],
        broker_fills=[f0, f1, f2],
        broker_positions=[holding("005930", 15)],
    )

    # Assert
    [action] = result.actions
    assert (action.kind, action.order_key, action.fill) == ("fill", working.idempotency_key, as_cumulative(f2, 10))
    assert result.position_differences == ()


def test_plan_when_new_order_matches_but_number_is_already_ours_then_not_adopted_twice():
    # Arrange: the broker's only order of that shape is one we already track (zero-padded differently).
    tracked = our_order("k0", "11774", order_id=1)
    new = our_order("k1", order_id=2)

    # Act
    result = plan(open_orders=[tracked, new], broker_orders=[report("0000011774")])

    # Assert
    assert kinds(result) == [("not_placed", new.idempotency_key)]
