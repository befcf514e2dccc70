"""Orders through the real adapter against the simulator: Upbit's refusals by name (§4.3, §7, §8), identifiers
single-use even after a failed order (pitfall 13), the asynchronous cancel (pitfall 2), MARKET orders."""

from decimal import Decimal

import pytest

from stock_manager.adapters.broker.upbit import UpbitBroker
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, CancelReport, OrderRequest
from tests.upbit_sim.support import BTC, DAY, Recorder, SignedClient, make_adapter


def _limit(adapter: UpbitBroker, side: Side, volume: str, price: int, client_id: str | None = None) -> OrderRequest:
    return OrderRequest(adapter.account_id, BTC, side, OrderType.LIMIT, Decimal(volume), Decimal(price), client_id)


async def _refusal(adapter: UpbitBroker, request: OrderRequest) -> str:
    with pytest.raises(OrderRejectedByBroker) as raised:
        await adapter.place_order(request)
    return raised.value.code


async def test_place_when_below_the_minimum_off_the_price_unit_above_the_maximum_or_the_funds_then_named_refusals(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))

    codes = [
        await _refusal(adapter, _limit(adapter, Side.BUY, "0.00005", 85_000_000)),  # 4,250 KRW
        await _refusal(adapter, _limit(adapter, Side.SELL, "0.00005", 85_000_000)),
        await _refusal(adapter, _limit(adapter, Side.BUY, "20", 85_000_000)),  # 1.7 billion KRW
        await _refusal(adapter, _limit(adapter, Side.BUY, "2", 85_000_000)),  # the account has 100 million
        await _refusal(adapter, _limit(adapter, Side.SELL, "0.1", 85_000_000)),
    ]  # holds no BTC
    with pytest.raises(OrderRejectedByBroker) as off_grid:  # the adapter rounds to the grid; the raw client does not
        await adapter.client.place_order(BTC, "bid", "limit", volume=Decimal("0.001"), price=Decimal(85_000_500))

    assert codes == [
        "under_min_total_bid",
        "under_min_total_ask",
        "over_krw_funds_bid",
        "insufficient_funds_bid",
        "insufficient_funds_ask",
    ]
    assert off_grid.value.code == "invalid_price_bid"
    assert await adapter.get_orders(adapter.account_id, DAY) == []
    await adapter.close()


async def test_identifier_when_used_by_a_refused_or_an_accepted_order_then_never_accepted_again(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))

    first = await _refusal(adapter, _limit(adapter, Side.BUY, "0.00001", 85_000_000, "id-refused"))
    again = await _refusal(adapter, _limit(adapter, Side.BUY, "0.001", 80_000_000, "id-refused"))
    ack = await adapter.place_order(_limit(adapter, Side.BUY, "0.001", 80_000_000, "id-accepted"))
    reused = await _refusal(adapter, _limit(adapter, Side.BUY, "0.001", 80_000_000, "id-accepted"))

    assert (first, again, reused) == ("under_min_total_bid", "validation_error", "validation_error")
    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert (report.broker_order_number, report.client_order_id) == (ack.broker_order_number, "id-accepted")
    assert sim.venue.book.client_order_id_used("id-refused")  # burnt through the venue's journal
    await adapter.close()


async def test_cancel_when_accepted_then_pre_cancel_snapshot_then_cancel_event_before_the_next_print(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    recorder = Recorder()
    await adapter.subscribe_order_events(recorder.on_event)
    session = await anext(aiter(sim.venue.sessions()))
    ack = await adapter.place_order(_limit(adapter, Side.BUY, "0.01", 80_000_000, "to-cancel"))
    raw = SignedClient(sim)

    answer = await raw.delete("/v1/order", {"uuid": ack.broker_order_number})
    still = await raw.get("/v1/order", {"uuid": ack.broker_order_number})
    await sim.venue.run_until_close(session)
    after = await raw.get("/v1/order", {"uuid": ack.broker_order_number})
    twice = await raw.delete("/v1/order", {"uuid": ack.broker_order_number})
    body_delete = await raw.http.request("DELETE", "/v1/order", json={"uuid": ack.broker_order_number})

    assert (answer.status_code, answer.json()["state"]) == (200, "wait")
    assert still.json()["state"] == "wait"  # confirmed asynchronously
    assert after.json()["state"] == "cancel"
    assert (twice.status_code, twice.json()["error"]["name"]) == (404, "order_not_found")
    assert (body_delete.status_code, body_delete.json()["error"]["name"]) == (400, "QUERY_PARAMETER_NOT_SUPPORTED")
    [cancel] = recorder.of(CancelReport)
    assert (cancel.broker_order_number, cancel.canceled_quantity) == (ack.broker_order_number, Decimal("0.01"))
    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert report.state is BrokerOrderState.CANCELED
    await raw.aclose()
    await adapter.close()


async def test_market_orders_when_placed_then_a_sell_is_market_by_volume_and_a_buy_a_protective_limit(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    sessions = aiter(sim.venue.sessions())
    session = await anext(sessions)
    buy = await adapter.place_order(
        OrderRequest(adapter.account_id, BTC, Side.BUY, OrderType.MARKET, Decimal("0.5"), None, "mkt-buy")
    )
    await sim.venue.run_until_close(session)
    with pytest.raises(OrderRejectedByBroker) as between:  # the replay is between two days: no session
        await adapter.place_order(
            OrderRequest(adapter.account_id, BTC, Side.SELL, OrderType.MARKET, Decimal("0.2"), None, "mkt-sell-early")
        )
    await anext(sessions)
    sell = await adapter.place_order(
        OrderRequest(adapter.account_id, BTC, Side.SELL, OrderType.MARKET, Decimal("0.2"), None, "mkt-sell")
    )

    orders = {o["identifier"]: o for o in sim.records.orders_received}
    assert orders["mkt-buy"]["ord_type"] == "limit"
    assert Decimal(orders["mkt-buy"]["price"]) == Decimal(86_769_000)  # 85,910,000 × 1.01 rounded down to 1,000
    assert between.value.code == "market_offline"
    assert (orders["mkt-sell"]["ord_type"], orders["mkt-sell"]["volume"]) == ("market", "0.2")
    assert "price" not in orders["mkt-sell"]
    reports = {r.broker_order_number: r for r in await adapter.get_orders(adapter.account_id, DAY)}
    assert reports[buy.broker_order_number].state is BrokerOrderState.FILLED
    assert reports[buy.broker_order_number].filled_quantity == Decimal("0.5")
    [position] = await adapter.get_positions(adapter.account_id)
    assert (position.symbol, position.quantity) == (BTC, Decimal("0.5"))  # the sell is still working
    assert sell.broker_order_number != buy.broker_order_number
    await adapter.close()
