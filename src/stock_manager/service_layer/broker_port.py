"""**Port:** the broker, as the service layer sees it (spec 001 §12, PRD §3.1).

Adapters (the replaying simulator, the KIS Open API client) implement `Broker` and translate every vendor
error into `stock_manager.domain.errors` at their edge. Values crossing this port are typed, in KRW and
shares as `Decimal`, with aware UTC datetimes.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import OrderType, Side


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A trading account (KIS ``CANO``-``ACNT_PRDT_CD``, e.g. ``"50123456-01"``)."""

    account_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class CashBalance:
    """Cash of an account in KRW (KIS ``inquire-balance`` ``dnca_tot_amt`` and ``nxdy_excc_amt``)."""

    account_id: str
    deposit_krw: Decimal
    orderable_krw: Decimal


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """A holding as the broker reports it (KIS ``output1``: ``hldg_qty``, ``pchs_avg_pric``)."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the broker is asked to place (KIS ``order-cash`` TTTC0012U buy / TTTC0011U sell).

    `limit_price` is on the tick grid for LIMIT orders and None for MARKET orders.
    """

    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The broker accepted an order (KIS ``ODNO``, ``KRX_FWDG_ORD_ORGNO``, ``ORD_TMD``)."""

    broker_order_number: str
    broker_branch: str
    ts_accepted: datetime


class BrokerOrderState(StrEnum):
    """An order's state at the broker, as far as inquiries tell (KIS ``inquire-daily-ccld``)."""

    OPEN = "OPEN"  # working: nothing or part filled, remainder live
    FILLED = "FILLED"
    CANCELED = "CANCELED"  # remainder cancelled or expired (filled part stays filled)
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class BrokerOrderReport:
    """One order of the day at the broker (KIS ``inquire-daily-ccld`` ``output1`` row).

    Attributes
    ----------
    filled_quantity : Decimal
        Cumulative executed shares (``tot_ccld_qty``).
    avg_fill_price : Decimal | None
        Average execution price, KRW (``avg_prvs``); None before any fill.
    """

    account_id: str
    broker_order_number: str
    broker_branch: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    state: BrokerOrderState
    filled_quantity: Decimal
    avg_fill_price: Decimal | None
    ts_accepted: datetime


@dataclass(frozen=True, slots=True)
class Quote:
    """Current price of a symbol (KIS ``inquire-price`` FHKST01010100).

    Attributes
    ----------
    base_price : Decimal
        The day's reference price, normally the previous close (``stck_sdpr``).
    upper_limit, lower_limit : Decimal
        The day's price limits (``stck_mxpr`` / ``stck_llam``).
    """

    symbol: str
    price: Decimal
    base_price: Decimal
    upper_limit: Decimal
    lower_limit: Decimal
    ts_event: datetime


@dataclass(frozen=True, slots=True)
class FillReport:
    """A fill notice (KIS H0STCNI0/H0STCNI9 with ``CNTG_YN=2``).

    KIS notices carry no fill id. The identity recorded for a fill is assigned by the service layer under its
    lock: ``<broker order number>@<cumulative filled quantity after this fill>`` (the same identity the
    reconciliation derives from ``inquire-daily-ccld`` totals), so a fill seen by WebSocket and by REST is
    recorded once. An adapter puts a descriptive id of its own in ``fill.broker_fill_id`` (e.g. the notice's
    order number, time, quantity and price); it is informational.
    """

    account_id: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class CancelReport:
    """The broker confirmed that an order's remainder will not fill (cancel or expiry at the close)."""

    account_id: str
    broker_order_number: str
    canceled_quantity: Decimal
    ts_event: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class RejectReport:
    """The broker rejected an order after accepting it (KIS notice with ``RFUS_YN=Y``)."""

    account_id: str
    broker_order_number: str
    ts_event: datetime
    reason: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class StreamResumed:
    """The order-event stream reconnected after a gap (KIS WebSocket dropped and came back).

    Notices sent during the gap are lost for good (KIS does not replay them), so the service layer re-reads
    the day's order states by REST (``inquire-daily-ccld``) and records any fill it missed.
    """

    account_id: str
    ts_event: datetime
    gap_secs: float


type BrokerOrderEvent = FillReport | CancelReport | RejectReport | StreamResumed
type TickHandler = Callable[[Tick], Awaitable[None]]
type OrderEventHandler = Callable[[BrokerOrderEvent], Awaitable[None]]


class Broker(Protocol):
    """**Port:** submits orders to, and reads state from, one broker.

    Errors: `TemporaryBrokerError` (retry), `AmbiguousOrderOutcome` (resolve by inquiry, never re-send),
    `OrderRejectedByBroker` (final for that order), `FatalBrokerError` (stop trading).
    """

    async def login(self) -> None:
        """Authenticate: access token and WebSocket approval key (KIS ``/oauth2/tokenP``, ``/oauth2/Approval``)."""
        ...

    async def issue_access_token(self) -> None:
        """Issue or reuse the REST access token."""
        ...

    async def issue_approval_key(self) -> None:
        """Issue the WebSocket approval key."""
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
        """Return every order of `trading_date` for the account, all pages."""
        ...

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return every execution of `trading_date` for the account, with the broker's fill ids."""
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

    async def cancel_order(self, account_id: str, broker_order_number: str, broker_branch: str) -> None:
        """Ask the broker to cancel the whole remainder of an order (KIS TTTC0013U, ``QTY_ALL_ORD_YN=Y``)."""
        ...

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver trade prints of `symbols` to `handler`, one at a time (KIS H0STCNT0)."""
        ...

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver the account's fill, cancel and reject notices to `handler` (KIS H0STCNI0/H0STCNI9)."""
        ...

    async def close(self) -> None:
        """Release connections; the broker's own state (orders, fills) is untouched."""
        ...


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One KRX trading session (KST date) with its aware UTC open and close."""

    trading_date: date
    ts_open: datetime
    ts_close: datetime


class SessionSchedule(Protocol):
    """**Port:** when sessions happen, and the passage of a session's time.

    Live and paper: a calendar and the wall clock (sleeps until the pre-open, then until the close).
    Sim: the replay, which advances the replay clock and plays the day's prints to the quote handlers.
    """

    def sessions(self) -> "AsyncSessionIterator":
        """Yield each session when its pre-open is due; stop when the schedule is exhausted."""
        ...

    async def run_until_close(self, session: TradingSession) -> None:
        """Return when `session` has closed (its last print delivered, in the sim)."""
        ...


class AsyncSessionIterator(Protocol):
    """An async iterator of `TradingSession`."""

    def __aiter__(self) -> "AsyncSessionIterator": ...

    async def __anext__(self) -> TradingSession: ...
