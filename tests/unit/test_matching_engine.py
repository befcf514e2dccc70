"""The simulator's matching engine: validation, price-taking fills, participation, costs, ledger, expiry."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.rejections import RejectCode
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.adapters.venues.krx.rules import krx_cost_model, krx_instrument
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.market import Tick
from stock_manager.domain.model import InstrumentKind, OrderType, Side
from stock_manager.domain.sessions import TradingSession
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest

ACCOUNT = "SIM-test"
SAMSUNG = "005930"
KODEX = "069500"
DAY_2023 = date(2023, 12, 22)
DAY_2025 = date(2025, 6, 13)


def _session(day: date) -> TradingSession:
    return krx_session(day, kst_datetime(day, time(9, 0)), kst_datetime(day, time(15, 30)))


def _engine(
    day: date = DAY_2023, *, base: Decimal = Decimal(75000), cash: Decimal = Decimal(10_000_000), rate: str = "0.25"
) -> MatchingEngine:
    engine = MatchingEngine(
        ACCOUNT,
        {SAMSUNG: krx_instrument(SAMSUNG), KODEX: krx_instrument(KODEX, InstrumentKind.ETF)},
        MatchingConfig(participation_rate=Decimal(rate), start_cash_krw=cash, cost_model=krx_cost_model()),
    )
    session = _session(day)
    engine.open_session(session, {SAMSUNG: base, KODEX: Decimal(35000)}, session.ts_open - timedelta(minutes=30))
    return engine


def _at(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return kst_datetime(day, time(hh, mm, ss))


def _tick(price: int, volume: int, minute: int, day: date = DAY_2023, symbol: str = SAMSUNG) -> Tick:
    return Tick(symbol, Decimal(price), Decimal(volume), _at(day, 9, 0) + timedelta(minutes=minute))


def _buy(qty: int, price: int | None = None, symbol: str = SAMSUNG) -> OrderRequest:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return OrderRequest(ACCOUNT, symbol, Side.BUY, kind, Decimal(qty), None if price is None else Decimal(price))


def _sell(qty: int, price: int | None = None, symbol: str = SAMSUNG) -> OrderRequest:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return OrderRequest(ACCOUNT, symbol, Side.SELL, kind, Decimal(qty), None if price is None else Decimal(price))


def _rejection(engine: MatchingEngine, request: OrderRequest, ts: datetime | None = None) -> OrderRejectedByBroker:
    with pytest.raises(OrderRejectedByBroker) as raised:
        engine.submit(request, ts or _at(DAY_2023, 9, 5))
    return raised.value


def _holding(engine: MatchingEngine, qty: int, price: int = 75000, day: date = DAY_2023) -> None:
    engine.submit(_buy(qty), _at(day, 8, 45))
    assert engine.on_print(_tick(price, 1_000_000, 0, day))


# -- ACCEPTANCE ---------------------------------------------------------------------------------------


def test_submit_when_valid_then_ten_digit_order_number_and_no_venue_reference() -> None:
    engine = _engine()

    first = engine.submit(_buy(1, 75000), _at(DAY_2023, 9, 1))
    second = engine.submit(_buy(1, 74900), _at(DAY_2023, 9, 2))

    assert (first.broker_order_number, first.venue_order_ref) == ("0000000001", "")
    assert second.broker_order_number == "0000000002"
    assert first.ts_accepted == _at(DAY_2023, 9, 1)
    assert engine.order("1") == engine.orders(DAY_2023)[0]  # KIS paper's unpadded number resolves too


def test_submit_when_pre_open_then_accepted_and_when_at_or_after_close_then_market_closed() -> None:
    engine = _engine()

    engine.submit(_buy(1), _at(DAY_2023, 8, 30))
    assert _rejection(engine, _buy(1), _at(DAY_2023, 8, 29)).code == RejectCode.MARKET_CLOSED
    closed = _rejection(engine, _buy(1), _at(DAY_2023, 15, 30))
    assert (closed.code, str(closed).startswith("장운영시간이 아닙니다.")) == (RejectCode.MARKET_CLOSED, True)


def test_submit_when_session_expired_then_market_closed() -> None:
    engine = _engine()
    engine.expire_open_orders(_at(DAY_2023, 15, 30))

    assert _rejection(engine, _buy(1), _at(DAY_2023, 10, 0)).code == RejectCode.MARKET_CLOSED


def test_submit_when_limit_price_off_tick_grid_then_tick_size_rejection() -> None:
    engine = _engine()

    rejected = _rejection(engine, _buy(1, 75050))  # tick is 100 at 50,000-200,000

    assert rejected.code == RejectCode.TICK_SIZE
    assert str(rejected).startswith("주식주문호가단위 오류입니다.")
    engine.submit(_buy(1, 35005, symbol=KODEX), _at(DAY_2023, 9, 5))  # ETF: tick 5


def test_submit_when_limit_outside_daily_band_then_price_limit_rejection() -> None:
    engine = _engine(base=Decimal(75000))  # limits 52,500 / 97,500

    assert _rejection(engine, _buy(1, 97600)).code == RejectCode.ABOVE_UPPER_LIMIT
    assert _rejection(engine, _sell(1, 52400)).code == RejectCode.BELOW_LOWER_LIMIT
    engine.submit(_buy(1, 97500), _at(DAY_2023, 9, 5))
    assert engine.day_quote(SAMSUNG).limits.lower == Decimal(52500)  # type: ignore[union-attr]


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "NaN"])
def test_submit_when_quantity_not_positive_integer_then_quantity_rejection(quantity: str) -> None:
    request = OrderRequest(ACCOUNT, SAMSUNG, Side.BUY, OrderType.LIMIT, Decimal(quantity), Decimal(75000))

    assert _rejection(_engine(), request).code == RejectCode.QUANTITY


def test_submit_when_symbol_unknown_or_halted_or_account_wrong_then_rejected() -> None:
    engine = MatchingEngine(
        ACCOUNT, {SAMSUNG: krx_instrument(SAMSUNG), KODEX: krx_instrument(KODEX, InstrumentKind.ETF)}
    )
    session = _session(DAY_2023)
    engine.open_session(session, {SAMSUNG: Decimal(75000)}, session.ts_open)  # KODEX has no bar today

    assert _rejection(engine, _buy(1, 35000, symbol=KODEX)).code == RejectCode.HALTED
    assert _rejection(engine, _buy(1, 1000, symbol="123456")).code == RejectCode.UNKNOWN_SYMBOL
    wrong = OrderRequest("other", SAMSUNG, Side.BUY, OrderType.MARKET, Decimal(1), None)
    assert _rejection(engine, wrong).code == RejectCode.ACCOUNT


def test_submit_when_market_order_has_price_or_limit_has_none_then_price_rejection() -> None:
    engine = _engine()

    with_price = OrderRequest(ACCOUNT, SAMSUNG, Side.BUY, OrderType.MARKET, Decimal(1), Decimal(75000))
    without = OrderRequest(ACCOUNT, SAMSUNG, Side.BUY, OrderType.LIMIT, Decimal(1), None)
    assert _rejection(engine, with_price).code == RejectCode.PRICE
    assert _rejection(engine, without).code == RejectCode.PRICE


# -- CASH AND HOLDINGS --------------------------------------------------------------------------------


def test_submit_when_limit_buy_exceeds_cash_with_commission_then_insufficient_cash() -> None:
    engine = _engine(cash=Decimal(750_104))  # 10 × 75,000 = 750,000 + commission 105.39 → 105

    rejected = _rejection(engine, _buy(10, 75000))
    assert (rejected.code, str(rejected).startswith("주문가능금액을 초과 했습니다")) == (
        RejectCode.INSUFFICIENT_CASH,
        True,
    )
    engine = _engine(cash=Decimal(750_105))
    engine.submit(_buy(10, 75000), _at(DAY_2023, 9, 5))
    assert engine.cash().orderable_krw == Decimal(0)


def test_submit_when_market_buy_then_cash_reserved_at_upper_limit() -> None:
    engine = _engine(cash=Decimal(1_000_000))  # upper limit 97,500

    engine.submit(_buy(10), _at(DAY_2023, 9, 5))  # reserves 975,000 + 137 commission

    assert engine.cash().orderable_krw == Decimal(1_000_000 - 975_000 - 137)
    assert _rejection(engine, _buy(1)).code == RejectCode.INSUFFICIENT_CASH
    assert _engine(cash=Decimal(975_136)).orderable_krw == Decimal(975_136)
    assert _rejection(_engine(cash=Decimal(975_136)), _buy(10)).code == RejectCode.INSUFFICIENT_CASH


def test_submit_when_working_buys_reserve_cash_then_second_buy_sees_only_the_rest() -> None:
    engine = _engine(cash=Decimal(1_000_000))
    engine.submit(_buy(10, 75000), _at(DAY_2023, 9, 5))  # 750,105 reserved

    assert _rejection(engine, _buy(4, 75000)).code == RejectCode.INSUFFICIENT_CASH
    engine.submit(_buy(3, 75000), _at(DAY_2023, 9, 6))


def test_submit_when_selling_more_than_held_then_insufficient_holdings() -> None:
    engine = _engine()

    assert _rejection(engine, _sell(1)).code == RejectCode.INSUFFICIENT_HOLDINGS
    _holding(engine, 10)
    engine.submit(_sell(6, 80000), _at(DAY_2023, 9, 10))  # working: 4 left to sell
    assert _rejection(engine, _sell(5, 80000)).code == RejectCode.INSUFFICIENT_HOLDINGS
    engine.submit(_sell(4), _at(DAY_2023, 9, 11))
    assert engine.sellable_quantity(SAMSUNG) == Decimal(0)


# -- FILLS --------------------------------------------------------------------------------------------


def test_on_print_when_market_order_then_fills_at_next_print_price() -> None:
    engine = _engine()
    engine.on_print(_tick(75000, 1000, 0))
    ack = engine.submit(_buy(10), _at(DAY_2023, 9, 0, 30))

    fills = engine.on_print(_tick(75200, 1000, 1))

    assert [(f.broker_fill_id, f.quantity, f.price) for f in fills] == [
        (f"{ack.broker_order_number}-0001", Decimal(10), Decimal(75200))
    ]
    assert fills[0].ts_filled == _tick(75200, 1000, 1).ts_event
    assert engine.orders(DAY_2023)[0].state is BrokerOrderState.FILLED


def test_on_print_when_other_symbol_prints_then_order_waits_for_its_own_symbol() -> None:
    engine = _engine()
    engine.submit(_buy(10), _at(DAY_2023, 9, 0))

    assert engine.on_print(_tick(35000, 1000, 1, symbol=KODEX)) == []
    assert len(engine.on_print(_tick(75100, 1000, 2))) == 1


def test_on_print_when_limit_buy_not_reached_then_no_fill_and_when_reached_then_fills_at_print() -> None:
    engine = _engine()
    engine.submit(_buy(10, 74800), _at(DAY_2023, 9, 0))

    assert engine.on_print(_tick(74900, 10_000, 1)) == []
    fills = engine.on_print(_tick(74700, 10_000, 2))

    assert [(f.quantity, f.price) for f in fills] == [(Decimal(10), Decimal(74700))]  # price improvement


def test_on_print_when_limit_sell_then_fills_only_at_or_above_limit() -> None:
    engine = _engine()
    _holding(engine, 10)
    engine.submit(_sell(10, 75500), _at(DAY_2023, 9, 5))

    assert engine.on_print(_tick(75400, 10_000, 6)) == []
    assert [(f.quantity, f.price) for f in engine.on_print(_tick(75500, 10_000, 7))] == [(Decimal(10), Decimal(75500))]


def test_on_print_when_volume_small_then_partial_fills_capped_by_participation() -> None:
    engine = _engine()
    ack = engine.submit(_buy(100), _at(DAY_2023, 9, 0))

    first = engine.on_print(_tick(75000, 100, 1))  # 25 % of 100 = 25
    nothing = engine.on_print(_tick(75000, 0, 2))
    second = engine.on_print(_tick(75100, 3, 3))  # 25 % of 3 = 0.75 → 0
    third = engine.on_print(_tick(75100, 400, 4))  # 100 → 75 left

    assert [f.quantity for f in first] == [Decimal(25)]
    assert nothing == [] and second == []
    assert [(f.broker_fill_id, f.quantity) for f in third] == [(f"{ack.broker_order_number}-0002", Decimal(75))]
    report = engine.orders(DAY_2023)[0]
    assert (report.state, report.filled_quantity) == (BrokerOrderState.FILLED, Decimal(100))
    assert report.avg_fill_price == Decimal("75075.0000")


def test_on_print_when_several_orders_eligible_then_capacity_shared_in_time_priority() -> None:
    engine = _engine(rate="0.5")
    first = engine.submit(_buy(30, 75000), _at(DAY_2023, 9, 0))
    second = engine.submit(_buy(30), _at(DAY_2023, 9, 0, 1))
    engine.submit(_buy(30, 74000), _at(DAY_2023, 9, 0, 2))  # not reached

    fills = engine.on_print(_tick(75000, 80, 1))  # capacity 40

    assert [(f.broker_order_number, f.quantity) for f in fills] == [
        (first.broker_order_number, Decimal(30)),
        (second.broker_order_number, Decimal(10)),
    ]


def test_on_print_when_buy_and_sell_then_commission_and_2023_tax_truncated_to_the_won() -> None:
    engine = _engine()
    engine.submit(_buy(10), _at(DAY_2023, 9, 0))
    (buy,) = engine.on_print(_tick(75900, 1000, 1))
    engine.submit(_sell(10), _at(DAY_2023, 9, 2))
    (sell,) = engine.on_print(_tick(75900, 1000, 3))

    # 759,000 × 0.0140527 % = 106.66 → 106; tax 759,000 × 0.20 % = 1,518
    assert (buy.commission_krw, buy.tax_krw) == (Decimal(106), Decimal(0))
    assert (sell.commission_krw, sell.tax_krw) == (Decimal(106), Decimal(1518))
    assert engine.deposit_krw == Decimal(10_000_000 - 106 - 106 - 1518)
    assert engine.positions() == []
    assert engine.holding(SAMSUNG).realized_pnl_krw == Decimal(0)


def test_on_print_when_sell_in_2025_then_tax_is_0_15_percent() -> None:
    engine = _engine(DAY_2025, base=Decimal(60000))
    _holding(engine, 10, 60200, DAY_2025)
    engine.submit(_sell(10), _at(DAY_2025, 9, 5))

    (sell,) = engine.on_print(_tick(58300, 1000, 6, DAY_2025))

    # 583,000 × 0.15 % = 874.5 → 874; commission 81.93 → 81
    assert (sell.tax_krw, sell.commission_krw) == (Decimal(874), Decimal(81))


def test_on_print_when_buy_fills_then_cash_and_holdings_follow_the_fill() -> None:
    engine = _engine()
    engine.submit(_buy(10, 75000), _at(DAY_2023, 9, 0))

    engine.on_print(_tick(74800, 20, 1))  # 5 shares at 74,800
    engine.on_print(_tick(75000, 100, 2))  # 5 shares at 75,000

    cash = engine.cash()
    assert cash.deposit_krw == Decimal(10_000_000 - 374_000 - 52 - 375_000 - 52)
    assert cash.orderable_krw == cash.deposit_krw
    (position,) = engine.positions()
    assert (position.symbol, position.quantity, position.avg_price) == (SAMSUNG, Decimal(10), Decimal(74900))


def test_on_print_when_outside_a_session_then_value_error() -> None:
    engine = _engine()
    engine.expire_open_orders(_at(DAY_2023, 15, 30))

    with pytest.raises(ValueError, match="outside a session"):
        engine.on_print(_tick(75000, 10, 400))


# -- CANCEL AND EXPIRY --------------------------------------------------------------------------------


def test_cancel_when_partially_filled_then_remainder_canceled_and_reservation_released() -> None:
    engine = _engine(cash=Decimal(1_000_000))
    ack = engine.submit(_buy(10, 75000), _at(DAY_2023, 9, 0))
    engine.on_print(_tick(75000, 16, 1))  # 4 filled

    report = engine.cancel(ack.broker_order_number, _at(DAY_2023, 9, 2))

    assert (report.canceled_quantity, report.reason) == (Decimal(6), "canceled by request")
    assert engine.orders(DAY_2023)[0].state is BrokerOrderState.CANCELED
    assert engine.orders(DAY_2023)[0].filled_quantity == Decimal(4)
    assert engine.cash().orderable_krw == engine.cash().deposit_krw
    assert engine.on_print(_tick(75000, 1000, 3)) == []


def test_cancel_when_filled_or_unknown_then_rejected() -> None:
    engine = _engine()
    ack = engine.submit(_buy(1), _at(DAY_2023, 9, 0))
    engine.on_print(_tick(75000, 100, 1))

    with pytest.raises(OrderRejectedByBroker) as not_cancelable:
        engine.cancel(ack.broker_order_number, _at(DAY_2023, 9, 2))
    with pytest.raises(OrderRejectedByBroker) as unknown:
        engine.cancel("0000000099", _at(DAY_2023, 9, 2))

    assert not_cancelable.value.code == RejectCode.NOT_CANCELABLE
    assert unknown.value.code == RejectCode.ORDER_NOT_FOUND


def test_expire_open_orders_when_close_then_cancel_reports_with_remaining_quantity() -> None:
    engine = _engine()
    filled = engine.submit(_buy(5), _at(DAY_2023, 9, 0))
    partial = engine.submit(_buy(10, 75000), _at(DAY_2023, 9, 0, 1))
    untouched = engine.submit(_buy(7, 70000), _at(DAY_2023, 9, 0, 2))
    engine.on_print(_tick(75000, 40, 1))  # capacity 10: 5 to the market order, 5 to the limit
    close = _at(DAY_2023, 15, 30)

    reports = engine.expire_open_orders(close)

    assert [(r.broker_order_number, r.canceled_quantity, r.reason, r.ts_event) for r in reports] == [
        (partial.broker_order_number, Decimal(5), "expired at the close", close),
        (untouched.broker_order_number, Decimal(7), "expired at the close", close),
    ]
    states = {r.broker_order_number: r.state for r in engine.orders(DAY_2023)}
    assert states[filled.broker_order_number] is BrokerOrderState.FILLED
    assert states[untouched.broker_order_number] is BrokerOrderState.CANCELED
    assert not engine.has_working_orders


def test_fills_when_queried_by_day_then_only_that_kst_day() -> None:
    engine = _engine()
    engine.submit(_buy(1), _at(DAY_2023, 9, 0))
    engine.on_print(_tick(75000, 100, 1))
    engine.expire_open_orders(_at(DAY_2023, 15, 30))
    next_day = date(2023, 12, 26)
    session = _session(next_day)
    engine.open_session(session, {SAMSUNG: Decimal(75900)}, session.ts_open - timedelta(minutes=30))

    assert len(engine.fills(DAY_2023)) == 1
    assert engine.fills(next_day) == []
    assert engine.orders(next_day) == []
    assert engine.fills()[0].ts_filled.tzinfo is UTC
