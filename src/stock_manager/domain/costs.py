"""Trading costs: commission on both sides and a dated tax on sells, each rounded down to a currency unit.

The rates and the schedule are the venue's (the venue adapters build the `CostModel`); the arithmetic is the
same everywhere: cost = notional × rate, rounded down to `cost_quantum` (1 won for stock brokers, exact for
a venue that charges fractional fees).
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from stock_manager.domain.model import Side


@dataclass(frozen=True, slots=True)
class CostModel:
    """Commission and sell-side tax of one venue.

    Attributes
    ----------
    commission_rate : Decimal
        Fraction of notional charged per side (e.g. 0.000140527, or 0.0005 for 0.05 %).
    sell_tax_schedule : tuple[tuple[date, Decimal], ...]
        (effective date, rate) pairs in date order; the last one on or before the trade date applies, the
        first one before every date; empty: no tax.
    cost_quantum : Decimal | None
        Costs are rounded down to a multiple of this (``Decimal(1)``: truncated to the whole currency unit);
        None keeps them exact.

    Raises
    ------
    ValueError
        If a rate is negative or the schedule is not in date order.
    """

    commission_rate: Decimal = Decimal(0)
    sell_tax_schedule: tuple[tuple[date, Decimal], ...] = ()
    cost_quantum: Decimal | None = Decimal(1)

    def __post_init__(self) -> None:
        if self.commission_rate < 0 or any(rate < 0 for _, rate in self.sell_tax_schedule):
            raise ValueError("commission and tax rates must not be negative")
        dates = [d for d, _ in self.sell_tax_schedule]
        if dates != sorted(dates):
            raise ValueError("the sell tax schedule must be in date order")

    def sell_tax_rate(self, on: date) -> Decimal:
        """Return the tax rate on sells on date `on` (0 without a schedule)."""
        if not self.sell_tax_schedule:
            return Decimal(0)
        rate = self.sell_tax_schedule[0][1]
        for effective, scheduled in self.sell_tax_schedule:
            if effective <= on:
                rate = scheduled
        return rate

    def commission_krw(self, notional_krw: Decimal) -> Decimal:
        """Return the commission on `notional_krw`, rounded down to the cost quantum."""
        return self._round(notional_krw * self.commission_rate)

    def tax_krw(self, side: Side, notional_krw: Decimal, on: date) -> Decimal:
        """Return the sell-side tax on `notional_krw` for a trade on `on`; 0 for buys."""
        if side is Side.BUY:
            return Decimal(0)
        return self._round(notional_krw * self.sell_tax_rate(on))

    def _round(self, amount: Decimal) -> Decimal:
        if self.cost_quantum is None:
            return amount
        return (amount / self.cost_quantum).to_integral_value(ROUND_FLOOR) * self.cost_quantum
