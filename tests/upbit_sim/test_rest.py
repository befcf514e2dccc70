"""The simulator's REST wire (§1, §3, §4, §7): decimals as strings on Exchange endpoints and exact numbers on
Quotation ones, candles newest first paged by ``to`` with nothing past the replay clock, Quotation errors with
numeric names, the closed-orders window, and the adapter's reads (quote, daily bars, cash) over them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from tests.upbit_sim.support import BTC, DAY, SignedClient, make_adapter


async def test_exchange_answers_when_read_then_decimals_are_strings_and_quotations_exact_numbers(
    sim: UpbitExchangeSimulator,
):
    client = SignedClient(sim)
    await anext(aiter(sim.venue.sessions()))

    accounts = await client.get("/v1/accounts")
    chance = await client.get("/v1/orders/chance", {"market": BTC})
    ticker = await client.http.get("/v1/ticker", params={"markets": BTC})

    assert accounts.json()[0] == {
        "currency": "KRW",
        "balance": "100000000",
        "locked": "0",
        "avg_buy_price": "0",
        "avg_buy_price_modified": False,
        "unit_currency": "KRW",
    }
    body = chance.json()
    assert (body["bid_fee"], body["market"]["bid"]["min_total"], body["market"]["max_total"]) == (
        "0.0005",
        "5000",
        "1000000000",
    )
    assert '"trade_price":85910000' in ticker.text and '"prev_closing_price":85910000' in ticker.text
    assert ticker.headers["Remaining-Req"].startswith("group=ticker; min=1800; sec=")
    await client.aclose()


async def test_candles_when_paged_then_newest_first_to_exclusive_and_never_past_the_replay_clock(
    sim: UpbitExchangeSimulator,
):
    session = await anext(aiter(sim.venue.sessions()))
    http = SignedClient(sim).http

    days = (await http.get("/v1/candles/days", params={"market": BTC, "count": 3})).json()
    future = (
        await http.get("/v1/candles/days", params={"market": BTC, "count": 2, "to": "2024-03-05T00:00:00Z"})
    ).json()
    halves_before = (await http.get("/v1/candles/minutes/30", params={"market": BTC, "count": 2})).json()
    await sim.venue.run_until_close(session)  # the clock is now 24:00 of the first day
    hours = (await http.get("/v1/candles/minutes/60", params={"market": BTC, "count": 3})).json()
    page_2 = (
        await http.get(
            "/v1/candles/minutes/60", params={"market": BTC, "count": 2, "to": hours[-1]["candle_date_time_utc"]}
        )
    ).json()

    assert [d["candle_date_time_utc"] for d in days] == [
        "2024-02-29T00:00:00",
        "2024-02-28T00:00:00",
        "2024-02-27T00:00:00",
    ]
    assert days[0]["trade_price"] == 85_910_000 and days[0]["prev_closing_price"] == 87_634_000
    assert [d["candle_date_time_utc"] for d in future] == ["2024-02-29T00:00:00", "2024-02-28T00:00:00"]
    assert halves_before[0]["candle_date_time_utc"] == "2024-02-29T23:30:00"
    assert [h["candle_date_time_utc"] for h in hours] == [
        "2024-03-01T23:00:00",
        "2024-03-01T22:00:00",
        "2024-03-01T21:00:00",
    ]
    assert [h["candle_date_time_utc"] for h in page_2] == ["2024-03-01T20:00:00", "2024-03-01T19:00:00"]
    bad = await http.get("/v1/candles/minutes/7", params={"market": BTC})
    unknown = await http.get("/v1/ticker", params={"markets": "KRW-ETH"})
    assert (bad.status_code, bad.json()["error"]["name"]) == (400, 400)
    assert (unknown.status_code, unknown.json()["error"]["name"]) == (404, 404)
    await http.aclose()


async def test_adapter_reads_when_replaying_then_quote_without_limits_utc_daily_bars_and_cash(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    session = await anext(aiter(sim.venue.sessions()))
    await sim.venue.run_until_close(session)

    quote = await adapter.get_price(BTC)
    bars = await adapter.get_daily_bars(BTC, date(2024, 3, 5), 3)
    cash = await adapter.get_cash(adapter.account_id)

    assert (quote.price, quote.base_price, quote.upper_limit, quote.lower_limit) == (
        Decimal(87_397_000),
        Decimal(85_910_000),
        None,
        None,
    )
    assert quote.ts_event == datetime(2024, 3, 1, 23, 52, 30, tzinfo=UTC)
    assert [b.trading_date for b in bars] == [DAY - timedelta(days=2), DAY - timedelta(days=1), DAY]
    assert bars[-1].close == Decimal(87_397_000) and bars[-1].volume == Decimal("6256.97193595")
    assert (cash.deposit_krw, cash.orderable_krw) == (Decimal(100_000_000), Decimal(100_000_000))
    await adapter.close()


async def test_order_test_endpoint_when_valid_or_short_of_funds_then_answers_without_creating_or_burning(
    sim: UpbitExchangeSimulator,
):
    client = SignedClient(sim)
    await anext(aiter(sim.venue.sessions()))
    order = {
        "market": BTC,
        "side": "bid",
        "volume": "0.001",
        "price": "80000000",
        "ord_type": "limit",
        "identifier": "probe-1",
    }

    ok = await client.post("/v1/orders/test", order)
    poor = await client.post("/v1/orders/test", {**order, "volume": "2", "identifier": "probe-2"})
    real = await client.post("/v1/orders", order)  # the probe's identifier is still free

    assert ok.status_code == 201 and ok.headers["Remaining-Req"].startswith("group=order-test;")
    assert (poor.status_code, poor.json()["error"]["name"]) == (400, "insufficient_funds_bid")
    assert real.status_code == 201 and real.headers["Remaining-Req"].startswith("group=order;")
    await client.aclose()


async def test_closed_orders_when_the_window_is_over_7_days_or_states_conflict_then_validation_error(
    sim: UpbitExchangeSimulator,
):
    client = SignedClient(sim)

    wide = await client.get(
        "/v1/orders/closed", {"market": BTC, "start_time": "2024-03-01T00:00:00Z", "end_time": "2024-03-09T00:00:00Z"}
    )
    both = await client.get("/v1/orders/open", {"state": "wait", "states": ["wait"]})
    ids = await client.get("/v1/orders/uuids", {"uuids": ["a"], "identifiers": ["b"]})

    for answer in (wide, both, ids):
        assert (answer.status_code, answer.json()["error"]["name"]) == (400, "validation_error")
    await client.aclose()
