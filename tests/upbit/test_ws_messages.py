"""Specifications of WebSocket message parsing (upbit-openapi.md §5.3) on every copied frame: DEFAULT and SIMPLE,
fills of ``myOrder`` with this fill's price and volume, ``myAsset`` balances."""

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.upbit.parsers import UpbitParseError
from stock_manager.adapters.broker.upbit.ws_messages import (
    AssetChange,
    MyAssetEvent,
    MyOrderEvent,
    OrderbookEvent,
    TickerEvent,
    TradeEvent,
    parse_ws_message,
    to_default_format,
)
from tests.upbit.support import ws_message


def test_ticker_when_default_and_simple_frames_carry_the_same_values_then_the_same_event() -> None:
    default = parse_ws_message(ws_message("ws_public.jsonl", "ticker, DEFAULT"))
    simple = parse_ws_message(ws_message("ws_public.jsonl", "same ticker in SIMPLE"))

    assert isinstance(default, TickerEvent)
    assert default.market == "KRW-BTC"
    assert default.trade_price == Decimal("32287000")
    assert default.signed_change_rate == Decimal("0.0126713295")
    assert default.acc_trade_price_24h == Decimal("228827082483.70729")
    assert default.traded_at == datetime(2023, 2, 21, 7, 41, 2, 139000, tzinfo=UTC)
    assert default.stream_type == "SNAPSHOT"
    assert simple == dataclasses.replace(default, stream_type="REALTIME")


def test_trade_when_parsed_then_taker_side_best_quotes_and_sequence() -> None:
    event = parse_ws_message(ws_message("ws_public.jsonl", "trade;"))

    assert isinstance(event, TradeEvent)
    assert (event.market, event.ask_bid, event.sequential_id) == ("KRW-BTC", "ASK", 1584508285000002)
    assert event.trade_price == Decimal("6747000")
    assert event.trade_volume == Decimal("0.06499468")
    assert event.best_bid_size == Decimal("0.01202163")
    assert event.traded_at == datetime(2020, 3, 18, 5, 11, 25, tzinfo=UTC)


def test_orderbook_when_parsed_then_every_level_best_first() -> None:
    event = parse_ws_message(ws_message("ws_public.jsonl", "orderbook;"))

    assert isinstance(event, OrderbookEvent)
    assert len(event.units) == 2
    assert event.units[0].ask_price == Decimal("148520000")
    assert event.units[0].bid_size == Decimal("0.04296774")
    assert event.total_ask_size == Decimal("10.37591054")


def test_orderbook_when_simple_then_unit_abbreviations_are_expanded() -> None:
    default = ws_message("ws_public.jsonl", "orderbook;")
    simple = {
        "ty": "orderbook",
        "cd": "KRW-BTC",
        "tms": default["timestamp"],
        "tas": default["total_ask_size"],
        "tbs": default["total_bid_size"],
        "lv": 0,
        "st": "REALTIME",
        "obu": [
            {"ap": u["ask_price"], "bp": u["bid_price"], "as": u["ask_size"], "bs": u["bid_size"]}
            for u in default["orderbook_units"]
        ],
    }

    assert parse_ws_message(simple) == parse_ws_message(default)


def test_my_order_when_accepted_then_an_open_order_event_without_a_fill() -> None:
    event = parse_ws_message(ws_message("ws_private.jsonl", "order accepted"))

    assert isinstance(event, MyOrderEvent)
    assert (event.side, event.ord_type, event.state) == ("bid", "limit", "wait")
    assert event.identifier == "bot-1"
    assert event.volume == Decimal("0.001")
    assert event.locked == Decimal("148074.0")
    assert not event.is_fill and event.fill_price is None and event.fill_volume is None
    assert event.trade_uuid is None and event.trade_fee is None and event.trade_at is None


def test_my_order_when_a_fill_happens_then_price_and_volume_are_the_fill_s() -> None:
    event = parse_ws_message(ws_message("ws_private.jsonl", "fill event"))

    assert isinstance(event, MyOrderEvent)
    assert event.is_fill
    assert event.trade_uuid == "68315169-fba4-4175-ade3-aff14a616657"
    assert event.fill_price == Decimal("148000000.0")
    assert event.fill_volume == Decimal("0.001")
    assert event.trade_fee == Decimal("74.0")
    assert event.is_maker is True
    assert event.executed_volume == Decimal("0.001") and event.remaining_volume == Decimal("0.0")
    assert event.executed_funds == Decimal("148000.0")
    assert event.trade_at == datetime(2025, 7, 4, 5, 15, 0, 365000, tzinfo=UTC)
    assert event.order_at == datetime(2025, 7, 4, 5, 14, tzinfo=UTC)


def test_my_order_when_done_then_terminal_state_and_no_fill_fields() -> None:
    event = parse_ws_message(ws_message("ws_private.jsonl", "terminal event"))

    assert isinstance(event, MyOrderEvent)
    assert event.state == "done" and not event.is_fill
    assert event.paid_fee == Decimal("74.0")


def test_my_order_when_simple_then_the_same_event_as_default() -> None:
    default = ws_message("ws_private.jsonl", "fill event")
    abbreviations = {
        "type": "ty",
        "code": "cd",
        "uuid": "uid",
        "ask_bid": "ab",
        "order_type": "ot",
        "state": "s",
        "trade_uuid": "tuid",
        "price": "p",
        "avg_price": "ap",
        "volume": "v",
        "remaining_volume": "rv",
        "executed_volume": "ev",
        "trades_count": "tc",
        "reserved_fee": "rsf",
        "remaining_fee": "rmf",
        "paid_fee": "pf",
        "locked": "l",
        "executed_funds": "ef",
        "time_in_force": "tif",
        "trade_fee": "tf",
        "is_maker": "im",
        "identifier": "id",
        "smp_type": "smpt",
        "prevented_volume": "pv",
        "prevented_locked": "pl",
        "trade_timestamp": "ttms",
        "order_timestamp": "otms",
        "timestamp": "tms",
        "stream_type": "st",
    }
    simple = {abbreviations[key]: value for key, value in default.items()}

    assert to_default_format(simple) == default
    assert parse_ws_message(simple) == parse_ws_message(default)


def test_my_asset_when_balances_change_then_each_currency_with_balance_and_locked() -> None:
    event = parse_ws_message(ws_message("ws_private.jsonl", "balance change"))

    assert isinstance(event, MyAssetEvent)
    assert event.assets == (
        AssetChange("KRW", Decimal("851926.0"), Decimal("0.0")),
        AssetChange("BTC", Decimal("0.001"), Decimal("0.0")),
    )
    assert event.asset_at == datetime(2025, 7, 4, 5, 15, 0, 365000, tzinfo=UTC)


def test_my_asset_when_simple_then_asset_abbreviations_are_expanded() -> None:
    simple = {
        "ty": "myAsset",
        "astuid": "u-1",
        "ast": [{"cu": "KRW", "b": 1.5, "l": 0}],
        "asttms": 1751606100365,
        "tms": 1751606100412,
        "st": "REALTIME",
    }

    event = parse_ws_message(simple)

    assert isinstance(event, MyAssetEvent)
    assert event.assets == (AssetChange("KRW", Decimal("1.5"), Decimal(0)),)


def test_parse_when_a_type_is_not_modelled_then_none() -> None:
    assert parse_ws_message({"type": "candle.1m", "code": "KRW-BTC"}) is None


def test_parse_when_a_known_type_lacks_a_field_then_a_parse_error() -> None:
    message = dict(ws_message("ws_private.jsonl", "fill event"))
    del message["uuid"]

    with pytest.raises(UpbitParseError):
        parse_ws_message(message)
