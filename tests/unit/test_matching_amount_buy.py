"""The matching engine on an 8-decimal KRW market: fills on the 1e-8 grid, and market buys by KRW amount
(Upbit's ``ord_type=price``) that spend their amount and end CANCELED with the dust refunded."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.sim.matching import REASON_SPENT, MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.rejections import RejectCode
from stock_manager.adapters.venues.upbit.calendar import session_for
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model, upbit_instrument
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest

ACCOUNT = "SIM-upbit"
BTC = "KRW-BTC"
DAY = date(2024, 3, 1)
START = datetime(2024, 3, 1, tzinfo=UTC)


def _engine(cash: str = "1000000", rate: str = "0.25") -> MatchingEngine:
    engine = MatchingEngine(
        ACCOUNT, {BTC: upbit_instrument(BTC)}, MatchingConfig(Decimal(rate), Decimal(cash), upbit_cost_model())
    )
    session = session_for(DAY)
    engine.open_session(session, {BTC: Decimal(160_000_000)}, session.ts_first_order)
    return engine


def _tick(price: int, volume: str, minute: int) -> Tick:
    return Tick(BTC, Decimal(price), Decimal(volume), START + timedelta(minutes=minute))


def test_amount_buy_when_one_print_spends_it_then_dust_refunded_and_order_canceled_with_its_fill():
    # The reference's worked example: 6,000 KRW at 160,594,000 buys 0.00003736 BTC (5,999.79184 KRW).
    engine = _engine()
    ack = engine.submit_amount_buy(ACCOUNT, BTC, Decimal(6000), START)
    assert engine.orderable_krw == Decimal(1_000_000) - Decimal(6000) - Decimal(3)  # amount + 0.05 % reserved

    [fill] = engine.on_print(_tick(160_594_000, "1", 1))

    assert (fill.quantity, fill.price) == (Decimal("0.00003736"), Decimal(160_594_000))
    assert fill.commission_krw == Decimal("5999.79184") * Decimal("0.0005")
    report = engine.order(ack.broker_order_number)
    assert report is not None
    assert report.state is BrokerOrderState.CANCELED and report.filled_quantity == Decimal("0.00003736")
    assert report.quantity == report.filled_quantity  # a buy by amount reports what it bought
    [closed] = engine.take_closed()
    assert (closed.broker_order_number, closed.canceled_quantity, closed.reason) == (
        ack.broker_order_number,
        Decimal(0),
        REASON_SPENT,
    )
    assert engine.take_closed() == []
    # Only the notional and its fee left the account: the 0.20826408 KRW of dust and unused fee came back.
    assert (
        engine.deposit_krw == engine.orderable_krw == Decimal(1_000_000) - Decimal("5999.79184") - Decimal("2.99989592")
    )


def test_amount_buy_when_prints_are_thin_then_participation_splits_it_over_prints_until_spent():
    engine = _engine(rate="0.5")
    ack = engine.submit_amount_buy(ACCOUNT, BTC, Decimal(100_000), START)

    first = engine.on_print(_tick(100_000_000, "0.0004", 1))  # capacity 0.0002 BTC = 20,000 KRW
    second = engine.on_print(_tick(100_000_000, "1", 2))

    assert [f.quantity for f in first + second] == [Decimal("0.0002"), Decimal("0.0008")]
    report = engine.order(ack.broker_order_number)
    assert report is not None and report.state is BrokerOrderState.FILLED  # the amount divided exactly
    assert engine.take_closed() == []


def test_amount_buy_when_invalid_then_refused_like_a_buy_and_the_client_id_stays_unused():
    engine = _engine(cash="10000")

    for amount, code in (
        (Decimal(4999), RejectCode.UNDER_MIN_NOTIONAL),
        (Decimal(0), RejectCode.PRICE),
        (Decimal(9996), RejectCode.INSUFFICIENT_CASH),
    ):
        with pytest.raises(OrderRejectedByBroker) as raised:
            engine.submit_amount_buy(ACCOUNT, BTC, amount, START, client_order_id="id-1")
        assert raised.value.code == code
    assert not engine.client_order_id_used("id-1")  # burning a refused id is the sim broker's (journaled) job


def test_limit_on_the_1e8_grid_when_prints_trade_fractions_then_capacity_floors_to_the_size_increment():
    engine = _engine(cash="100000000", rate="0.25")
    request = OrderRequest(ACCOUNT, BTC, Side.BUY, OrderType.LIMIT, Decimal("0.5"), Decimal(160_000_000))
    engine.submit(request, START)

    [fill] = engine.on_print(_tick(159_000_000, "0.12345679", 1))

    assert fill.quantity == Decimal("0.03086419")  # 0.0308641975 rounded down to 1e-8
    assert engine.positions()[0].quantity == Decimal("0.03086419")
