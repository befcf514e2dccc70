"""Volatility breakout (Larry Williams), for a market that never closes (spec 004).

On each trading day: the target is the day's open + ``k`` × the previous day's range (high − low). The first
print at or above the target, while flat, enters: a LIMIT buy of ``position_value_krw`` at that price plus
``entry_limit_offset_pct``. With ``ma_filter_days`` > 0 it enters only when the previous close is above the
simple moving average of the last ``ma_filter_days`` closes (0 turns the filter off). A position is sold at
MARKET at the next day boundary (the daily signal of the following day). One entry and one exit a day.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import MarketDay, StrategySpec
from stock_manager.domain.strategies.param_rules import Bound, build_params, params_mapping, params_problems

STRATEGY_ID = "volatility_breakout"


@dataclass(frozen=True, slots=True)
class BreakoutParams:
    """Parameters of the volatility breakout.

    Attributes
    ----------
    k : Decimal
        Share of the previous day's range added to the open (0.5).
    ma_filter_days : int
        Closes in the trend filter's moving average (5; 0 turns it off).
    position_value_krw : Decimal
        Budget of one entry, KRW.
    entry_limit_offset_pct : Decimal
        The entry limit above the triggering price, percent (0.2: marketable).
    """

    k: Decimal = Decimal("0.5")
    ma_filter_days: int = 5
    position_value_krw: Decimal = Decimal(1_000_000)
    entry_limit_offset_pct: Decimal = Decimal("0.2")

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "k": Bound(0, 3, low_open=True),
        "ma_filter_days": Bound(0, 250),
        "position_value_krw": Bound(0, low_open=True),
        "entry_limit_offset_pct": Bound(0, 5, high_open=True),
    }

    @classmethod
    def problems(cls, raw: Mapping[str, Any]) -> list[str]:
        """Return why `raw` does not make valid parameters (empty when it does)."""
        return params_problems(cls, raw, cls.BOUNDS)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "BreakoutParams":
        """Return parameters from a mapping; missing names take their defaults (`ConfigurationError` if bad)."""
        return build_params(cls, raw, cls.BOUNDS)

    def to_mapping(self) -> dict[str, str | int]:
        """Return the parameters as JSON-safe values."""
        return params_mapping(self)


def breakout_target(history: Sequence[DailyBar], open_price: Decimal, k: Decimal) -> Decimal | None:
    """Return the day's target: `open_price` + `k` × the last bar's range; None without a previous bar."""
    if not history:
        return None
    return open_price + k * (history[-1].high - history[-1].low)


def trend_allows(history: Sequence[DailyBar], days: int) -> bool:
    """Return True when the filter is off, or the last close is above the mean of the last `days` closes."""
    if days == 0:
        return True
    if len(history) < days:
        return False
    closes = [bar.close for bar in history[-days:]]
    return history[-1].close > sum(closes, Decimal(0)) / days


@dataclass(frozen=True, slots=True)
class VolatilityBreakout:
    """The volatility breakout with its parameters bound (the `Strategy` protocol)."""

    params: BreakoutParams

    @property
    def strategy_id(self) -> str:
        """Return ``volatility_breakout``."""
        return STRATEGY_ID

    @property
    def enters_intraday(self) -> bool:
        """Return True: the entry is a print crossing the day's target."""
        return True

    def daily_signals(
        self, history: Sequence[DailyBar], position: Position | None, ts_decision: datetime
    ) -> list[Signal]:
        """Return the exit at the day boundary of a position held overnight."""
        if position is None or position.quantity <= 0 or not history:
            return []
        return [
            Signal(
                strategy_id=STRATEGY_ID,
                symbol=history[-1].symbol,
                side=Side.SELL,
                intent=Intent.EXIT,
                order_type=OrderType.MARKET,
                reference_price=history[-1].close,
                ts_signal=ts_decision,
                reason="volatility breakout: exit at the day boundary",
                quantity=position.quantity,
            )
        ]

    def tick_signals(
        self, tick: Tick, position: Position | None, ts_decision: datetime, day: MarketDay
    ) -> list[Signal]:
        """Return the entry when a print reaches the day's target while flat (and the trend filter allows)."""
        if (position is not None and position.quantity > 0) or day.open_price is None:
            return []
        target = breakout_target(day.history, day.open_price, self.params.k)
        if target is None or tick.price < target or not trend_allows(day.history, self.params.ma_filter_days):
            return []
        limit = tick.price * (1 + self.params.entry_limit_offset_pct / 100)
        return [
            Signal(
                strategy_id=STRATEGY_ID,
                symbol=tick.symbol,
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.LIMIT,
                reference_price=tick.price,
                ts_signal=ts_decision,
                reason=f"volatility breakout: {tick.price} reached the target {target:.0f} (open "
                f"{day.open_price} + {self.params.k} × range)",
                target_value_krw=self.params.position_value_krw,
                limit_price=limit,
            )
        ]


#: How the daemon runs the volatility breakout.
VOLATILITY_BREAKOUT = StrategySpec(
    strategy_id=STRATEGY_ID,
    name="Volatility breakout (Larry Williams)",
    source="spec 004",
    params_from=BreakoutParams.from_mapping,
    problems=BreakoutParams.problems,
    default_params=BreakoutParams,
    build=VolatilityBreakout,
)
