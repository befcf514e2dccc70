"""Grid, for a market that never closes (spec 004).

Each trading day the band is the previous close ± ``band_pct`` %, cut into ``levels`` equal steps. Inside the
band the grid wants one unit (``unit_value_krw`` at the previous close, floored to ``size_increment``) per
level the price has fallen below the band's top: a print a level lower buys the missing units (LIMIT at the
print plus ``entry_limit_offset_pct``), a level higher sells the extra ones (MARKET). Once the day's prices have
left the band the grid stops for the day: whatever it holds is sold and nothing is bought until the next day.
Each level's move is one decision a day (its key carries the level).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar

from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import MarketDay, StrategySpec
from stock_manager.domain.strategies.param_rules import Bound, build_params, params_mapping, params_problems

STRATEGY_ID = "grid"


@dataclass(frozen=True, slots=True)
class GridParams:
    """Parameters of the grid.

    Attributes
    ----------
    levels : int
        Steps in the band (10).
    band_pct : Decimal
        Half-width of the band around the previous close, percent (5).
    unit_value_krw : Decimal
        Value of one unit at the previous close, KRW.
    size_increment : Decimal
        Quantities are floored to this (1e-8 BTC).
    entry_limit_offset_pct : Decimal
        A buy's limit above the triggering price, percent.
    """

    levels: int = 10
    band_pct: Decimal = Decimal(5)
    unit_value_krw: Decimal = Decimal(200_000)
    size_increment: Decimal = Decimal("0.00000001")
    entry_limit_offset_pct: Decimal = Decimal("0.1")

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "levels": Bound(2, 100),
        "band_pct": Bound(0, 50, low_open=True, high_open=True),
        "unit_value_krw": Bound(0, low_open=True),
        "size_increment": Bound(0, 1, low_open=True),
        "entry_limit_offset_pct": Bound(0, 5, high_open=True),
    }

    @classmethod
    def problems(cls, raw: Mapping[str, Any]) -> list[str]:
        """Return why `raw` does not make valid parameters (empty when it does)."""
        return params_problems(cls, raw, cls.BOUNDS)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "GridParams":
        """Return parameters from a mapping; missing names take their defaults (`ConfigurationError` if bad)."""
        return build_params(cls, raw, cls.BOUNDS)

    def to_mapping(self) -> dict[str, str | int]:
        """Return the parameters as JSON-safe values."""
        return params_mapping(self)


@dataclass(frozen=True, slots=True)
class GridDay:
    """One day's grid: the band, its step and the unit (coins)."""

    lower: Decimal
    upper: Decimal
    step: Decimal
    unit: Decimal

    def target_units(self, price: Decimal, levels: int) -> int:
        """Return the units wanted at `price`: the levels it has fallen below the band's top."""
        below = ((self.upper - price) / self.step).to_integral_value(ROUND_FLOOR)
        return max(0, min(levels, int(below)))


def grid_day(history: Sequence[DailyBar], params: GridParams) -> GridDay | None:
    """Return the day's grid from the previous close, or None without one (or with a unit below the size step)."""
    if not history:
        return None
    center = history[-1].close
    width = center * params.band_pct / 100
    unit = (params.unit_value_krw / center / params.size_increment).to_integral_value(ROUND_FLOOR)
    if unit <= 0:
        return None
    return GridDay(center - width, center + width, 2 * width / params.levels, unit * params.size_increment)


@dataclass(frozen=True, slots=True)
class Grid:
    """The grid with its parameters bound (the `Strategy` protocol)."""

    params: GridParams

    @property
    def strategy_id(self) -> str:
        """Return ``grid``."""
        return STRATEGY_ID

    @property
    def enters_intraday(self) -> bool:
        """Return True: the grid buys as prints fall through its levels."""
        return True

    def daily_signals(
        self, history: Sequence[DailyBar], position: Position | None, ts_decision: datetime
    ) -> list[Signal]:
        """Return nothing: the grid trades on prints."""
        return []

    def tick_signals(
        self, tick: Tick, position: Position | None, ts_decision: datetime, day: MarketDay
    ) -> list[Signal]:
        """Return the buy or sell that brings the held units to the print's level (all out once the day left
        the band)."""
        grid = grid_day(day.history, self.params)
        if grid is None:
            return []
        held = position.quantity if position is not None and position.quantity > 0 else Decimal(0)
        held_units = int((held / grid.unit).to_integral_value(ROUND_HALF_EVEN))
        left = (day.low is not None and day.low < grid.lower) or (day.high is not None and day.high > grid.upper)
        target = 0 if left else grid.target_units(tick.price, self.params.levels)
        if target == held_units and not (left and held > 0):
            return []
        if left or target < held_units:
            quantity = held if left or target == 0 else (held_units - target) * grid.unit
            why = (
                f"grid stopped: the day left the band {grid.lower:.0f}-{grid.upper:.0f}"
                if left
                else f"grid: {tick.price} rose to level {target}; selling {held_units - target} unit(s)"
            )
            return [
                Signal(
                    strategy_id=STRATEGY_ID,
                    symbol=tick.symbol,
                    side=Side.SELL,
                    intent=Intent.EXIT,
                    order_type=OrderType.MARKET,
                    reference_price=tick.price,
                    ts_signal=ts_decision,
                    reason=why,
                    quantity=min(quantity, held),
                    key_suffix="out" if left else f"L{target}",
                )
            ]
        return [
            Signal(
                strategy_id=STRATEGY_ID,
                symbol=tick.symbol,
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.LIMIT,
                reference_price=tick.price,
                ts_signal=ts_decision,
                reason=f"grid: {tick.price} fell to level {target}; buying {target - held_units} unit(s)",
                quantity=(target - held_units) * grid.unit,
                limit_price=tick.price * (1 + self.params.entry_limit_offset_pct / 100),
                key_suffix=f"L{target}",
            )
        ]


#: How the daemon runs the grid.
GRID = StrategySpec(
    strategy_id=STRATEGY_ID,
    name="Grid (levels in a band around the previous close)",
    source="spec 004",
    params_from=GridParams.from_mapping,
    problems=GridParams.problems,
    default_params=GridParams,
    build=Grid,
)
