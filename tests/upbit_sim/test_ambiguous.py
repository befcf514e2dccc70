"""An order whose outcome is unknown is resolved by its identifier, never by a blind re-send (pitfall 13): a lost
answer is adopted; a definite "not found" allows exactly one re-send under ``<id>-r1``; anything else stays
ambiguous. However it goes, the venue never holds two orders for one request."""

from decimal import Decimal

import httpx
import pytest

from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.domain.errors import AmbiguousOrderOutcome
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.execution.placement import client_order_id_for
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest
from tests.upbit_sim.support import BTC, DAY, SignedClient, make_adapter


def _request(account_id: str, client_id: str) -> OrderRequest:
    return OrderRequest(account_id, BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), Decimal(80_000_000), client_id)


class DroppingTransport(httpx.AsyncBaseTransport):
    """Loses every ``POST /v1/orders`` before it reaches the server (the client sees a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/orders":
            self.dropped += 1
            raise httpx.ReadTimeout("lost on the way", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ["error500", "close"])
async def test_lost_answer_when_the_order_exists_then_adopted_by_identifier_and_never_sent_again(
    sim: UpbitExchangeSimulator, mode: str
):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))
    sim.faults.lost_mode = mode  # type: ignore[assignment]
    sim.faults.lost_order_responses = 1

    ack = await adapter.place_order(_request(adapter.account_id, "lost-1"))

    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert (report.broker_order_number, report.client_order_id) == (ack.broker_order_number, "lost-1")
    assert report.state is BrokerOrderState.OPEN
    assert (adapter.sender.adopted, adapter.sender.resends) == (1, 0)
    assert sim.records.requests_per_path["POST /v1/orders"] == 1
    assert sim.fault_log.counts[f"lost_order_response_{mode}"] == 1
    await adapter.close()


async def test_definite_not_found_when_the_first_send_never_arrived_then_one_resend_with_the_derived_identifier(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))
    sim.faults.error5xx_requests = 1  # the first POST fails before anything is done

    ack = await adapter.place_order(_request(adapter.account_id, "lost-2"))

    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert report.broker_order_number == ack.broker_order_number
    assert report.client_order_id == "lost-2"  # sent as lost-2-r1, reported as the core's id
    assert [o.get("identifier") for o in sim.records.orders_received] == ["lost-2-r1"]
    assert sim.records.requests_per_path["POST /v1/orders"] == 2
    raw = SignedClient(sim)
    assert (await raw.get("/v1/order", {"identifier": "lost-2-r1"})).json()["uuid"] == ack.broker_order_number
    assert (await raw.get("/v1/order", {"identifier": "lost-2"})).status_code == 404
    await raw.aclose()
    await adapter.close()


async def test_resend_of_a_core_client_order_id_when_derived_then_within_the_32_character_identifier_limit(
    sim: UpbitExchangeSimulator,
):
    # The simulator refuses identifiers over 32 characters, as a third-party summary says Upbit does [U].
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))
    sim.faults.error5xx_requests = 1
    core_id = client_order_id_for("acct:volatility_breakout:KRW-BTC:ENTRY:2024-03-01T00:00:00+00:00:abc")

    ack = await adapter.place_order(_request(adapter.account_id, core_id))

    [sent] = [o.get("identifier") for o in sim.records.orders_received]
    assert sent == f"{core_id}-r1" and len(sent) <= sim.identifier_max_chars == 32
    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert (report.broker_order_number, report.client_order_id) == (ack.broker_order_number, core_id)
    await adapter.close()


async def test_resend_when_it_is_lost_too_and_not_found_then_ambiguous_after_exactly_two_sends_and_no_order(
    sim: UpbitExchangeSimulator,
):
    transport = DroppingTransport()
    adapter = make_adapter(sim, transport=transport)
    await anext(aiter(sim.venue.sessions()))

    with pytest.raises(AmbiguousOrderOutcome):
        await adapter.place_order(_request(adapter.account_id, "lost-3"))

    assert transport.dropped == 2
    assert await adapter.get_orders(adapter.account_id, DAY) == []
    await adapter.close()


async def test_lookup_when_it_fails_too_then_ambiguous_and_nothing_is_resent(sim: UpbitExchangeSimulator):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))
    sim.faults.error5xx_requests = 4  # the POST, then the lookup with its two retries

    with pytest.raises(AmbiguousOrderOutcome):
        await adapter.place_order(_request(adapter.account_id, "lost-4"))

    assert sim.records.requests_per_path["POST /v1/orders"] == 1
    assert adapter.sender.resends == 0
    await adapter.close()


async def test_resend_when_its_answer_is_lost_then_the_derived_order_is_adopted_and_there_is_one_order(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    await anext(aiter(sim.venue.sessions()))
    sim.faults.error5xx_requests = 1  # the first send never arrives
    sim.faults.lost_mode = "error500"
    sim.faults.lost_order_responses = 1  # the re-send is executed but its answer is lost

    ack = await adapter.place_order(_request(adapter.account_id, "lost-5"))

    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert (report.broker_order_number, report.client_order_id) == (ack.broker_order_number, "lost-5")
    assert (adapter.sender.resends, adapter.sender.adopted) == (1, 1)
    await adapter.close()
