"""The `Broker` port's contract, specified once and run against every implementation (see `conftest`).

What any venue must answer the service layer: an accepted order is listed as working; executions are
reported once, in parts when the market takes it so, and agree with the order's totals and the fills
inquiry; a cancel is confirmed and final; a refused order leaves nothing at the venue; an order whose answer
was lost is found among the day's orders by its shape (or its client order id); and a new connection after
a restart sees the same working orders and holdings.
"""

from decimal import Decimal

import pytest

from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, CancelReport, FillReport, OrderRequest
from tests.contract.harness import SYMBOL, VenueHarness


async def limit_buy(venue: VenueHarness, quantity: int, *, fills: bool) -> OrderRequest:
    # A buy limit the day's prints reach (5 % over the base price), or one they never do (28 % under it).
    quote = await venue.broker.get_price(SYMBOL)
    factor = Decimal("1.05") if fills else Decimal("0.72")
    price = venue.instrument.round_price(quote.base_price * factor, Side.BUY)
    return OrderRequest(venue.account_id, SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(quantity), price)


def fills_of(venue: VenueHarness, number: str) -> list[FillReport]:
    return [
        e
        for e in venue.events.received
        if isinstance(e, FillReport)
        and normalize_order_number(e.fill.broker_order_number) == normalize_order_number(number)
    ]


async def test_place_when_valid_then_acknowledged_and_listed_as_a_working_order(venue: VenueHarness):
    day = await venue.open_day()
    request = await limit_buy(venue, 10, fills=False)

    ack = await venue.broker.place_order(request)

    [report] = [
        r
        for r in await venue.broker.get_orders(venue.account_id, day)
        if normalize_order_number(r.broker_order_number) == normalize_order_number(ack.broker_order_number)
    ]
    assert (report.symbol, report.side, report.quantity, report.limit_price) == (
        SYMBOL,
        Side.BUY,
        Decimal(10),
        request.limit_price,
    )
    assert report.state is BrokerOrderState.OPEN and report.filled_quantity == 0
    assert report.trading_date == day


async def test_fills_when_the_market_reaches_the_limit_then_each_reported_once_in_parts_and_totals_agree(
    venue: VenueHarness,
):
    day = await venue.open_day()
    ack = await venue.broker.place_order(await limit_buy(venue, 30, fills=True))

    await venue.play_day()

    notices = fills_of(venue, ack.broker_order_number)
    assert len(notices) >= 2, "the order filled in parts"
    references = [n.fill.broker_fill_id for n in notices]
    assert len(set(references)) == len(references), "each execution was reported once"
    total = sum((n.fill.quantity for n in notices), Decimal(0))
    assert total == Decimal(30)
    assert all(n.fill.trading_date == day for n in notices)
    [report] = [
        r
        for r in await venue.broker.get_orders(venue.account_id, day)
        if normalize_order_number(r.broker_order_number) == normalize_order_number(ack.broker_order_number)
    ]
    assert report.filled_quantity == total and report.state is BrokerOrderState.FILLED
    inquired = [
        f
        for f in await venue.broker.get_fills(venue.account_id, day)
        if normalize_order_number(f.broker_order_number) == normalize_order_number(ack.broker_order_number)
    ]
    assert sum((f.quantity for f in inquired), Decimal(0)) == total
    notional = sum((n.fill.notional_krw for n in notices), Decimal(0))
    assert sum((f.notional_krw for f in inquired), Decimal(0)) == pytest.approx(notional, rel=Decimal("1e-6"))
    [holding] = [p for p in await venue.broker.get_positions(venue.account_id) if p.symbol == SYMBOL]
    assert holding.quantity == total


async def test_cancel_when_working_then_confirmed_final_and_a_second_cancel_refused(venue: VenueHarness):
    day = await venue.open_day()
    ack = await venue.broker.place_order(await limit_buy(venue, 10, fills=False))

    await venue.broker.cancel_order(venue.account_id, ack.broker_order_number, ack.venue_order_ref)
    await venue.play_day()

    cancels = [
        e
        for e in venue.events.received
        if isinstance(e, CancelReport)
        and normalize_order_number(e.broker_order_number) == normalize_order_number(ack.broker_order_number)
    ]
    assert len(cancels) == 1 and cancels[0].canceled_quantity == Decimal(10)
    [report] = [
        r
        for r in await venue.broker.get_orders(venue.account_id, day)
        if normalize_order_number(r.broker_order_number) == normalize_order_number(ack.broker_order_number)
    ]
    assert report.state is BrokerOrderState.CANCELED and report.filled_quantity == 0
    with pytest.raises(OrderRejectedByBroker):
        await venue.broker.cancel_order(venue.account_id, ack.broker_order_number, ack.venue_order_ref)


async def test_place_when_the_venue_refuses_then_rejected_and_nothing_left_at_the_venue(venue: VenueHarness):
    day = await venue.open_day()
    request = await limit_buy(venue, 1_000_000, fills=True)  # far beyond the account's cash

    with pytest.raises(OrderRejectedByBroker):
        await venue.broker.place_order(request)

    assert await venue.broker.get_orders(venue.account_id, day) == []


async def test_unknown_outcome_when_the_answer_is_lost_then_the_order_is_found_among_the_days_orders(
    venue: VenueHarness,
):
    day = await venue.open_day()
    request = await limit_buy(venue, 12, fills=False)

    await venue.place_losing_answer(request)

    matches = [
        r
        for r in await venue.broker.get_orders(venue.account_id, day)
        if (r.symbol, r.side, r.quantity, r.limit_price, r.order_type)
        == (request.symbol, request.side, request.quantity, request.limit_price, request.order_type)
    ]
    assert len(matches) == 1 and matches[0].state is BrokerOrderState.OPEN
    if request.client_order_id is not None:
        assert matches[0].client_order_id == request.client_order_id


async def test_restart_when_an_order_is_working_then_the_new_connection_lists_it_and_the_holdings(venue: VenueHarness):
    day = await venue.open_day()
    working = await venue.broker.place_order(await limit_buy(venue, 10, fills=False))
    before = await venue.broker.get_cash(venue.account_id)

    await venue.restart()

    numbers = {
        normalize_order_number(r.broker_order_number): r for r in await venue.broker.get_orders(venue.account_id, day)
    }
    assert numbers[normalize_order_number(working.broker_order_number)].state is BrokerOrderState.OPEN
    after = await venue.broker.get_cash(venue.account_id)
    assert (after.deposit_krw, after.orderable_krw) == (before.deposit_krw, before.orderable_krw)
