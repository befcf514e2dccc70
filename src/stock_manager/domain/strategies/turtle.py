"""Turtle (Donchian breakout with ATR sizing), for a market that never closes (spec 004).

While flat, a print above the highest high of the last ``entry_days`` daily bars enters: a LIMIT buy at that
price plus ``entry_limit_offset_pct`` of one unit, ``risk_per_unit_krw`` ÷ N coins (N = the average true range
of the last ``atr_days`` bars, the turtles' "N"), floored to ``size_increment``. While holding, a print below
the lowest low of the last ``exit_days`` bars, or at or below the average price − ``stop_n`` × N, sells the
whole position at MARKET. One entry and one exit a day.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, ClassVar

from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import MarketDay, StrategySpec
from stock_manager.domain.strategies.param_rules import Bound, build_params, params_mapping, params_problems

STRATEGY_ID = "turtle"


@dataclass(frozen=True, slots=True)
class TurtleParams:
    """Parameters of the turtle.

    Attributes
    ----------
    entry_days, exit_days, atr_days : int
        The breakout channel (20), the exit channel (10) and the true-range average (20), in daily bars.
    risk_per_unit_krw : Decimal
        KRW a unit loses on a move of 1 N (a unit is this ÷ N coins).
    stop_n : Decimal
        The stop below the average price, in N (2).
    size_increment : Decimal
        Quantities are floored to this (1e-8 BTC).
    entry_limit_offset_pct : Decimal
        The entry limit above the triggering price, percent.
    """

    entry_days: int = 20
    exit_days: int = 10
    atr_days: int = 20
    risk_per_unit_krw: Decimal = Decimal(50_000)
    stop_n: Decimal = Decimal(2)
    size_increment: Decimal = Decimal("0.00000001")
    entry_limit_offset_pct: Decimal = Decimal("0.2")

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "entry_days": Bound(2, 250),
        "exit_days": Bound(1, 250),
        "atr_days": Bound(1, 250),
        "risk_per_unit_krw": Bound(0, low_open=True),
        "stop_n": Bound(0, 10, low_open=True),
        "size_increment": Bound(0, 1, low_open=True),
        "entry_limit_offset_pct": Bound(0, 5, high_open=True),
    }

    @classmethod
    def problems(cls, raw: Mapping[str, Any]) -> list[str]:
        """Return why `raw` does not make valid parameters (empty when it does)."""
        return params_problems(cls, raw, cls.BOUNDS)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "TurtleParams":
        """Return parameters from a mapping; missing names take their defaults (`ConfigurationError` if bad)."""
        return build_params(cls, raw, cls.BOUNDS)

    def to_mapping(self) -> dict[str, str | int]:
        """Return the parameters as JSON-safe values."""
        return params_mapping(self)


def average_true_range(history: Sequence[DailyBar], days: int) -> Decimal | None:
    """Return the mean true range of the last `days` bars (each bar's range extended to the previous close);
    None with fewer than `days` + 1 bars."""
    if len(history) < days + 1:
        return None
    ranges = [
        max(bar.high, before.close) - min(bar.low, before.close)
        for before, bar in zip(history[-days - 1 : -1], history[-days:], strict=True)
    ]
    return sum(ranges, Decimal(0)) / days


@dataclass(frozen=True, slots=True)
class Turtle:
    """The turtle with its parameters bound (the `Strategy` protocol)."""

    params: TurtleParams

    @property
    def strategy_id(self) -> str:
        """Return ``turtle``."""
        return STRATEGY_ID

    @property
    def enters_intraday(self) -> bool:
        """Return True: the entry is a print breaking the channel."""
        return True

    def daily_signals(
        self, history: Sequence[DailyBar], position: Position | None, ts_decision: datetime
    ) -> list[Signal]:
        """Return nothing: the turtle decides on prints."""
        return []

    def tick_signals(
        self, tick: Tick, position: Position | None, ts_decision: datetime, day: MarketDay
    ) -> list[Signal]:
        """Return the channel-breakout entry while flat, or the channel or stop exit while holding."""
        p, history = self.params, day.history
        n = average_true_range(history, p.atr_days)
        holding = position is not None and position.quantity > 0
        if holding:
            assert position is not None
            exit_low = min((bar.low for bar in history[-p.exit_days :]), default=None)
            stop = position.avg_price - p.stop_n * n if n is not None else None
            if exit_low is not None and tick.price < exit_low:
                why = f"turtle exit: {tick.price} below the {p.exit_days}-day low {exit_low}"
            elif stop is not None and tick.price <= stop:
                why = f"turtle stop: {tick.price} at or below {stop:.0f} ({p.stop_n} N under {position.avg_price})"
            else:
                return []
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
                    quantity=position.quantity,
                )
            ]
        if n is None or n <= 0 or len(history) < p.entry_days:
            return []
        entry_high = max(bar.high for bar in history[-p.entry_days :])
        if tick.price <= entry_high:
            return []
        quantity = (p.risk_per_unit_krw / n / p.size_increment).to_integral_value(ROUND_FLOOR) * p.size_increment
        if quantity <= 0:
            return []
        return [
            Signal(
                strategy_id=STRATEGY_ID,
                symbol=tick.symbol,
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.LIMIT,
                reference_price=tick.price,
                ts_signal=ts_decision,
                reason=f"turtle entry: {tick.price} above the {p.entry_days}-day high {entry_high}; N {n:.0f}",
                quantity=quantity,
                limit_price=tick.price * (1 + p.entry_limit_offset_pct / 100),
            )
        ]


#: How the daemon runs the turtle.
TURTLE = StrategySpec(
    strategy_id=STRATEGY_ID,
    name="Turtle (Donchian 20/10, ATR sizing)",
    source="spec 004",
    params_from=TurtleParams.from_mapping,
    problems=TurtleParams.problems,
    default_params=TurtleParams,
    build=Turtle,
)
