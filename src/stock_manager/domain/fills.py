"""Fills: immutable facts reported by the broker; stored append-only."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from stock_manager.domain.model import Side


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order.

    Attributes
    ----------
    broker_fill_id : str
        The broker's identity of this execution; unique across all fills (dedupes WS and REST copies).
    broker_order_number : str
        The broker order number (KIS ``ODNO``) the execution belongs to.
    symbol : str
        KRX short code, e.g. ``"005930"``.
    side : Side
        BUY or SELL.
    quantity : Decimal
        Executed quantity in shares (> 0).
    price : Decimal
        Execution price in KRW per share (> 0).
    commission_krw : Decimal
        Brokerage commission charged for this execution, KRW.
    tax_krw : Decimal
        Securities transaction tax (sells only), KRW.
    ts_filled : datetime
        Aware UTC time the execution happened at the broker.

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
