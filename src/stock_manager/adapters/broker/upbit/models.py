"""Venue-level values of the Upbit REST API: frozen, Decimal for every amount, aware UTC datetimes.

Source: upbit-openapi.md §3.2–§3.6 (quotation shapes), §4.1 (accounts), §4.2 (chance), §4.10 (order object and
lifecycle). Field names follow Upbit's, so the integrator can read the reference next to the code; units are
stated per field (KRW for KRW markets' prices, funds and fees; the base currency for volumes).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

#: Order states of the REST order object (§4.10). WebSocket ``myOrder`` adds ``trade`` and ``prevented``.
OPEN_STATES: Final = frozenset({"wait", "watch"})
FINAL_STATES: Final = frozenset({"done", "cancel"})
SIDES: Final = frozenset({"bid", "ask"})
ORDER_TYPES: Final = frozenset({"limit", "price", "market", "best"})


@dataclass(frozen=True, slots=True)
class UpbitTrade:
    """One fill of an order, as in ``GET /v1/order``'s ``trades`` (§4.10).

    Attributes
    ----------
    uuid : str
        The trade's id (unique per fill).
    market : str
        E.g. ``"KRW-BTC"``.
    price : Decimal
        Fill price, quote currency per base unit (KRW per BTC).
    volume : Decimal
        Filled base quantity (BTC, 8 decimals).
    funds : Decimal
        price * volume, quote currency, before fees.
    side : str
        ``"bid"`` or ``"ask"``.
    created_at : datetime
        When it filled, aware UTC (Upbit sends KST with microseconds).
    trend : str | None
        ``"up"`` (buy-initiated) or ``"down"``; None in old answers.
    """

    uuid: str
    market: str
    price: Decimal
    volume: Decimal
    funds: Decimal
    side: str
    created_at: datetime
    trend: str | None


@dataclass(frozen=True, slots=True)
class UpbitOrder:
    """An order as Upbit reports it (§4.10); ``trades`` only from ``GET /v1/order``.

    A market buy (``ord_type="price"``) usually ends in state ``cancel`` *with* fills (the dust that cannot buy
    1e-8 BTC is refunded): look at `executed_volume`, never at the state alone (§9 pitfall 1).

    Attributes
    ----------
    uuid : str
        Upbit's order id.
    identifier : str | None
        The client order id sent at creation (None if none was sent, or for orders before 2024-10-18).
    market : str
        E.g. ``"KRW-BTC"``.
    side : str
        ``"bid"`` (buy) or ``"ask"`` (sell).
    ord_type : str
        ``"limit"``, ``"price"`` (market buy by KRW amount), ``"market"`` (market sell by volume), ``"best"``.
    state : str
        ``"wait"``, ``"watch"``, ``"done"`` or ``"cancel"``.
    price : Decimal | None
        Limit: unit price (KRW per BTC); ``price``/``best`` bids: KRW to spend; None for market sells.
    volume : Decimal | None
        Ordered base quantity; None for ``price`` buys.
    remaining_volume : Decimal | None
        Base quantity not yet filled; None when Upbit omits it (``price`` buys).
    executed_volume : Decimal
        Filled base quantity so far.
    executed_funds : Decimal | None
        Filled quote amount so far (list endpoints); None when absent.
    reserved_fee, remaining_fee, paid_fee : Decimal
        Fee reserved at creation, still reserved, and paid so far; quote currency.
    locked : Decimal
        Funds still locked by the order (quote currency for bids, base quantity for asks).
    trades_count : int
        Number of fills.
    time_in_force : str | None
        ``"ioc"``, ``"fok"``, ``"post_only"`` or None.
    created_at : datetime
        When Upbit accepted the order, aware UTC.
    trades : tuple[UpbitTrade, ...]
        The fills, oldest first as Upbit lists them; empty when the answer carries none.
    """

    uuid: str
    identifier: str | None
    market: str
    side: str
    ord_type: str
    state: str
    price: Decimal | None
    volume: Decimal | None
    remaining_volume: Decimal | None
    executed_volume: Decimal
    executed_funds: Decimal | None
    reserved_fee: Decimal
    remaining_fee: Decimal
    paid_fee: Decimal
    locked: Decimal
    trades_count: int
    time_in_force: str | None
    created_at: datetime
    trades: tuple[UpbitTrade, ...] = ()

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill (``wait`` or ``watch``)."""
        return self.state in OPEN_STATES

    @property
    def is_final(self) -> bool:
        """Return True once Upbit will not change the order any more (``done`` or ``cancel``)."""
        return self.state in FINAL_STATES


@dataclass(frozen=True, slots=True)
class UpbitBalance:
    """One currency of ``GET /v1/accounts`` (§4.1).

    Attributes
    ----------
    currency : str
        E.g. ``"KRW"``, ``"BTC"``.
    balance : Decimal
        Available (free) amount, in `currency`.
    locked : Decimal
        Amount reserved by open orders or withdrawals, in `currency`.
    avg_buy_price : Decimal
        Average buy price in `unit_currency` per unit (0 for KRW).
    avg_buy_price_modified : bool
        True when the user edited the average price.
    unit_currency : str
        Currency of `avg_buy_price` (``"KRW"``).
    """

    currency: str
    balance: Decimal
    locked: Decimal
    avg_buy_price: Decimal
    avg_buy_price_modified: bool
    unit_currency: str


@dataclass(frozen=True, slots=True)
class UpbitChance:
    """Order constraints and fees of one market for this account, ``GET /v1/orders/chance`` (§4.2).

    Attributes
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    bid_fee, ask_fee, maker_bid_fee, maker_ask_fee : Decimal
        Fee rates (``0.0005`` = 0.05 %), taker and maker.
    bid_currency, ask_currency : str
        Currency spent by a bid (``"KRW"``) and by an ask (``"BTC"``).
    bid_min_total, ask_min_total : Decimal
        Least order notional per side, quote currency (5,000 KRW).
    max_total : Decimal | None
        Largest order notional, quote currency (1,000,000,000 KRW).
    bid_types, ask_types : tuple[str, ...]
        Order types allowed per side (``limit``, ``price``, ``market``, ``limit_ioc``, ``best_fok``, …).
    order_sides : tuple[str, ...]
        Sides allowed (``ask``, ``bid``).
    state : str
        Market state, ``"active"`` when trading.
    bid_account, ask_account : UpbitBalance | None
        This account's balances of the two currencies.
    """

    market: str
    bid_fee: Decimal
    ask_fee: Decimal
    maker_bid_fee: Decimal
    maker_ask_fee: Decimal
    bid_currency: str
    ask_currency: str
    bid_min_total: Decimal
    ask_min_total: Decimal
    max_total: Decimal | None
    bid_types: tuple[str, ...]
    ask_types: tuple[str, ...]
    order_sides: tuple[str, ...]
    state: str
    bid_account: UpbitBalance | None
    ask_account: UpbitBalance | None


@dataclass(frozen=True, slots=True)
class UpbitCandle:
    """One candle of ``GET /v1/candles/minutes/{unit}`` or ``/days`` (§3.2); prices in the quote currency.

    Attributes
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    start_utc : datetime
        Start of the candle's interval, aware UTC (``candle_date_time_utc``).
    opening_price, high_price, low_price, trade_price : Decimal
        Open, high, low and close (last) prices.
    last_trade_at : datetime
        Time of the candle's last trade, aware UTC (``timestamp``).
    acc_trade_price : Decimal
        Traded notional in the interval, quote currency.
    acc_trade_volume : Decimal
        Traded base quantity in the interval.
    unit_mins : int | None
        Minutes per candle for minute candles; None for day candles.
    """

    market: str
    start_utc: datetime
    opening_price: Decimal
    high_price: Decimal
    low_price: Decimal
    trade_price: Decimal
    last_trade_at: datetime
    acc_trade_price: Decimal
    acc_trade_volume: Decimal
    unit_mins: int | None


@dataclass(frozen=True, slots=True)
class UpbitTicker:
    """One market of ``GET /v1/ticker`` (§3.4); the "day" starts 00:00 UTC; prices in the quote currency.

    Attributes
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    trade_price : Decimal
        Last trade price.
    opening_price, high_price, low_price, prev_closing_price : Decimal
        Of the current UTC day, and the previous day's close.
    change : str
        ``"RISE"``, ``"EVEN"`` or ``"FALL"`` against `prev_closing_price`.
    signed_change_price, signed_change_rate : Decimal
        Change against the previous close (rate as a fraction, ``-0.0069`` = -0.69 %).
    trade_volume : Decimal
        Base quantity of the last trade.
    acc_trade_price_24h, acc_trade_volume_24h : Decimal
        Rolling 24 h notional (quote currency) and base quantity.
    traded_at : datetime
        Time of the last trade, aware UTC (``trade_timestamp``).
    timestamp : datetime
        Time of the snapshot, aware UTC.
    """

    market: str
    trade_price: Decimal
    opening_price: Decimal
    high_price: Decimal
    low_price: Decimal
    prev_closing_price: Decimal
    change: str
    signed_change_price: Decimal
    signed_change_rate: Decimal
    trade_volume: Decimal
    acc_trade_price_24h: Decimal
    acc_trade_volume_24h: Decimal
    traded_at: datetime
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class UpbitTradeTick:
    """One public trade of ``GET /v1/trades/ticks`` (§3.3).

    Attributes
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    traded_at : datetime
        When it traded, aware UTC (``timestamp``, ms).
    trade_price : Decimal
        Price, quote currency per base unit.
    trade_volume : Decimal
        Base quantity.
    ask_bid : str
        Taker side, ``"ASK"`` or ``"BID"``.
    sequential_id : int
        Unique id (not an ordering, per the docs); the paging cursor.
    """

    market: str
    traded_at: datetime
    trade_price: Decimal
    trade_volume: Decimal
    ask_bid: str
    sequential_id: int


@dataclass(frozen=True, slots=True)
class UpbitInstrument:
    """Tick size and order-book grouping levels of one market, ``GET /v1/orderbook/instruments`` (§3.6, §8.1).

    Attributes
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    quote_currency : str
        E.g. ``"KRW"``.
    tick_size : Decimal
        Price grid step at the market's current price, quote currency (prices off the grid are refused with
        ``invalid_price_*``).
    supported_levels : tuple[Decimal, ...]
        Order-book grouping levels the market supports.
    """

    market: str
    quote_currency: str
    tick_size: Decimal
    supported_levels: tuple[Decimal, ...]
