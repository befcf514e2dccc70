"""The strategy protocol: pure functions from market history, the strategy's own position and its parameters
to signals. A strategy proposes; risk decides; execution places.

A strategy never reads a clock or a venue: the caller passes when its decisions are timed (`ts_decision`:
the close of the daily bar the decision reads, or of the trading day a tick belongs to), so a restarted
daemon derives the same signal, and the same idempotency key, again.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal


@dataclass(frozen=True, slots=True)
class MarketDay:
    """What a strategy knows of the trading day a tick belongs to.

    Attributes
    ----------
    history : Sequence[DailyBar]
        The symbol's daily bars up to the previous trading day, in date order.
    open_price : Decimal | None
        The day's first trade price (its open), once one was seen.
    high, low : Decimal | None
        The highest and lowest trade price of the day so far (the print at hand included).
    """

    history: Sequence[DailyBar] = ()
    open_price: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None


class Strategy(Protocol):
    """**Port:** one strategy with its parameters bound."""

    @property
    def strategy_id(self) -> str:
        """Return the id its orders carry (``strategies.strategy_id``)."""
        ...

    @property
    def enters_intraday(self) -> bool:
        """Return True when a print may trigger an entry while flat (else prints matter only while holding)."""
        ...

    def daily_signals(
        self, history: Sequence[DailyBar], position: Position | None, ts_decision: datetime
    ) -> list[Signal]:
        """Return the signals for the trading day after the last bar of `history` (one symbol, date order)."""
        ...

    def tick_signals(
        self, tick: Tick, position: Position | None, ts_decision: datetime, day: MarketDay
    ) -> list[Signal]:
        """Return the signals one trade print triggers (`day`: the day's history and open)."""
        ...


class StrategyParams(Protocol):
    """Parameters of a strategy: validated on construction, stored as JSON-safe values."""

    def to_mapping(self) -> dict[str, Any]:
        """Return the parameters as JSON-safe values."""
        ...


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """What the daemon needs to run a strategy: its id and description, how to read its parameters (from a
    ``strategy_params`` row or a file), its defaults, and how to bind them.

    Attributes
    ----------
    params_from : Callable[[Mapping[str, Any]], StrategyParams]
        Builds validated parameters; raises `ConfigurationError` naming what is wrong.
    problems : Callable[[Mapping[str, Any]], list[str]]
        Why a mapping does not make valid parameters (empty when it does); pure.
    build : Callable[[Any], Strategy]
        Binds parameters to the strategy.
    """

    strategy_id: str
    name: str
    source: str
    params_from: Callable[[Mapping[str, Any]], StrategyParams]
    problems: Callable[[Mapping[str, Any]], list[str]]
    default_params: Callable[[], StrategyParams]
    build: Callable[[Any], Strategy]
