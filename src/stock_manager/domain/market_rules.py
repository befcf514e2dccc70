"""KRX market rules: tick sizes, daily price limits and trading costs.

Source: ../reference/kis-openapi.md §7.2 (tick table, unified for KOSPI and KOSDAQ since 2023-01-25),
§7.3 (±30 % daily band; reading (b) is used: upper = base × 1.3 floored to the tick valid there, lower =
base × 0.7 ceiled to the tick valid there) and §7.4 (commission and sell-side transaction tax).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from stock_manager.domain.model import InstrumentKind, Side

#: (upper bound exclusive in KRW, tick in KRW) for stocks; KIS §7.2.
STOCK_TICKS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
STOCK_TOP_TICK = Decimal(1_000)
PRICE_LIMIT_RATE = Decimal("0.30")


def tick_size(price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> Decimal:
    """Return the KRX tick size in KRW valid at `price` (ETF: 1 below 2,000 KRW, else 5 [KIS §7.2, ?])."""
    if kind is InstrumentKind.ETF:
        return Decimal(1) if price < 2_000 else Decimal(5)
    for bound, tick in STOCK_TICKS:
        if price < bound:
            return tick
    return STOCK_TOP_TICK


def is_on_tick(price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> bool:
    """Return True when `price` is a positive multiple of the tick valid at that price."""
    return price > 0 and price % tick_size(price, kind) == 0


def round_to_tick(price: Decimal, side: Side, kind: InstrumentKind = InstrumentKind.STOCK) -> Decimal:
    """Round `price` to the tick grid: down for a BUY limit, up for a SELL limit (never more aggressive).

    Raises
    ------
    ValueError
        If `price` is not positive.
    """
    if price <= 0:
        raise ValueError(f"price must be positive, was {price}")
    tick = tick_size(price, kind)
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    rounded = (price / tick).to_integral_value(rounding) * tick
    # Rounding up can cross into a band with a larger tick; re-check on the new band.
    return rounded if is_on_tick(rounded, kind) else round_to_tick(rounded, side, kind)


@dataclass(frozen=True, slots=True)
class PriceLimits:
    """The day's lower and upper price limits in KRW (상한가/하한가)."""

    lower: Decimal
    upper: Decimal

    def contains(self, price: Decimal) -> bool:
        """Return True when lower <= price <= upper."""
        return self.lower <= price <= self.upper


def price_limits(base_price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> PriceLimits:
    """Return the ±30 % limits around `base_price` (normally the previous close), on the tick grid."""
    upper_raw = base_price * (1 + PRICE_LIMIT_RATE)
    lower_raw = base_price * (1 - PRICE_LIMIT_RATE)
    upper = (upper_raw / tick_size(upper_raw, kind)).to_integral_value(ROUND_FLOOR) * tick_size(upper_raw, kind)
    lower = (lower_raw / tick_size(lower_raw, kind)).to_integral_value(ROUND_CEILING) * tick_size(lower_raw, kind)
    return PriceLimits(lower=lower, upper=upper)


def _default_tax_schedule() -> tuple[tuple[date, Decimal], ...]:
    # (effective from, rate) for KOSPI/KOSDAQ sells; KIS §7.4: 0.20 % (2023), 0.18 % (2024),
    # 0.15 % (2025), 0.20 % (2026-).
    return (
        (date(2023, 1, 1), Decimal("0.0020")),
        (date(2024, 1, 1), Decimal("0.0018")),
        (date(2025, 1, 1), Decimal("0.0015")),
        (date(2026, 1, 1), Decimal("0.0020")),
    )


@dataclass(frozen=True, slots=True)
class CostModel:
    """Commission and sell-side tax, both truncated to the won [KIS §7.4; truncation is ?].

    Attributes
    ----------
    commission_rate : Decimal
        Fraction of notional charged per side (KIS non-face-to-face: 0.0140527 % = 0.000140527).
    sell_tax_schedule : tuple[tuple[date, Decimal], ...]
        (effective date, rate) pairs in date order; the last one on or before the trade date applies.
    """

    commission_rate: Decimal = Decimal("0.000140527")
    sell_tax_schedule: tuple[tuple[date, Decimal], ...] = field(default_factory=_default_tax_schedule)

    def sell_tax_rate(self, on: date) -> Decimal:
        """Return the transaction tax rate on sells on date `on` (the earliest rate before 2023)."""
        rate = self.sell_tax_schedule[0][1]
        for effective, scheduled in self.sell_tax_schedule:
            if effective <= on:
                rate = scheduled
        return rate

    def commission_krw(self, notional_krw: Decimal) -> Decimal:
        """Return the commission on `notional_krw`, truncated to the won."""
        return (notional_krw * self.commission_rate).to_integral_value(ROUND_FLOOR)

    def tax_krw(self, side: Side, notional_krw: Decimal, on: date) -> Decimal:
        """Return the sell-side transaction tax on `notional_krw` for a trade on `on`; 0 for buys."""
        if side is Side.BUY:
            return Decimal(0)
        return (notional_krw * self.sell_tax_rate(on)).to_integral_value(ROUND_FLOOR)
