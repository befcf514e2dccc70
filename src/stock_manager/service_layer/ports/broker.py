"""**Port:** the broker, as the service layer sees it (spec 001 §12, PRD §3.1): what any venue can answer.

Adapters (the replaying simulator, each venue's API client) implement `Broker` and
translate every vendor error into `stock_manager.domain.errors` at their edge. Values crossing this port are
typed: money in the account currency (KRW) and quantities in the instrument's unit, both `Decimal`; aware
UTC datetimes; and each report carries the venue's trading date (the adapter knows the venue's day
boundary). Login details (tokens, keys, branches) stay inside the adapters.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A trading account at a venue (e.g. ``"50123456-01"``, ``"SIM-1a2b3c4d"``)."""

    account_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class CashBalance:
    """Cash of an account, KRW: the deposit and what a new buy may use."""

    account_id: str
    deposit_krw: Decimal
    orderable_krw: Decimal


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """A holding as the venue reports it: quantity (instrument units) and average purchase price (KRW)."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the broker is asked to place.

    Attributes
    ----------
    limit_price : Decimal | None
        On the instrument's price grid for LIMIT orders; None for MARKET orders.
    client_order_id : str | None
        Our id for the order, sent to venues that take one (single-use); None where the venue has none.
    time_in_force : TimeInForce
        DAY where orders expire at the close; GTC, IOC or FOK where the venue offers them.
    """

    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    client_order_id: str | None = None
    time_in_force: TimeInForce = TimeInForce.DAY


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The broker accepted an order.

    Attributes
    ----------
    broker_order_number : str
        The venue's id of the order (an order number, a uuid).
    venue_order_ref : str
        Whatever else the adapter needs to address the order later (cancel); opaque to the service layer.
    """

    broker_order_number: str
    venue_order_ref: str
    ts_accepted: datetime


class BrokerOrderState(StrEnum):
    """An order's state at the broker, as far as inquiries tell."""

    OPEN = "OPEN"  # working: nothing or part filled, remainder live
    FILLED = "FILLED"
    CANCELED = "CANCELED"  # remainder cancelled or expired (filled part stays filled)
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class BrokerOrderReport:
    """One order at the broker.

    Attributes
    ----------
    trading_date : date
        The venue's trading date of the order.
    filled_quantity : Decimal
        Cumulative executed quantity.
    avg_fill_price : Decimal | None
        Average execution price, KRW; None before any fill.
    client_order_id : str | None
        Our id for the order where the venue keeps one.
    """

    account_id: str
    broker_order_number: str
    venue_order_ref: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    state: BrokerOrderState
    filled_quantity: Decimal
    avg_fill_price: Decimal | None
    ts_accepted: datetime
    trading_date: date
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """Current price of a symbol, KRW.

    Attributes
    ----------
    base_price : Decimal
        The day's reference price, normally the previous close.
    upper_limit, lower_limit : Decimal | None
        The day's price limits; None where the venue has none.
    day_open, day_high, day_low : Decimal | None
        The trading day's first, highest and lowest trade price so far, where the venue reports them (None
        before the day's first trade): a daemon restarted during the day learns the day's open from them.
    """

    symbol: str
    price: Decimal
    base_price: Decimal
    upper_limit: Decimal | None
    lower_limit: Decimal | None
    ts_event: datetime
    day_open: Decimal | None = None
    day_high: Decimal | None = None
    day_low: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FillReport:
    """A fill notice from the order-event stream.

    The fill's `broker_fill_id` is the adapter's reference for the notice; the identity it is recorded
    under comes from the venue's `FillIdentity` (see `ports.venue`), so a fill seen by the stream and by
    inquiry is recorded once.
    """

    account_id: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class CancelReport:
    """The broker confirmed that an order's remainder will not fill (cancel, or expiry at the close)."""

    account_id: str
    broker_order_number: str
    canceled_quantity: Decimal
    ts_event: datetime
    reason: str
    trading_date: date


@dataclass(frozen=True, slots=True)
class RejectReport:
    """The broker rejected an order after accepting it."""

    account_id: str
    broker_order_number: str
    ts_event: datetime
    reason: str
    trading_date: date
    code: str = ""


@dataclass(frozen=True, slots=True)
class StreamResumed:
    """The order-event stream reconnected after a gap.

    Notices sent during the gap may be lost for good, so the service layer re-reads the open orders' states
    by inquiry and records any fill it missed.
    """

    account_id: str
    ts_event: datetime
    gap_secs: float


type BrokerOrderEvent = FillReport | CancelReport | RejectReport | StreamResumed
type TickHandler = Callable[[Tick], Awaitable[None]]
type OrderEventHandler = Callable[[BrokerOrderEvent], Awaitable[None]]


class Broker(Protocol):
    """**Port:** submits orders to, and reads state from, one venue account.

    Errors: `TemporaryBrokerError` (retry), `AmbiguousOrderOutcome` (resolve by inquiry, never re-send),
    `OrderRejectedByBroker` (final for that order), `FatalBrokerError` (stop trading).
    """

    async def login(self) -> None:
        """Authenticate and open what the adapter needs (tokens, keys, streams' credentials)."""
        ...

    async def get_accounts(self) -> list[AccountRef]:
        """Return the accounts this login may trade."""
        ...

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return the account's cash, KRW."""
        ...

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return the account's holdings with non-zero quantity."""
        ...

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return every order of the venue's `trading_date` for the account (all pages), and, where orders
        live across days, every order still working."""
        ...

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return the executions of the orders `get_orders` returns for `trading_date`: individual ones where
        the venue reports them, else one aggregate per order: its cumulative quantity for its exact executed
        amount (`Fill.amount_krw` where quantity × price cannot carry it)."""
        ...

    async def get_price(self, symbol: str) -> Quote:
        """Return the current price and the day's limits of `symbol`."""
        ...

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` daily bars of `symbol` ending on or before `end`, oldest first."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order; never retried blindly by the adapter (an ambiguous outcome is raised)."""
        ...

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        """Ask the broker to cancel the whole remainder of an order (`OrderAck` gave both references)."""
        ...

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver trade prints of `symbols` to `handler`, one at a time."""
        ...

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver the account's fill, cancel and reject notices (and `StreamResumed`) to `handler`."""
        ...

    async def close(self) -> None:
        """Release connections; the broker's own state (orders, fills) is untouched."""
        ...
