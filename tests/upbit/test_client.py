"""Specifications of `UpbitExchangeClient` (upbit-openapi.md §3, §4): the order-type matrix checked before
sending, "not found" as None, the pre-cancel snapshot, every page of open orders, closed-order windows split until
complete, candles paged backwards and returned oldest first."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.upbit.client import UpbitExchangeClient
from stock_manager.adapters.broker.upbit.errors import UpbitOrderNotFound
from stock_manager.domain.errors import AmbiguousOrderOutcome, OrderRejectedByBroker, TemporaryBrokerError
from tests.upbit.support import (
    FakeTime,
    FakeUpbit,
    error_sample,
    fail,
    ok,
    order_sample,
    query_pairs,
    rest_client,
    sample,
)

CLOSED = order_sample("GET /v1/orders/closed element")
T0 = datetime(2025, 7, 1, 0, 0, tzinfo=UTC)


def client(fake: FakeUpbit, **options: Any) -> UpbitExchangeClient:
    return UpbitExchangeClient(rest_client(fake, FakeTime()), **options)


def an_order(number: int, created_at: datetime) -> dict[str, Any]:
    return {**CLOSED, "uuid": f"order-{number:05d}", "created_at": created_at.isoformat()}


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


# -- ACCOUNT ------------------------------------------------------------------------------------------------


async def test_accounts_when_asked_then_typed_balances() -> None:
    fake = FakeUpbit().on("GET", "/v1/accounts", ok(sample("rest_accounts.json")))

    balances = await client(fake).accounts()

    assert [(b.currency, b.balance) for b in balances] == [("KRW", Decimal("1000000.0")), ("BTC", Decimal("2.0"))]


async def test_chance_when_asked_then_the_market_is_in_the_query() -> None:
    fake = FakeUpbit().on("GET", "/v1/orders/chance", ok(order_sample("GET /v1/orders/chance")))

    chance = await client(fake).chance("KRW-BTC")

    assert chance.bid_min_total == Decimal("5000")
    assert query_pairs(fake.requests[0]) == [("market", "KRW-BTC")]


# -- PLACE ORDER --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "ord_type", "options", "body"),
    [
        (
            "bid",
            "limit",
            {"volume": Decimal("0.0001"), "price": Decimal("155772000")},
            {"market": "KRW-BTC", "side": "bid", "volume": "0.0001", "price": "155772000", "ord_type": "limit"},
        ),
        (
            "ask",
            "limit",
            {"volume": Decimal("0.00010000"), "price": Decimal("1.6E+8"), "time_in_force": "post_only"},
            {
                "market": "KRW-BTC",
                "side": "ask",
                "volume": "0.0001",
                "price": "160000000",
                "ord_type": "limit",
                "time_in_force": "post_only",
            },
        ),
        (
            "bid",
            "price",
            {"price": Decimal("6000"), "identifier": "bot-2"},
            {"market": "KRW-BTC", "side": "bid", "price": "6000", "ord_type": "price", "identifier": "bot-2"},
        ),
        (
            "ask",
            "market",
            {"volume": Decimal("0.00000001")},
            {"market": "KRW-BTC", "side": "ask", "volume": "0.00000001", "ord_type": "market"},
        ),
        (
            "bid",
            "best",
            {"price": Decimal("10000"), "time_in_force": "ioc"},
            {"market": "KRW-BTC", "side": "bid", "price": "10000", "ord_type": "best", "time_in_force": "ioc"},
        ),
        (
            "ask",
            "best",
            {"volume": Decimal("0.5"), "time_in_force": "fok"},
            {"market": "KRW-BTC", "side": "ask", "volume": "0.5", "ord_type": "best", "time_in_force": "fok"},
        ),
    ],
)
async def test_place_order_when_the_type_matrix_allows_it_then_only_the_listed_keys_are_sent(
    side: str, ord_type: str, options: dict[str, Any], body: dict[str, str]
) -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", ok(order_sample("POST /v1/orders -> 201"), 201))

    order = await client(fake).place_order("KRW-BTC", side, ord_type, **options)

    assert order.uuid == "5d303952-8be9-41e6-915b-121a90026248"
    sent = body_of(fake.requests[0])
    assert sent == body
    assert list(sent) == list(body)


@pytest.mark.parametrize(
    ("side", "ord_type", "options", "reason"),
    [
        ("bid", "limit", {"volume": Decimal("1")}, "need price"),
        ("bid", "price", {"price": Decimal("6000"), "volume": Decimal("1")}, "must not carry volume"),
        ("ask", "price", {"price": Decimal("6000")}, "only for bid"),
        ("bid", "market", {"volume": Decimal("1")}, "only for ask"),
        ("ask", "market", {"volume": Decimal("1"), "price": Decimal("5")}, "must not carry price"),
        ("bid", "best", {"price": Decimal("10000")}, "need time_in_force"),
        ("ask", "best", {"volume": Decimal("1"), "time_in_force": "post_only"}, "not allowed"),
        ("bid", "price", {"price": Decimal("6000"), "time_in_force": "ioc"}, "not allowed"),
        ("bid", "limit", {"volume": 0.1, "price": Decimal("5000")}, "must be a Decimal"),
        ("bid", "limit", {"volume": Decimal("0.000000001"), "price": Decimal("5000")}, "more than 8 decimal places"),
        ("bid", "limit", {"volume": Decimal("-1"), "price": Decimal("5000")}, "positive"),
        ("bid", "limit", {"volume": Decimal("1"), "price": Decimal("NaN")}, "positive and finite"),
        ("buy", "limit", {"volume": Decimal("1"), "price": Decimal("5000")}, "side must be"),
        ("bid", "stop", {"volume": Decimal("1"), "price": Decimal("5000")}, "ord_type must be"),
        ("bid", "limit", {"volume": Decimal("1"), "price": Decimal("5000"), "identifier": " "}, "identifier"),
    ],
)
async def test_place_order_when_outside_the_matrix_then_rejected_as_client_and_nothing_is_sent(
    side: str, ord_type: str, options: dict[str, Any], reason: str
) -> None:
    fake = FakeUpbit()

    with pytest.raises(OrderRejectedByBroker, match=reason) as raised:
        await client(fake).place_order("KRW-BTC", side, ord_type, **options)

    assert raised.value.code == "CLIENT"
    assert fake.requests == []


async def test_place_order_when_the_market_is_malformed_then_client_rejection() -> None:
    fake = FakeUpbit()

    with pytest.raises(OrderRejectedByBroker, match="market"):
        await client(fake).place_order("krw btc", "bid", "price", price=Decimal("6000"))
    assert fake.requests == []


async def test_place_order_when_the_answer_cannot_be_parsed_then_ambiguous() -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", ok({"uuid": "x"}, 201))

    with pytest.raises(AmbiguousOrderOutcome):
        await client(fake).place_order("KRW-BTC", "bid", "price", price=Decimal("6000"), identifier="bot-3")


async def test_place_order_when_upbit_says_insufficient_funds_then_rejected_with_its_name() -> None:
    status, body = error_sample("insufficient_funds_bid")
    fake = FakeUpbit().on("POST", "/v1/orders", fail(status, body))

    with pytest.raises(OrderRejectedByBroker) as raised:
        await client(fake).place_order("KRW-BTC", "bid", "price", price=Decimal("6000"))

    assert raised.value.code == "insufficient_funds_bid"


# -- GET / CANCEL -------------------------------------------------------------------------------------------


async def test_get_order_when_upbit_knows_none_then_none() -> None:
    status, body = error_sample("order_not_found")
    fake = FakeUpbit().on("GET", "/v1/order", fail(status, body))

    assert await client(fake).get_order(identifier="bot-unknown") is None
    assert query_pairs(fake.requests[0]) == [("identifier", "bot-unknown")]
    assert len(fake.requests) == 1


async def test_get_order_when_found_then_the_order_with_its_trades() -> None:
    fake = FakeUpbit().on("GET", "/v1/order", ok(order_sample("GET /v1/order -> market BUY")))

    order = await client(fake).get_order("3944c2c1-bd8c-441a-aa25-2370d08217a9")

    assert order is not None and order.state == "cancel" and len(order.trades) == 1


@pytest.mark.parametrize("ids", [{}, {"uuid": "a", "identifier": "b"}, {"uuid": ""}])
async def test_get_order_when_not_exactly_one_id_then_value_error(ids: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await client(FakeUpbit()).get_order(**ids)


async def test_cancel_order_when_accepted_then_the_pre_cancel_snapshot() -> None:
    fake = FakeUpbit().on("DELETE", "/v1/order", ok(order_sample("DELETE /v1/order")))

    order = await client(fake).cancel_order("5d303952-8be9-41e6-915b-121a90026248")

    assert order.state == "wait"
    assert query_pairs(fake.requests[0]) == [("uuid", "5d303952-8be9-41e6-915b-121a90026248")]


async def test_cancel_order_when_the_order_is_unknown_then_order_not_found() -> None:
    status, body = error_sample("order_not_found")
    fake = FakeUpbit().on("DELETE", "/v1/order", fail(status, body))

    with pytest.raises(UpbitOrderNotFound):
        await client(fake).cancel_order(identifier="bot-unknown")


# -- LISTS --------------------------------------------------------------------------------------------------


async def test_open_orders_when_there_are_two_pages_then_every_order_once() -> None:
    orders = [an_order(i, T0 + timedelta(minutes=i)) for i in range(103)]
    fake = FakeUpbit().on("GET", "/v1/orders/open", ok(orders[:100]), ok(orders[99:]))  # page 2 shifted by one

    found = await client(fake).open_orders("KRW-BTC")

    assert [o.uuid for o in found] == [o["uuid"] for o in orders]
    assert query_pairs(fake.requests[0]) == [
        ("market", "KRW-BTC"),
        ("states[]", "wait"),
        ("states[]", "watch"),
        ("page", "1"),
        ("limit", "100"),
        ("order_by", "asc"),
    ]
    assert ("page", "2") in query_pairs(fake.requests[1])


def closed_venue(orders: list[dict[str, Any]]) -> Any:
    # Answers /v1/orders/closed like Upbit: orders created in [start_time, end_time], at most `limit`, oldest first.
    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(query_pairs(request))
        start, end = datetime.fromisoformat(params["start_time"]), datetime.fromisoformat(params["end_time"])
        assert end - start <= timedelta(days=7)
        rows = [o for o in orders if start <= datetime.fromisoformat(o["created_at"]) <= end]
        return ok(rows[: int(params["limit"])])

    return answer


async def test_closed_orders_when_the_range_exceeds_7_days_then_windows_of_at_most_7_days() -> None:
    orders = [an_order(i, T0 + timedelta(days=i, hours=3)) for i in range(20)]
    fake = FakeUpbit().on("GET", "/v1/orders/closed", closed_venue(orders))

    found = await client(fake).closed_orders("KRW-BTC", T0, T0 + timedelta(days=20))

    assert [o.uuid for o in found] == [o["uuid"] for o in orders]
    assert len(fake.requests) == 3


async def test_closed_orders_when_a_window_returns_the_limit_then_it_is_split_until_complete() -> None:
    orders = [an_order(i, T0 + timedelta(hours=i)) for i in range(9)]
    fake = FakeUpbit().on("GET", "/v1/orders/closed", closed_venue(orders))

    found = await client(fake, closed_orders_limit=3).closed_orders("KRW-BTC", T0, T0 + timedelta(days=1))

    assert [o.uuid for o in found] == [o["uuid"] for o in orders]
    pairs = query_pairs(fake.requests[0])
    assert ("states[]", "done") in pairs and ("states[]", "cancel") in pairs
    assert ("start_time", "2025-07-01T00:00:00+00:00") in pairs


async def test_closed_orders_when_one_second_holds_the_limit_then_temporary_error() -> None:
    orders = [an_order(i, T0) for i in range(3)]
    fake = FakeUpbit().on("GET", "/v1/orders/closed", closed_venue(orders))

    with pytest.raises(TemporaryBrokerError, match="cannot split further"):
        await client(fake, closed_orders_limit=3).closed_orders("KRW-BTC", T0, T0 + timedelta(seconds=4))


async def test_closed_orders_when_times_are_naive_or_reversed_then_value_error() -> None:
    with pytest.raises(ValueError):
        await client(FakeUpbit()).closed_orders("KRW-BTC", T0, T0)
    with pytest.raises(ValueError):
        await client(FakeUpbit()).closed_orders("KRW-BTC", datetime(2025, 7, 1), T0)


async def test_orders_by_identifiers_when_many_then_chunks_of_100_with_bracketed_keys() -> None:
    identifiers = [f"bot-{i}" for i in range(150)]
    fake = FakeUpbit().on("GET", "/v1/orders/uuids", ok([an_order(1, T0)]), ok([an_order(2, T0)]))

    found = await client(fake).orders_by_identifiers(identifiers, market="KRW-BTC")

    assert [o.uuid for o in found] == ["order-00001", "order-00002"]
    first = query_pairs(fake.requests[0])
    assert [v for k, v in first if k == "identifiers[]"] == identifiers[:100]
    assert [v for k, v in query_pairs(fake.requests[1]) if k == "identifiers[]"] == identifiers[100:]


# -- QUOTATION ----------------------------------------------------------------------------------------------


def candle_venue(history_start: datetime, now: datetime) -> Any:
    # Minute candles for every minute in [history_start, now), newest first, before `to`.
    def answer(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        params = dict(query_pairs(request))
        to = datetime.fromisoformat(params["to"]) if "to" in params else now
        starts = []
        minute = to - timedelta(minutes=1)
        while minute >= history_start and len(starts) < int(params["count"]):
            starts.append(minute)
            minute -= timedelta(minutes=1)
        return ok(
            [
                {
                    "market": params["market"],
                    "candle_date_time_utc": s.strftime("%Y-%m-%dT%H:%M:%S"),
                    "candle_date_time_kst": "",
                    "opening_price": 1,
                    "high_price": 2,
                    "low_price": 1,
                    "trade_price": 2,
                    "timestamp": int(s.timestamp() * 1000) + 59000,
                    "candle_acc_trade_price": 10,
                    "candle_acc_trade_volume": "0.1",
                    "unit": 1,
                }
                for s in starts
            ]
        )

    return answer


async def test_candles_minutes_when_more_than_200_then_paged_backwards_and_returned_oldest_first() -> None:
    end = T0 + timedelta(hours=10)
    fake = FakeUpbit().on("GET", "/v1/candles/minutes/1", candle_venue(T0, end))

    candles = await client(fake).candles_minutes("KRW-BTC", 1, to=end, count=450)

    assert len(candles) == 450
    assert candles[0].start_utc == end - timedelta(minutes=450)
    assert candles[-1].start_utc == end - timedelta(minutes=1)
    assert [dict(query_pairs(r))["count"] for r in fake.requests] == ["200", "200", "50"]
    assert dict(query_pairs(fake.requests[1]))["to"] == (end - timedelta(minutes=200)).isoformat()


async def test_candles_when_history_runs_out_then_what_exists() -> None:
    end = T0 + timedelta(minutes=30)
    fake = FakeUpbit().on("GET", "/v1/candles/days", candle_venue(T0, end))

    candles = await client(fake).candles_days("KRW-BTC", to=end, count=100)

    assert len(candles) == 30
    assert len(fake.requests) == 1


async def test_candles_minutes_when_the_unit_is_not_offered_then_value_error() -> None:
    with pytest.raises(ValueError, match="unit"):
        await client(FakeUpbit()).candles_minutes("KRW-BTC", 2)


async def test_ticker_when_asked_then_comma_separated_markets_and_typed_answers() -> None:
    fake = FakeUpbit().on("GET", "/v1/ticker", ok(sample("rest_ticker.json")))

    [ticker] = await client(fake).ticker(["KRW-BTC"])

    assert ticker.trade_price == Decimal("82324000")
    assert query_pairs(fake.requests[0]) == [("markets", "KRW-BTC")]


async def test_trades_when_count_is_out_of_range_then_value_error() -> None:
    with pytest.raises(ValueError):
        await client(FakeUpbit()).trades("KRW-BTC", 501)


async def test_instruments_when_asked_then_tick_sizes_as_decimals() -> None:
    fake = FakeUpbit().on(
        "GET",
        "/v1/orderbook/instruments",
        ok(
            [
                {"market": "KRW-BTC", "quote_currency": "KRW", "tick_size": "1000", "supported_levels": ["0", "10000"]},
                {"market": "KRW-XRP", "quote_currency": "KRW", "tick_size": "1", "supported_levels": ["0"]},
            ]
        ),
    )

    found = await client(fake).instruments(["KRW-BTC", "KRW-XRP"])

    assert {i.market: i.tick_size for i in found} == {"KRW-BTC": Decimal("1000"), "KRW-XRP": Decimal("1")}
    assert query_pairs(fake.requests[0]) == [("markets", "KRW-BTC,KRW-XRP")]
