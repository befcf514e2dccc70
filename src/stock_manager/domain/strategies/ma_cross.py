"""The owner's strategy: 50/200-day moving-average cross on daily closes with a volume filter,
a stop-loss and a take-profit checked on every trade print (PRD §3.3).

Daily rules, evaluated before the open on bars up to the previous session:
- golden cross (SMA short crosses above SMA long on the last bar) with the last bar's volume at least
  ``min_volume_ratio`` × the mean volume of the ``volume_window_days`` bars before it, and no position
  → ENTRY: buy ``floor(position_value_krw / limit)`` shares with a LIMIT at the last close
  + ``entry_limit_offset_pct`` (rounded down to the tick grid by execution);
- dead cross (SMA short crosses below SMA long) while holding → EXIT: sell the whole position at MARKET.

Intraday rule, on every print while holding: price ≤ average price × (1 + ``stop_loss_pct``/100) or
price ≥ average price × (1 + ``take_profit_pct``/100) → EXIT at MARKET. One EXIT per symbol per session.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import MarketDay, StrategySpec
from stock_manager.domain.strategies.ma_cross_rules import coerce_parameters, parameter_problems

STRATEGY_ID = "ma_cross_50_200"


@dataclass(frozen=True, slots=True)
class MaCrossParams:
    """Parameters of the MA cross strategy; loaded from a YAML/JSON file or ``strategy_params``.

    Attributes
    ----------
    short_window_days, long_window_days : int
        SMA windows in sessions (50 and 200).
    volume_window_days : int
        Sessions in the volume average the cross day is compared with (20).
    min_volume_ratio : Decimal
        Cross-day volume must be at least this multiple of that average (0 disables the filter).
    stop_loss_pct, take_profit_pct : Decimal
        Exit thresholds relative to the average price, percent (-5 and +10).
    position_value_krw : Decimal
        Budget of one entry, KRW.
    entry_limit_offset_pct : Decimal
        Entry limit above the last close, percent.
    """

    short_window_days: int = 50
    long_window_days: int = 200
    volume_window_days: int = 20
    min_volume_ratio: Decimal = Decimal("0.8")
    stop_loss_pct: Decimal = Decimal("-5")
    take_profit_pct: Decimal = Decimal("10")
    position_value_krw: Decimal = Decimal("2000000")
    entry_limit_offset_pct: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        if problems := parameter_problems({f.name: getattr(self, f.name) for f in fields(self)}):
            raise ConfigurationError(f"invalid strategy parameters: {'; '.join(problems)}")

    @classmethod
    def problems(cls, raw: Mapping[str, Any]) -> list[str]:
        """Return why `raw` does not make valid parameters (empty when it does); missing names take defaults.

        Pure: unknown names, values that are not numbers (or not whole numbers for windows), and the rules
        of `ma_cross_rules.parameter_problems` (signs, bounds, short window below long).
        """
        values, problems = coerce_parameters(raw, {f.name: f.type for f in fields(cls)})
        if problems:
            return problems
        return parameter_problems({**{f.name: f.default for f in fields(cls)}, **values})

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "MaCrossParams":
        """Build parameters from a mapping (YAML/JSON/DB row); missing names take their defaults.

        Raises
        ------
        ConfigurationError
            Naming every unknown name and invalid value (see `problems`).
        """
        if problems := cls.problems(raw):
            raise ConfigurationError(f"invalid strategy parameters: {'; '.join(problems)}")
        values, _ = coerce_parameters(raw, {f.name: f.type for f in fields(cls)})
        return cls(**values)

    def to_mapping(self) -> dict[str, str | int]:
        """Return the parameters as JSON-safe values (Decimals as strings)."""
        return {f.name: (v if isinstance(v := getattr(self, f.name), int) else str(v)) for f in fields(self)}


def sma(values: Sequence[Decimal], window: int, end: int) -> Decimal | None:
    """Return the mean of ``values[end-window+1 : end+1]``, or None when fewer than `window` values."""
    if end + 1 < window or end >= len(values):
        return None
    return sum(values[end - window + 1 : end + 1], Decimal(0)) / window


def evaluate_daily(
    history: Sequence[DailyBar], position: Position | None, params: MaCrossParams, ts_decision: datetime
) -> list[Signal]:
    """Return the daily signals for the session after the last bar of `history`.

    Parameters
    ----------
    history : Sequence[DailyBar]
        One symbol's daily bars in date order, ending with the previous session.
    position : Position | None
        The current holding of that symbol, if any.
    ts_decision : datetime
        When the last bar closed (aware): the signal's `ts_signal`.

    Returns
    -------
    list[Signal]
        At most one signal.
    """
    if len(history) < params.long_window_days + 1:
        return []
    closes = [bar.close for bar in history]
    last = len(history) - 1
    prev_short = sma(closes, params.short_window_days, last - 1)
    prev_long = sma(closes, params.long_window_days, last - 1)
    short, long_ = sma(closes, params.short_window_days, last), sma(closes, params.long_window_days, last)
    assert prev_short is not None and prev_long is not None and short is not None and long_ is not None
    bar = history[-1]
    ts_signal = ts_decision
    holding = position is not None and position.quantity > 0
    if prev_short <= prev_long and short > long_ and not holding:
        if not _volume_confirms(history, params):
            return []
        limit = bar.close * (1 + params.entry_limit_offset_pct / 100)
        quantity = (params.position_value_krw / limit).to_integral_value(ROUND_FLOOR)
        if quantity <= 0:
            return []
        reason = f"golden cross SMA{params.short_window_days} {short:.0f} > SMA{params.long_window_days} {long_:.0f}"
        return [
            _signal(
                bar.symbol,
                Side.BUY,
                Intent.ENTRY,
                OrderType.LIMIT,
                bar.close,
                ts_signal,
                reason,
                quantity=quantity,
                limit_price=limit,
            )
        ]
    if prev_short >= prev_long and short < long_ and holding:
        assert position is not None
        reason = f"dead cross SMA{params.short_window_days} {short:.0f} < SMA{params.long_window_days} {long_:.0f}"
        return [
            _signal(
                bar.symbol,
                Side.SELL,
                Intent.EXIT,
                OrderType.MARKET,
                bar.close,
                ts_signal,
                reason,
                quantity=position.quantity,
            )
        ]
    return []


def evaluate_tick(tick: Tick, position: Position | None, params: MaCrossParams, ts_decision: datetime) -> list[Signal]:
    """Return an EXIT signal when `tick` breaches the stop-loss or take-profit of the held position.

    The signal's `ts_signal` is `ts_decision`, the close of the session the tick belongs to, so there is one
    EXIT key per symbol per session.
    """
    if position is None or position.quantity <= 0 or position.avg_price <= 0:
        return []
    change_pct = (tick.price / position.avg_price - 1) * 100
    if change_pct <= params.stop_loss_pct:
        reason = f"stop-loss: {tick.price} is {change_pct:.2f}% from average {position.avg_price:.0f}"
    elif change_pct >= params.take_profit_pct:
        reason = f"take-profit: {tick.price} is +{change_pct:.2f}% from average {position.avg_price:.0f}"
    else:
        return []
    return [
        _signal(
            tick.symbol,
            Side.SELL,
            Intent.EXIT,
            OrderType.MARKET,
            tick.price,
            ts_decision,
            reason,
            quantity=position.quantity,
        )
    ]


def _volume_confirms(history: Sequence[DailyBar], params: MaCrossParams) -> bool:
    window = history[-1 - params.volume_window_days : -1]
    if params.min_volume_ratio == 0:
        return True
    if len(window) < params.volume_window_days:
        return False
    average = sum((bar.volume for bar in window), Decimal(0)) / len(window)
    return history[-1].volume >= average * params.min_volume_ratio


def _signal(
    symbol: str,
    side: Side,
    intent: Intent,
    order_type: OrderType,
    reference: Decimal,
    ts_signal: datetime,
    reason: str,
    *,
    quantity: Decimal,
    limit_price: Decimal | None = None,
) -> Signal:
    return Signal(
        strategy_id=STRATEGY_ID,
        symbol=symbol,
        side=side,
        intent=intent,
        order_type=order_type,
        reference_price=reference,
        ts_signal=ts_signal,
        reason=reason,
        quantity=quantity,
        limit_price=limit_price,
    )


@dataclass(frozen=True, slots=True)
class MaCrossStrategy:
    """The MA cross strategy with its parameters bound (the `Strategy` protocol)."""

    params: MaCrossParams

    @property
    def strategy_id(self) -> str:
        """Return ``ma_cross_50_200``."""
        return STRATEGY_ID

    @property
    def enters_intraday(self) -> bool:
        """Return False: entries are decided on daily bars; prints only trigger exits of a held position."""
        return False

    def daily_signals(
        self, history: Sequence[DailyBar], position: Position | None, ts_decision: datetime
    ) -> list[Signal]:
        """Return `evaluate_daily` of the bound parameters."""
        return evaluate_daily(history, position, self.params, ts_decision)

    def tick_signals(
        self, tick: Tick, position: Position | None, ts_decision: datetime, day: MarketDay
    ) -> list[Signal]:
        """Return `evaluate_tick` of the bound parameters (the day's history is not needed)."""
        return evaluate_tick(tick, position, self.params, ts_decision)


#: How the daemon runs the MA cross strategy.
MA_CROSS = StrategySpec(
    strategy_id=STRATEGY_ID,
    name="MA 50/200 cross",
    source="PRD §3.3",
    params_from=MaCrossParams.from_mapping,
    problems=MaCrossParams.problems,
    default_params=MaCrossParams,
    build=MaCrossStrategy,
)
