"""Fills: immutable facts reported by the broker; stored append-only."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.model import Side


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order.

    Attributes
    ----------
    broker_fill_id : str
        The identity of this execution: the adapter's reference as reported, the venue's identity once
        recorded (see `service_layer.ports.venue.FillIdentity`); unique across all recorded fills.
    broker_order_number : str
        The venue's id of the order the execution belongs to.
    symbol : str
        The instrument's symbol, e.g. ``"005930"``, ``"KRW-BTC"``.
    side : Side
        BUY or SELL.
    quantity : Decimal
        Executed quantity in the instrument's unit (> 0).
    price : Decimal
        Execution price, KRW per unit (> 0).
    commission_krw : Decimal
        Commission or fee charged for this execution, KRW.
    tax_krw : Decimal
        Transaction tax (sells, where the venue charges one), KRW.
    ts_filled : datetime
        Aware UTC time the execution happened at the broker.
    trading_date : date
        The venue's trading date of the execution (its order's day where orders are day orders).

    Raises
    ------
    ValueError
        If quantity or price is not positive, a cost is negative, or `ts_filled` is naive.
    """

    broker_fill_id: str
    broker_order_number: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission_krw: Decimal
    tax_krw: Decimal
    ts_filled: datetime
    trading_date: date

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill quantity must be positive, was {self.quantity}")
        if self.price <= 0:
            raise ValueError(f"fill price must be positive, was {self.price}")
        if self.commission_krw < 0 or self.tax_krw < 0:
            raise ValueError("fill commission and tax must not be negative")
        if self.ts_filled.tzinfo is None:
            raise ValueError("fill time must be timezone-aware")
        if not self.broker_fill_id:
            raise ValueError("a fill needs the broker's fill id")

    @property
    def notional_krw(self) -> Decimal:
        """Return quantity × price, KRW."""
        return self.quantity * self.price
