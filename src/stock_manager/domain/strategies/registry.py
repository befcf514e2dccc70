"""Every strategy the daemon can run, by id (the ``STRATEGIES`` setting and ``strategy_params.strategy_id``)."""

from collections.abc import Mapping
from types import MappingProxyType

from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.domain.strategies.grid import GRID
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.domain.strategies.turtle import TURTLE
from stock_manager.domain.strategies.volatility_breakout import VOLATILITY_BREAKOUT

#: The strategies by id: the MA 50/200 cross for stocks (PRD §3.3); the three of spec 004 for Bitcoin.
STRATEGIES: Mapping[str, StrategySpec] = MappingProxyType(
    {spec.strategy_id: spec for spec in (MA_CROSS, VOLATILITY_BREAKOUT, GRID, TURTLE)}
)
