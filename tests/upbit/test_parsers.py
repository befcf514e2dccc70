"""Specifications of the REST parsers on every copied sample (upbit-openapi.md §3, §4): Decimal amounts, aware UTC
times, the market buy that ends in ``cancel`` with a fill, both shapes of ``/orders/chance``."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.upbit.parsers import (
    UpbitParseError,
    parse_accounts,
    parse_candles,
    parse_chance,
    parse_instruments,
    parse_order,
    parse_orders,
    parse_tickers,
    parse_trade_ticks,
    to_decimal,
)
from stock_manager.adapters.broker.upbit.rest import decode_json
from tests.upbit.support import SAMPLES, order_sample, sample


def test_parse_order_when_a_limit_bid_was_just_accepted_then_every_amount_is_exact() -> None:
    order = parse_order(order_sample("POST /v1/orders -> 201"))

    assert order.uuid == "5d303952-8be9-41e6-915b-121a90026248"
    assert order.identifier == "bot-20250809-000001"
    assert (order.market, order.side, order.ord_type, order.state) == ("KRW-BTC", "bid", "limit", "wait")
    assert order.price == Decimal("155772000")
    assert order.volume == order.remaining_volume == Decimal("0.0001")
    assert order.executed_volume == Decimal(0)
    assert order.reserved_fee == order.remaining_fee == Decimal("7.7886")
    assert order.locked == Decimal("15584.9886")
    assert order.created_at == datetime(2025, 8, 9, 7, 52, 49, tzinfo=UTC)
    assert order.trades == () and order.trades_count == 0
    assert order.is_open and not order.is_final


def test_parse_order_when_get_order_answers_then_trades_is_an_empty_tuple() -> None:
    order = parse_order(order_sample("GET /v1/order?uuid="))

    assert order.trades == ()
    assert order.executed_funds is None


def test_parse_order_when_the_cancel_snapshot_answers_then_state_is_still_wait() -> None:
    order = parse_order(order_sample("DELETE /v1/order"))

    assert order.state == "wait"
    assert order.identifier is None


def test_parse_order_when_a_market_buy_ends_in_cancel_then_its_fill_is_kept() -> None:
    order = parse_order(order_sample("GET /v1/order -> market BUY"))

    assert (order.ord_type, order.state) == ("price", "cancel")
    assert order.is_final
    assert order.price == Decimal("6000")  # KRW to spend, not a unit price
    assert order.volume is None and order.remaining_volume is None
    assert order.executed_volume == Decimal("0.00003736")
    assert order.paid_fee == Decimal("2.99989592")
    assert order.remaining_fee == Decimal("0.00010408")
    assert order.locked == Decimal("0.20826408")
    [trade] = order.trades
    assert trade.uuid == "e39834ac-0459-4164-aa8f-7165d9fdfd40"
    assert trade.price == Decimal("160594000")
    assert trade.volume == Decimal("0.00003736")
    assert trade.funds == Decimal("5999.79184") == trade.price * trade.volume
    assert trade.trend == "up"
    assert trade.created_at == datetime(2025, 8, 9, 7, 52, 11, 176073, tzinfo=UTC)


def test_parse_order_when_a_2020_market_sell_has_null_price_and_no_trend_then_both_are_none() -> None:
    order = parse_order(order_sample("GET /v1/order -> market SELL"))

    assert order.price is None
    assert (order.ord_type, order.state) == ("market", "done")
    assert order.executed_volume == Decimal("1.14660939")
    assert order.paid_fee == Decimal("0.51024117855")
    assert order.trades[0].trend is None
    assert order.trades[0].funds == Decimal("1020.4823571")
    assert order.created_at == datetime(2020, 7, 19, 17, 36, 25, tzinfo=UTC)


def test_parse_orders_when_a_closed_list_element_then_executed_funds_is_read() -> None:
    [order] = parse_orders([order_sample("GET /v1/orders/closed element")])

    assert order.executed_funds == Decimal("140000000.0")
    assert order.paid_fee == Decimal("70000.0")
    assert order.state == "done"


@pytest.mark.parametrize("trades_count", [1, "1"])
def test_parse_order_when_trades_count_is_a_string_then_it_is_still_an_int(trades_count: object) -> None:
    payload = {
        **order_sample("GET /v1/orders/closed element"),
        "trades_count": trades_count,
        "created_at": "2023-05-01T01:02:03Z",
    }

    order = parse_order(payload)

    assert order.trades_count == 1
    assert order.created_at == datetime(2023, 5, 1, 1, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [("uuid", None), ("executed_volume", "abc"), ("created_at", "yesterday"), ("locked", True), ("price", "Infinity")],
)
def test_parse_order_when_a_field_is_malformed_then_a_parse_error(field: str, value: object) -> None:
    with pytest.raises(UpbitParseError):
        parse_order({**order_sample("POST /v1/orders -> 201"), field: value})


def test_parse_accounts_when_the_sample_is_read_then_krw_and_btc_balances() -> None:
    krw, btc = parse_accounts(sample("rest_accounts.json"))

    assert (krw.currency, krw.balance, krw.locked, krw.avg_buy_price) == ("KRW", Decimal("1000000.0"), 0, 0)
    assert (btc.currency, btc.balance, btc.avg_buy_price, btc.unit_currency) == (
        "BTC",
        Decimal("2.0"),
        Decimal("140000000"),
        "KRW",
    )
    assert btc.avg_buy_price_modified is False


def test_parse_chance_when_an_object_then_fees_totals_types_and_accounts() -> None:
    chance = parse_chance(order_sample("GET /v1/orders/chance"))

    assert chance.market == "KRW-BTC"
    assert chance.bid_fee == chance.ask_fee == chance.maker_bid_fee == chance.maker_ask_fee == Decimal("0.0005")
    assert (chance.bid_currency, chance.ask_currency) == ("KRW", "BTC")
    assert chance.bid_min_total == chance.ask_min_total == Decimal("5000")
    assert chance.max_total == Decimal("1000000000")
    assert "price" in chance.bid_types and "market" in chance.ask_types
    assert chance.state == "active"
    assert chance.bid_account is not None and chance.bid_account.balance == Decimal("10000")
    assert chance.ask_account is not None and chance.ask_account.balance == Decimal("0.001")


def test_parse_chance_when_wrapped_in_an_array_then_the_same_values() -> None:
    payload = order_sample("GET /v1/orders/chance")

    assert parse_chance([payload]) == parse_chance(payload)


def test_parse_chance_when_maker_fees_are_zero_then_zero_not_the_taker_fee() -> None:
    payload = {**order_sample("GET /v1/orders/chance"), "maker_bid_fee": "0", "maker_ask_fee": "0.0"}

    chance = parse_chance(payload)

    assert chance.maker_bid_fee == 0 and chance.maker_ask_fee == 0


def test_parse_candles_when_the_sample_is_read_then_zone_less_utc_start_and_decimal_prices() -> None:
    newest, oldest = parse_candles(decode_json((SAMPLES / "rest_candles_minutes.json").read_bytes()))

    assert newest.start_utc == datetime(2025, 7, 1, 12, 1, tzinfo=UTC)
    assert oldest.start_utc == datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    assert oldest.opening_price == Decimal("145831000")
    assert oldest.acc_trade_price == Decimal("4022470467.03403")
    assert oldest.acc_trade_volume == Decimal("27.58904602")
    assert oldest.last_trade_at == datetime(2025, 7, 1, 12, 0, 59, 833000, tzinfo=UTC)
    assert oldest.unit_mins == 1


def test_parse_tickers_when_the_sample_is_read_then_numbers_keep_every_digit() -> None:
    [ticker] = parse_tickers(decode_json((SAMPLES / "rest_ticker.json").read_bytes()))

    assert ticker.market == "KRW-BTC"
    assert ticker.trade_price == Decimal("82324000")
    assert ticker.signed_change_rate == Decimal("-0.0069481303")
    assert ticker.acc_trade_price_24h == Decimal("250206655398.15125")
    assert ticker.trade_volume == Decimal("0.00042335")
    assert ticker.traded_at == datetime(2024, 8, 22, 7, 16, 2, 713000, tzinfo=UTC)


def test_parse_trade_ticks_when_given_then_taker_side_and_cursor() -> None:
    [tick] = parse_trade_ticks(
        [
            {
                "market": "KRW-BTC",
                "trade_date_utc": "2020-03-18",
                "trade_time_utc": "05:11:25",
                "timestamp": 1584508285812,
                "trade_price": 6747000,
                "trade_volume": 0.06499468,
                "prev_closing_price": 6774000,
                "change_price": 27000,
                "ask_bid": "ASK",
                "sequential_id": 1584508285000002,
            }
        ]
    )

    assert (tick.ask_bid, tick.sequential_id) == ("ASK", 1584508285000002)
    assert tick.trade_volume == Decimal("0.06499468")


def test_parse_instruments_when_given_then_tick_size_is_a_decimal() -> None:
    [instrument] = parse_instruments(
        [
            {
                "market": "KRW-BTC",
                "quote_currency": "KRW",
                "tick_size": "1000",
                "supported_levels": ["0", "10000", "100000"],
            }
        ]
    )

    assert instrument.tick_size == Decimal("1000")
    assert instrument.supported_levels == (Decimal(0), Decimal(10000), Decimal(100000))


@pytest.mark.parametrize(("raw", "expected"), [("0.00000001", "0.00000001"), (Decimal("0.1"), "0.1"), (5000, "5000")])
def test_to_decimal_when_strings_ints_or_decimals_then_exact(raw: object, expected: str) -> None:
    assert to_decimal(raw, field="x") == Decimal(expected)


@pytest.mark.parametrize("payload", [{"not": "a list"}, [1, 2], None])
def test_parse_accounts_when_the_payload_is_not_a_list_of_objects_then_a_parse_error(payload: object) -> None:
    with pytest.raises(UpbitParseError):
        parse_accounts(payload)
