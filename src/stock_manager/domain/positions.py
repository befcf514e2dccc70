"""Positions: quantity, average price and realized PnL, derived from fills alone."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from stock_manager.domain.fills import Fill

#: Average price and PnL are kept to 1/10,000 KRW; reports round to the won.
PRICE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Position:
    """Holding of one symbol in one account, in the instrument's unit and KRW.

    Attributes
    ----------
    quantity : Decimal
        Signed quantity held (negative only if the broker reports more sold than bought).
    avg_price : Decimal
        Average entry price of the open quantity, KRW per unit, excluding costs (as brokers report it).
    realized_pnl_krw : Decimal
        Gross realized PnL of closed quantity, KRW, before commission and tax.
    commission_krw, tax_krw : Decimal
        Commission and transaction tax paid on all fills of the symbol, KRW.
    """

    account_id: str
    symbol: str
    quantity: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    realized_pnl_krw: Decimal = Decimal(0)
    commission_krw: Decimal = Decimal(0)
    tax_krw: Decimal = Decimal(0)

    @property
    def is_flat(self) -> bool:
        """Return True when nothing is held."""
        return self.quantity == 0

    @property
    def net_realized_pnl_krw(self) -> Decimal:
        """Return realized PnL after commission and tax, KRW."""
        return self.realized_pnl_krw - self.commission_krw - self.tax_krw

    def unrealized_pnl_krw(self, last_price: Decimal) -> Decimal:
        """Return (last_price - avg_price) × quantity, KRW, before exit costs."""
        return ((last_price - self.avg_price) * self.quantity).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)

    def market_value_krw(self, last_price: Decimal) -> Decimal:
        """Return quantity × last_price, KRW."""
        return self.quantity * last_price

    def apply_fill(self, fill: Fill) -> "Position":
        """Return the position after `fill`.

        Raises
        ------
        ValueError
            If the fill is for another symbol.
        """
        if fill.symbol != self.symbol:
            raise ValueError(f"fill for {fill.symbol} applied to position in {self.symbol}")
        signed = fill.quantity * fill.side.sign
        amount = fill.notional_krw  # the exact executed amount (not price × quantity where they differ)
        quantity, avg, realized = self.quantity, self.avg_price, self.realized_pnl_krw
        if quantity == 0 or (quantity > 0) == (signed > 0):
            # Opening or adding: weighted average of the entry amounts.
            new_quantity = quantity + signed
            avg = ((avg * quantity + amount * fill.side.sign) / new_quantity).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)
        else:
            # Reducing, closing or flipping: realize PnL on the closed part at the old average.
            closed = min(abs(signed), abs(quantity))
            direction = 1 if quantity > 0 else -1
            closed_amount = amount if closed == fill.quantity else amount * closed / fill.quantity
            realized += ((closed_amount - avg * closed) * direction).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)
            new_quantity = quantity + signed
            if new_quantity == 0:
                avg = Decimal(0)
            elif (new_quantity > 0) != (quantity > 0):
                # Flipped: the remainder opened at this fill's price.
                avg = fill.price if fill.amount_krw is None else (amount / fill.quantity).quantize(PRICE_QUANTUM)
        return replace(
            self,
            quantity=new_quantity,
            avg_price=avg,
            realized_pnl_krw=realized,
            commission_krw=self.commission_krw + fill.commission_krw,
            tax_krw=self.tax_krw + fill.tax_krw,
        )


def execution_order(fill: Fill) -> tuple[datetime, str]:
    """Return the key fills are folded in: execution time, then broker fill id (ties within one second)."""
    return fill.ts_filled, fill.broker_fill_id


def positions_from_fills(
    account_id: str, fills: Iterable[Fill], start: Mapping[str, Position] | None = None
) -> dict[str, Position]:
    """Recompute every symbol's position from fills in execution order (time, then broker fill id).

    Parameters
    ----------
    start : Mapping[str, Position] | None
        Positions to continue from: the result of this function on earlier fills, every one of which
        sorts before each of `fills` (a checkpoint); None starts from nothing.

    Returns
    -------
    dict[str, Position]
        Position per symbol, including symbols now flat (their realized PnL still matters).
    """
    positions: dict[str, Position] = dict(start or {})
    for fill in sorted(fills, key=execution_order):
        current = positions.get(fill.symbol) or Position(account_id=account_id, symbol=fill.symbol)
        positions[fill.symbol] = current.apply_fill(fill)
    return positions
