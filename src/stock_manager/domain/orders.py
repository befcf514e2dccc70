"""The Order aggregate: one way to change it, ``apply(event)``.

Every change of an order's status goes through the transition table in `order_status`; an illegal one
raises `InvalidTransition` and leaves the order untouched.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.errors import DuplicateFill, InvalidTransition
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OPEN_STATUSES, OrderStatus, next_status

# -- ORDER EVENTS -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The broker acknowledged the order and issued its number (and whatever else addresses it there)."""

    broker_order_number: str
    ts_event: datetime
    venue_order_ref: str = ""


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """An execution was reported for the order."""

    fill: Fill


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """No more quantity will fill: cancelled, expired at the close, or found never placed."""

    ts_event: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The broker refused the order; `reason` is the broker's message."""

    ts_event: datetime
    reason: str
    code: str = ""


type OrderEvent = OrderAccepted | OrderFilled | OrderCanceled | OrderRejected


# -- ORDER --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Order:
    """An order the daemon decided to place; the database row is its single source of truth.

    Attributes
    ----------
    idempotency_key : str
        Deterministic key of the decision (strategy, symbol, intent, signal time); unique in the database.
    account_id : str
        Venue account the order belongs to.
    quantity : Decimal
        Ordered quantity in the instrument's unit (> 0).
    limit_price : Decimal | None
        Limit price in KRW on the tick grid for LIMIT orders; None for MARKET orders.
    signal_price : Decimal | None
        Last price when the strategy decided, KRW (the reference for slippage).
    client_order_id : str | None
        Our id of the order at venues that take one (single-use there); None elsewhere.
    venue_order_ref : str
        What else the venue's adapter needs to address the order (opaque here).
    filled_quantity, filled_amount_krw : Decimal
        Sum of fill quantities and of quantity × price over the order's fills.
    ts_* : datetime | None
        Aware UTC time the order entered each status (``ts_partial`` is the first partial fill).

    Raises
    ------
    ValueError
        On a non-positive quantity, or a limit price missing from a LIMIT order / present on a MARKET one.
    """

    idempotency_key: str
    account_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    intent: Intent
    reason: str
    trading_date: date
    ts_created: datetime
    correlation_id: str = ""
    signal_price: Decimal | None = None
    client_order_id: str | None = None
    id: int | None = None
    status: OrderStatus = OrderStatus.NEW
    status_reason: str = ""
    broker_order_number: str | None = None
    venue_order_ref: str = ""
    filled_quantity: Decimal = Decimal(0)
    filled_amount_krw: Decimal = Decimal(0)
    ts_sent: datetime | None = None
    ts_partial: datetime | None = None
    ts_filled: datetime | None = None
    ts_canceled: datetime | None = None
    ts_rejected: datetime | None = None
    fill_ids: set[str] = field(default_factory=set)
    events: list[OrderEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order quantity must be positive, was {self.quantity}")
        if self.order_type is OrderType.LIMIT and (self.limit_price is None or self.limit_price <= 0):
            raise ValueError("a LIMIT order needs a positive limit price")
        if self.order_type is OrderType.MARKET and self.limit_price is not None:
            raise ValueError("a MARKET order carries no limit price")

    # -- QUERIES ---------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Return True while the broker may still fill quantity (NEW, SENT, PARTIAL)."""
        return self.status in OPEN_STATUSES

    @property
    def remaining_quantity(self) -> Decimal:
        """Return the quantity not yet filled (0 once terminal)."""
        return Decimal(0) if not self.is_open else self.quantity - self.filled_quantity

    @property
    def avg_fill_price(self) -> Decimal | None:
        """Return the volume-weighted fill price in KRW, or None before the first fill."""
        if self.filled_quantity == 0:
            return None
        return self.filled_amount_krw / self.filled_quantity

    # -- COMMANDS --------------------------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> None:
        """Apply one broker event to the order.

        Raises
        ------
        InvalidTransition
            If `event` is not a legal trigger from the current status, or a fill would exceed the
            ordered quantity or belongs to another symbol/side.
        DuplicateFill
            If the fill's broker fill id was already applied.
        """
        match event:
            case OrderAccepted():
                self._transition(OrderStatus.SENT)
                self.broker_order_number = event.broker_order_number
                self.venue_order_ref = event.venue_order_ref
                self.ts_sent = event.ts_event
            case OrderFilled(fill=fill):
                self._apply_fill(fill)
            case OrderCanceled():
                self._transition(OrderStatus.CANCELED)
                self.status_reason = event.reason
                self.ts_canceled = event.ts_event
            case OrderRejected():
                self._transition(OrderStatus.REJECTED)
                self.status_reason = f"{event.code} {event.reason}".strip()
                self.ts_rejected = event.ts_event
        self.events.append(event)  # only after the transition succeeded

    def _apply_fill(self, fill: Fill) -> None:
        if fill.broker_fill_id in self.fill_ids:
            raise DuplicateFill(f"fill {fill.broker_fill_id} already applied to order {self.idempotency_key}")
        if fill.symbol != self.symbol or fill.side is not self.side:
            raise InvalidTransition(f"fill {fill.broker_fill_id} ({fill.symbol} {fill.side}) is not for this order")
        filled = self.filled_quantity + fill.quantity
        trigger = OrderStatus.FILLED if filled == self.quantity else OrderStatus.PARTIAL
        if next_status(self.status, trigger) is None:
            raise InvalidTransition(f"order {self.idempotency_key}: {self.status} -> {trigger} is not allowed")
        if filled > self.quantity:
            raise InvalidTransition(f"fill {fill.broker_fill_id} overfills order: {filled} > {self.quantity}")
        previous = self.status
        self._transition(trigger)
        self.filled_quantity = filled
        self.filled_amount_krw += fill.notional_krw
        self.fill_ids.add(fill.broker_fill_id)
        if self.broker_order_number is None:
            self.broker_order_number = fill.broker_order_number
        if trigger is OrderStatus.PARTIAL and self.ts_partial is None:
            self.ts_partial = fill.ts_filled
        if self.status is OrderStatus.FILLED and previous is not OrderStatus.FILLED:
            self.ts_filled = fill.ts_filled

    def _transition(self, trigger: OrderStatus) -> None:
        target = next_status(self.status, trigger)
        if target is None:
            raise InvalidTransition(f"order {self.idempotency_key}: {self.status} -> {trigger} is not allowed")
        self.status = target
