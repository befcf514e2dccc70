"""Upbit values as the `Broker` port's reports: orders, fills, cash, holdings, quotes, daily bars and stream
events. Pure functions; the venue's day is the UTC day (`venues.upbit.rules.UPBIT_DAY`).

Source: ../reference/upbit-openapi.md §4.1 (``balance`` is free, ``locked`` reserved), §4.10 (states; a market
buy, ``ord_type=price``, usually ends ``cancel`` *with* fills: it spent its amount and the dust was refunded, so
it is reported FILLED; §9 pitfall 1), §5.3 (``myOrder``: with state ``trade`` the price and volume are the
fill's, ``trade_fee`` its fee).

Client order ids: the adapter sends `OrderRequest.client_order_id` as ``identifier``; a re-send after a definite
"not found" goes out as ``<id>-r1`` (`placement`), and reports map it back to ``<id>`` so the order is recognised
as the one the core placed.
"""

from decimal import Decimal
from typing import Final

from stock_manager.adapters.broker.upbit.models import UpbitBalance, UpbitCandle, UpbitOrder, UpbitTicker, UpbitTrade
from stock_manager.adapters.broker.upbit.ws_messages import MyOrderEvent
from stock_manager.adapters.venues.upbit.rules import QUOTE_CURRENCY, UPBIT_DAY
from stock_manager.domain.costs import CostModel
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import OrderType, Side
from stock_manager.domain.positions import PRICE_QUANTUM
from stock_manager.service_layer.ports.broker import (
    BrokerOrderReport,
    BrokerOrderState,
    BrokerPosition,
    CancelReport,
    CashBalance,
    OrderAck,
    Quote,
)

#: Suffix of the identifier of the one re-send after a definite "not found" (`placement.resend_identifier`).
RESEND_SUFFIX: Final = "-r1"
CANCEL_REASON: Final = "canceled at the venue"


def resend_identifier(identifier: str) -> str:
    """Return the identifier of the one re-send of an order whose first send was lost: ``<identifier>-r1``."""
    return f"{identifier}{RESEND_SUFFIX}"


def client_order_id_of(identifier: str | None) -> str | None:
    """Return the client order id an Upbit ``identifier`` stands for (``<id>-r1`` → ``<id>``)."""
    if identifier is not None and identifier.endswith(RESEND_SUFFIX):
        return identifier[: -len(RESEND_SUFFIX)]
    return identifier


def side_of(upbit_side: str) -> Side:
    """Return BUY for ``bid``, SELL for ``ask``."""
    return Side.BUY if upbit_side == "bid" else Side.SELL


def is_spent_market_buy(order: UpbitOrder | MyOrderEvent) -> bool:
    """Return True for a market buy by amount that ended ``cancel`` after buying (it is filled, §9 pitfall 1)."""
    return order.ord_type == "price" and order.state == "cancel" and order.executed_volume > 0


def state_of(order: UpbitOrder) -> BrokerOrderState:
    """Return the port's state of an Upbit order: ``wait``/``watch`` OPEN, ``done`` FILLED, a spent market buy
    FILLED, any other ``cancel`` CANCELED (with whatever it filled)."""
    if order.is_open:
        return BrokerOrderState.OPEN
    if order.state == "done" or is_spent_market_buy(order):
        return BrokerOrderState.FILLED
    return BrokerOrderState.CANCELED


def order_report(account_id: str, order: UpbitOrder) -> BrokerOrderReport:
    """Return the port's report of `order` (its trading date is the UTC date it was created).

    A market buy by amount has no volume: its quantity is what it bought (``executed_volume``) and it has no
    limit price; ``price``/``market``/``best`` orders are MARKET, ``limit`` orders LIMIT.
    """
    limit = order.ord_type == "limit"
    quantity = order.volume if order.volume is not None else order.executed_volume
    funds = order.executed_funds
    if funds is None and order.trades:
        funds = sum((t.funds for t in order.trades), Decimal(0))
    avg = None
    if order.executed_volume > 0 and funds is not None:
        avg = (funds / order.executed_volume).quantize(PRICE_QUANTUM)
    return BrokerOrderReport(
        account_id=account_id,
        broker_order_number=order.uuid,
        venue_order_ref=order.uuid,
        symbol=order.market,
        side=side_of(order.side),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        quantity=quantity,
        limit_price=order.price if limit else None,
        state=state_of(order),
        filled_quantity=order.executed_volume,
        avg_fill_price=avg,
        ts_accepted=order.created_at,
        trading_date=UPBIT_DAY.date_of(order.created_at),
        client_order_id=client_order_id_of(order.identifier),
    )


def order_ack(order: UpbitOrder) -> OrderAck:
    """Return the acknowledgement of an order Upbit accepted (its uuid addresses it later)."""
    return OrderAck(broker_order_number=order.uuid, venue_order_ref=order.uuid, ts_accepted=order.created_at)


def trade_fill(order: UpbitOrder, trade: UpbitTrade, costs: CostModel) -> Fill:
    """Return one trade of ``GET /v1/order`` as a fill: id = the trade's uuid, fee = the fee rate × its funds
    (Upbit's trades carry no fee of their own; the stream's ``trade_fee`` is the same product)."""
    return Fill(
        broker_fill_id=trade.uuid,
        broker_order_number=order.uuid,
        symbol=order.market,
        side=side_of(order.side),
        quantity=trade.volume,
        price=trade.price,
        commission_krw=costs.commission_krw(trade.funds),
        tax_krw=Decimal(0),
        ts_filled=trade.created_at,
        trading_date=UPBIT_DAY.date_of(trade.created_at),
    )


def event_fill(event: MyOrderEvent, costs: CostModel) -> Fill | None:
    """Return the fill of a ``myOrder`` ``trade`` event (its ``trade_fee`` as the fee), or None for other events
    or one missing its trade uuid, price or volume."""
    price, volume = event.fill_price, event.fill_volume
    if not event.is_fill or not event.trade_uuid or price is None or volume is None or volume <= 0:
        return None
    ts = event.trade_at or event.timestamp
    fee = event.trade_fee if event.trade_fee is not None else costs.commission_krw(price * volume)
    return Fill(
        broker_fill_id=event.trade_uuid,
        broker_order_number=event.uuid,
        symbol=event.market,
        side=side_of(event.side),
        quantity=volume,
        price=price,
        commission_krw=fee,
        tax_krw=Decimal(0),
        ts_filled=ts,
        trading_date=UPBIT_DAY.date_of(ts),
    )


def event_cancel(account_id: str, event: MyOrderEvent) -> CancelReport:
    """Return the report of a ``myOrder`` ``cancel`` event: what will never fill (``remaining_volume``)."""
    created = event.order_at or event.timestamp
    return CancelReport(
        account_id=account_id,
        broker_order_number=event.uuid,
        canceled_quantity=event.remaining_volume or Decimal(0),
        ts_event=event.timestamp,
        reason=CANCEL_REASON,
        trading_date=UPBIT_DAY.date_of(created),
    )


def cash_of(account_id: str, balances: list[UpbitBalance]) -> CashBalance:
    """Return KRW cash: the deposit is ``balance + locked``, orderable the free ``balance`` (0 without a KRW row)."""
    krw = next((b for b in balances if b.currency == QUOTE_CURRENCY), None)
    if krw is None:
        return CashBalance(account_id, Decimal(0), Decimal(0))
    return CashBalance(account_id, krw.balance + krw.locked, krw.balance)


def positions_of(balances: list[UpbitBalance]) -> list[BrokerPosition]:
    """Return every non-KRW currency held (``balance + locked`` > 0) as ``KRW-<currency>`` at its average price."""
    return [
        BrokerPosition(
            symbol=f"{QUOTE_CURRENCY}-{b.currency}", quantity=b.balance + b.locked, avg_price=b.avg_buy_price
        )
        for b in sorted(balances, key=lambda b: b.currency)
        if b.currency != QUOTE_CURRENCY and b.balance + b.locked > 0
    ]


def quote_of(ticker: UpbitTicker) -> Quote:
    """Return the ticker (Upbit GET /v1/ticker) as a quote: the last price, the previous UTC day's close as base,
    no price limits, the UTC day's open, high and low."""
    return Quote(
        symbol=ticker.market,
        price=ticker.trade_price,
        base_price=ticker.prev_closing_price,
        upper_limit=None,
        lower_limit=None,
        ts_event=ticker.traded_at,
        day_open=ticker.opening_price,
        day_high=ticker.high_price,
        day_low=ticker.low_price,
    )


def daily_bar(candle: UpbitCandle) -> DailyBar:
    """Return a day candle as the daily bar of its UTC date."""
    return DailyBar(
        symbol=candle.market,
        trading_date=UPBIT_DAY.date_of(candle.start_utc),
        open=candle.opening_price,
        high=candle.high_price,
        low=candle.low_price,
        close=candle.trade_price,
        volume=candle.acc_trade_volume,
    )
