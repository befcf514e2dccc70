"""Upbit WebSocket data messages: typed events, parsed from the DEFAULT or the SIMPLE (abbreviated) format.

Source: upbit-openapi.md §5.2 (formats), §5.3 (fields per type and their SIMPLE abbreviations; every data message
has ``type``, ``timestamp`` ms and ``stream_type``; numbers are JSON numbers) and §9 pitfall 8. A SIMPLE message
is recognised by ``ty`` in place of ``type``; its keys are expanded with the type's table (`ws_simple`) and then
parsed like a DEFAULT one. Amounts are ``Decimal(str(x))``; times are aware UTC.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_manager.adapters.broker.upbit.parsers import (
    dec,
    dec_or,
    epoch_ms,
    integer,
    opt_dec,
    opt_epoch_ms,
    opt_text,
    rows,
    text,
)
from stock_manager.adapters.broker.upbit.ws_simple import to_default_format


@dataclass(frozen=True, slots=True)
class TickerEvent:
    """A ``ticker`` message: the market's last trade and day statistics (day = from 00:00 UTC); quote currency."""

    market: str
    trade_price: Decimal
    opening_price: Decimal
    high_price: Decimal
    low_price: Decimal
    prev_closing_price: Decimal
    change: str  # RISE / EVEN / FALL
    signed_change_price: Decimal
    signed_change_rate: Decimal  # fraction, -0.0069 = -0.69 %
    trade_volume: Decimal  # base quantity of the last trade
    acc_trade_price_24h: Decimal
    acc_trade_volume_24h: Decimal
    ask_bid: str  # taker side of the last trade, ASK / BID
    traded_at: datetime  # trade_timestamp, aware UTC
    timestamp: datetime
    market_state: str | None
    stream_type: str  # SNAPSHOT / REALTIME


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A ``trade`` message: one public trade; prices in the quote currency, volume in the base currency."""

    market: str
    trade_price: Decimal
    trade_volume: Decimal
    ask_bid: str  # taker side, ASK / BID
    sequential_id: int
    traded_at: datetime  # trade_timestamp, aware UTC
    timestamp: datetime
    prev_closing_price: Decimal | None
    best_ask_price: Decimal | None
    best_ask_size: Decimal | None
    best_bid_price: Decimal | None
    best_bid_size: Decimal | None
    stream_type: str


@dataclass(frozen=True, slots=True)
class OrderbookUnit:
    """One price level of an order-book message, best first."""

    ask_price: Decimal
    bid_price: Decimal
    ask_size: Decimal
    bid_size: Decimal


@dataclass(frozen=True, slots=True)
class OrderbookEvent:
    """An ``orderbook`` message: a *full* top-N snapshot, not a delta (§5.3)."""

    market: str
    units: tuple[OrderbookUnit, ...]
    total_ask_size: Decimal
    total_bid_size: Decimal
    level: Decimal
    timestamp: datetime
    stream_type: str


@dataclass(frozen=True, slots=True)
class MyOrderEvent:
    """A ``myOrder`` message: a change of one of this account's orders (§5.3).

    With ``state == "trade"`` a fill happened and `price`/`volume` are *that fill's* price and base quantity
    (`fill_price`/`fill_volume`); otherwise they are the order's. `side` is lower-cased (``bid``/``ask``) to
    match the REST order object. Amounts: quote currency (KRW) for price, funds and fees; base currency for
    volumes; `locked` in the currency the order locks.
    """

    market: str
    uuid: str
    side: str
    ord_type: str  # limit / price / market / best
    state: str  # wait / watch / trade / done / cancel / prevented
    trade_uuid: str | None
    price: Decimal | None
    avg_price: Decimal | None
    volume: Decimal | None
    remaining_volume: Decimal | None
    executed_volume: Decimal
    executed_funds: Decimal | None
    trades_count: int
    reserved_fee: Decimal
    remaining_fee: Decimal
    paid_fee: Decimal
    locked: Decimal
    trade_fee: Decimal | None  # this fill's fee, only with state "trade"
    is_maker: bool | None
    time_in_force: str | None
    identifier: str | None
    smp_type: str | None
    prevented_volume: Decimal
    prevented_locked: Decimal
    trade_at: datetime | None  # trade_timestamp, aware UTC
    order_at: datetime | None  # order_timestamp, aware UTC
    timestamp: datetime
    stream_type: str

    @property
    def is_fill(self) -> bool:
        """Return True for a fill event (``state == "trade"``)."""
        return self.state == "trade"

    @property
    def fill_price(self) -> Decimal | None:
        """Return this fill's price (quote currency per base unit), or None when the event is not a fill."""
        return self.price if self.is_fill else None

    @property
    def fill_volume(self) -> Decimal | None:
        """Return this fill's base quantity, or None when the event is not a fill."""
        return self.volume if self.is_fill else None


@dataclass(frozen=True, slots=True)
class AssetChange:
    """One currency of a ``myAsset`` message: available `balance` and `locked`, in `currency`."""

    currency: str
    balance: Decimal
    locked: Decimal


@dataclass(frozen=True, slots=True)
class MyAssetEvent:
    """A ``myAsset`` message: the balances of the currencies that changed."""

    asset_uuid: str
    assets: tuple[AssetChange, ...]
    asset_at: datetime | None  # asset_timestamp, aware UTC
    timestamp: datetime
    stream_type: str


type UpbitEvent = TickerEvent | TradeEvent | OrderbookEvent | MyOrderEvent | MyAssetEvent


def parse_ws_message(message: Mapping[str, Any]) -> UpbitEvent | None:
    """Return the event of one data message (DEFAULT or SIMPLE), or None for a type not modelled (candles).

    Raises
    ------
    stock_manager.adapters.broker.upbit.parsers.UpbitParseError
        If a known type lacks a field or carries a malformed value.
    """
    row = to_default_format(message)
    match row.get("type"):
        case "ticker":
            return _ticker(row)
        case "trade":
            return _trade(row)
        case "orderbook":
            return _orderbook(row)
        case "myOrder":
            return _my_order(row)
        case "myAsset":
            return _my_asset(row)
        case _:
            return None


def _ticker(row: Mapping[str, Any]) -> TickerEvent:
    return TickerEvent(
        market=text(row, "code"),
        trade_price=dec(row, "trade_price"),
        opening_price=dec(row, "opening_price"),
        high_price=dec(row, "high_price"),
        low_price=dec(row, "low_price"),
        prev_closing_price=dec(row, "prev_closing_price"),
        change=text(row, "change"),
        signed_change_price=dec(row, "signed_change_price"),
        signed_change_rate=dec(row, "signed_change_rate"),
        trade_volume=dec(row, "trade_volume"),
        acc_trade_price_24h=dec(row, "acc_trade_price_24h"),
        acc_trade_volume_24h=dec(row, "acc_trade_volume_24h"),
        ask_bid=text(row, "ask_bid"),
        traded_at=epoch_ms(row, "trade_timestamp"),
        timestamp=epoch_ms(row, "timestamp"),
        market_state=opt_text(row, "market_state"),
        stream_type=text(row, "stream_type"),
    )


def _trade(row: Mapping[str, Any]) -> TradeEvent:
    return TradeEvent(
        market=text(row, "code"),
        trade_price=dec(row, "trade_price"),
        trade_volume=dec(row, "trade_volume"),
        ask_bid=text(row, "ask_bid"),
        sequential_id=integer(row, "sequential_id"),
        traded_at=epoch_ms(row, "trade_timestamp"),
        timestamp=epoch_ms(row, "timestamp"),
        prev_closing_price=opt_dec(row, "prev_closing_price"),
        best_ask_price=opt_dec(row, "best_ask_price"),
        best_ask_size=opt_dec(row, "best_ask_size"),
        best_bid_price=opt_dec(row, "best_bid_price"),
        best_bid_size=opt_dec(row, "best_bid_size"),
        stream_type=text(row, "stream_type"),
    )


def _orderbook(row: Mapping[str, Any]) -> OrderbookEvent:
    units = rows(row.get("orderbook_units"), what="orderbook_units")
    return OrderbookEvent(
        market=text(row, "code"),
        units=tuple(
            OrderbookUnit(
                ask_price=dec(u, "ask_price"),
                bid_price=dec(u, "bid_price"),
                ask_size=dec(u, "ask_size"),
                bid_size=dec(u, "bid_size"),
            )
            for u in units
        ),
        total_ask_size=dec(row, "total_ask_size"),
        total_bid_size=dec(row, "total_bid_size"),
        level=dec_or(row, "level", Decimal(0)),
        timestamp=epoch_ms(row, "timestamp"),
        stream_type=text(row, "stream_type"),
    )


def _my_order(row: Mapping[str, Any]) -> MyOrderEvent:
    is_maker = row.get("is_maker")
    return MyOrderEvent(
        market=text(row, "code"),
        uuid=text(row, "uuid"),
        side=text(row, "ask_bid").lower(),
        ord_type=text(row, "order_type"),
        state=text(row, "state"),
        trade_uuid=opt_text(row, "trade_uuid"),
        price=opt_dec(row, "price"),
        avg_price=opt_dec(row, "avg_price"),
        volume=opt_dec(row, "volume"),
        remaining_volume=opt_dec(row, "remaining_volume"),
        executed_volume=dec_or(row, "executed_volume", Decimal(0)),
        executed_funds=opt_dec(row, "executed_funds"),
        trades_count=integer(row, "trades_count", default=0),
        reserved_fee=dec_or(row, "reserved_fee", Decimal(0)),
        remaining_fee=dec_or(row, "remaining_fee", Decimal(0)),
        paid_fee=dec_or(row, "paid_fee", Decimal(0)),
        locked=dec_or(row, "locked", Decimal(0)),
        trade_fee=opt_dec(row, "trade_fee"),
        is_maker=None if is_maker is None else bool(is_maker),
        time_in_force=opt_text(row, "time_in_force"),
        identifier=opt_text(row, "identifier"),
        smp_type=opt_text(row, "smp_type"),
        prevented_volume=dec_or(row, "prevented_volume", Decimal(0)),
        prevented_locked=dec_or(row, "prevented_locked", Decimal(0)),
        trade_at=opt_epoch_ms(row, "trade_timestamp"),
        order_at=opt_epoch_ms(row, "order_timestamp"),
        timestamp=epoch_ms(row, "timestamp"),
        stream_type=text(row, "stream_type"),
    )


def _my_asset(row: Mapping[str, Any]) -> MyAssetEvent:
    assets = rows(row.get("assets"), what="myAsset assets")
    return MyAssetEvent(
        asset_uuid=text(row, "asset_uuid"),
        assets=tuple(
            AssetChange(currency=text(a, "currency"), balance=dec(a, "balance"), locked=dec_or(a, "locked", Decimal(0)))
            for a in assets
        ),
        asset_at=opt_epoch_ms(row, "asset_timestamp"),
        timestamp=epoch_ms(row, "timestamp"),
        stream_type=text(row, "stream_type"),
    )
