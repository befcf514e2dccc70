"""Fills: immutable facts reported by the broker; stored append-only."""

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

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
    amount_krw : Decimal | None
        The exact executed amount, KRW, where the venue states it and quantity × price cannot carry it
        (a fill rebuilt from an order's total executed amount, whose price is that
        amount ÷ quantity rounded to `PRICE_SCALE`); None when quantity × price is the amount. An amount
        equal to quantity × price is stored as None, so equal fills compare equal.

    Raises
    ------
    ValueError
        If quantity, price or amount is not positive, a cost is negative, or `ts_filled` is naive.
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
    amount_krw: Decimal | None = None

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
        if self.amount_krw is not None:
            if self.amount_krw <= 0:
                raise ValueError(f"fill amount must be positive, was {self.amount_krw}")
            if self.amount_krw == self.quantity * self.price:
                object.__setattr__(self, "amount_krw", None)  # normalised: equal fills compare equal

    @property
    def notional_krw(self) -> Decimal:
        """Return the executed amount, KRW: `amount_krw` where the venue stated it, else quantity × price."""
        return self.amount_krw if self.amount_krw is not None else self.quantity * self.price


#: The scale prices are stored at (NUMERIC(28, 8)); a price derived from an amount is rounded to it.
PRICE_SCALE = Decimal("0.00000001")


def fill_from_amount(fill: Fill, quantity: Decimal, amount_krw: Decimal, **changes: object) -> Fill:
    """Return `fill` for `quantity` executed for exactly `amount_krw`: price = amount ÷ quantity rounded to
    `PRICE_SCALE` (half even), the amount kept exactly in `amount_krw` (see `Fill`); `changes` as `replace`."""
    price = (amount_krw / quantity).quantize(PRICE_SCALE, ROUND_HALF_EVEN)
    return replace(fill, quantity=quantity, price=price, amount_krw=amount_krw, **changes)  # type: ignore[arg-type]
