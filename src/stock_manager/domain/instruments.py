"""Instruments: what can be traded and the venue's rules for its prices and sizes.

An `Instrument` carries everything the core needs to turn a decision into a valid order and to check one:
the price increment as a function of the price (a `TickTable`), the size increment (1 share; 1e-8 BTC), the
smallest order, an optional daily price band around a base price, and the currency of its prices. The venue
adapters build them from their own tables (exchange rule books, instrument endpoints); nothing here knows a
venue.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from stock_manager.domain.model import Side


@dataclass(frozen=True, slots=True)
class TickTable:
    """The price increment by price band.

    Attributes
    ----------
    bands : tuple[tuple[Decimal, Decimal], ...]
        ``(upper bound exclusive, increment)`` pairs in increasing bound order, in the price currency.
    top_increment : Decimal
        The increment at or above the last bound.

    Raises
    ------
    ValueError
        If an increment is not positive or the bounds are not increasing.
    """

    bands: tuple[tuple[Decimal, Decimal], ...]
    top_increment: Decimal

    def __post_init__(self) -> None:
        bounds = [bound for bound, _ in self.bands]
        if bounds != sorted(set(bounds)):
            raise ValueError("tick table bounds must be strictly increasing")
        if self.top_increment <= 0 or any(tick <= 0 for _, tick in self.bands):
            raise ValueError("tick increments must be positive")

    @classmethod
    def uniform(cls, increment: Decimal) -> "TickTable":
        """Return a table with one increment at every price."""
        return cls((), increment)

    def increment_at(self, price: Decimal) -> Decimal:
        """Return the price increment valid at `price`."""
        for bound, tick in self.bands:
            if price < bound:
                return tick
        return self.top_increment


@dataclass(frozen=True, slots=True)
class PriceBand:
    """The lowest and highest prices a venue accepts for the day (a daily price limit), in the price currency."""

    lower: Decimal
    upper: Decimal

    def contains(self, price: Decimal) -> bool:
        """Return True when lower <= price <= upper."""
        return self.lower <= price <= self.upper


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument of one venue and its order rules.

    Attributes
    ----------
    symbol : str
        The venue's code (``"005930"``, ``"KRW-BTC"``).
    venue : str
        The venue's name, as its adapters call it.
    ticks : TickTable
        Valid price increments by price.
    size_increment : Decimal
        Quantities are whole multiples of this (1 share; ``0.00000001`` BTC).
    min_notional : Decimal
        Smallest order value (quantity × price) the venue accepts, in the price currency (0: none).
    band_rate : Decimal | None
        A daily price band of ± this fraction around the day's base price (0.30 for ±30 %); None: no band.
    currency : str
        Currency of prices and costs (``"KRW"``).
    name, kind, market : str
        Display name, kind (``"STOCK"``, ``"ETF"``, ``"CRYPTO"``) and listing market (``"KOSPI"``, ``"KRW"``),
        informational.
    """

    symbol: str
    venue: str
    ticks: TickTable
    size_increment: Decimal = Decimal(1)
    min_notional: Decimal = Decimal(0)
    band_rate: Decimal | None = None
    currency: str = "KRW"
    name: str = ""
    kind: str = ""
    market: str = ""

    def __post_init__(self) -> None:
        if self.size_increment <= 0:
            raise ValueError(f"{self.symbol}: size increment must be positive, was {self.size_increment}")
        if self.band_rate is not None and not Decimal(0) < self.band_rate < Decimal(1):
            raise ValueError(f"{self.symbol}: band rate must be in (0, 1), was {self.band_rate}")

    # -- PRICES ---------------------------------------------------------------------------------------

    def tick_size(self, price: Decimal) -> Decimal:
        """Return the price increment valid at `price`."""
        return self.ticks.increment_at(price)

    def is_on_tick(self, price: Decimal) -> bool:
        """Return True when `price` is positive and a multiple of the increment valid at that price."""
        return price > 0 and price % self.tick_size(price) == 0

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round `price` to the grid: down for a BUY limit, up for a SELL limit (never more aggressive).

        Raises
        ------
        ValueError
            If `price` is not positive.
        """
        if price <= 0:
            raise ValueError(f"price must be positive, was {price}")
        tick = self.tick_size(price)
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        rounded = (price / tick).to_integral_value(rounding) * tick
        # Rounding up can cross into a band with a larger increment; re-check on the new band.
        return rounded if self.is_on_tick(rounded) else self.round_price(rounded, side)

    def price_band(self, base_price: Decimal) -> PriceBand | None:
        """Return the day's band around `base_price` on the grid (upper floored, lower ceiled to the increment
        valid there), or None when the instrument has no band."""
        if self.band_rate is None:
            return None
        upper_raw = base_price * (1 + self.band_rate)
        lower_raw = base_price * (1 - self.band_rate)
        upper_tick, lower_tick = self.tick_size(upper_raw), self.tick_size(lower_raw)
        return PriceBand(
            lower=(lower_raw / lower_tick).to_integral_value(ROUND_CEILING) * lower_tick,
            upper=(upper_raw / upper_tick).to_integral_value(ROUND_FLOOR) * upper_tick,
        )

    # -- SIZES ----------------------------------------------------------------------------------------

    def floor_quantity(self, quantity: Decimal) -> Decimal:
        """Return `quantity` rounded down to the size increment (0 when below one increment)."""
        steps = (quantity / self.size_increment).to_integral_value(ROUND_FLOOR)
        return steps * self.size_increment if steps > 0 else Decimal(0)

    def is_valid_quantity(self, quantity: Decimal) -> bool:
        """Return True when `quantity` is a positive finite multiple of the size increment."""
        return quantity.is_finite() and quantity > 0 and quantity % self.size_increment == 0


@dataclass(frozen=True, slots=True)
class InstrumentBook:
    """The instruments a run trades, by symbol.

    Raises
    ------
    KeyError
        From `get` for a symbol it does not hold.
    """

    by_symbol: Mapping[str, Instrument] = field(default_factory=dict)

    @classmethod
    def of(cls, instruments: Sequence[Instrument]) -> "InstrumentBook":
        """Return the book of `instruments` (the last one wins for a repeated symbol)."""
        return cls({i.symbol: i for i in instruments})

    def get(self, symbol: str) -> Instrument:
        """Return the instrument of `symbol`."""
        try:
            return self.by_symbol[symbol]
        except KeyError:
            raise KeyError(f"no instrument {symbol!r} in this run") from None

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.by_symbol

    @property
    def symbols(self) -> list[str]:
        """Return the symbols, in the order given."""
        return list(self.by_symbol)
