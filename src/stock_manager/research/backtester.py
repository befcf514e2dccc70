"""One strategy's backtest as the walk-forward search (`research.optimize`) runs it, for a strategy the MA
cross engine does not replay: `IntradayBacktester` backtests one Bitcoin strategy (volatility breakout, grid,
turtle) on the replayed Upbit market with `research.intraday.run_intraday`.

No look-ahead by construction: a backtest of [start, end] plays the sessions of that span only, each from the
daily bars before it and its own prints, so nothing after `end` is read (the in-sample fit of a window never
sees its out-of-sample span).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.research.intraday import IntradayConfig, run_intraday
from stock_manager.research.records import BacktestResult
from stock_manager.service_layer.ports.venue import VenueProfile


class Span(Protocol):
    """A walk-forward window (`optimize.Window`): in-sample and out-of-sample dates."""

    is_start: date
    is_end: date
    oos_start: date
    oos_end: date


@dataclass(frozen=True, slots=True)
class IntradayBacktester:
    """Backtests `spec` alone on `market` under `venue`, with `config`'s account, limits and fee.

    Attributes
    ----------
    config : IntradayConfig
        Its period is the search's; its strategies are replaced by `spec` with the parameters under test.
    """

    market: ReplayMarket
    venue: VenueProfile
    config: IntradayConfig
    spec: StrategySpec

    @property
    def start(self) -> date:
        """Return the first day of the search's period."""
        return self.config.start

    @property
    def end(self) -> date:
        """Return the last day of the search's period."""
        return self.config.end

    def known(self) -> set[str]:
        """Return the names of the strategy's parameters."""
        return set(self.spec.default_params().to_mapping())

    def defaults(self) -> dict[str, Any]:
        """Return the strategy's default parameters, JSON-safe."""
        return self.spec.default_params().to_mapping()

    def backtest(self, params: Mapping[str, Any], start: date, end: date) -> BacktestResult:
        """Backtest `params` over [start, end].

        Raises
        ------
        ConfigurationError
            When `params` are not valid parameters of the strategy.
        """
        bound = self.spec.params_from(params)
        run = replace(self.config, start=start, end=end, strategies=((self.spec, bound),), params_by_day=None)
        return run_intraday(self.market, self.venue, run)

    def evaluate(
        self, params: Mapping[str, Any], window: Span, figures: Callable[[BacktestResult], dict[str, Any]]
    ) -> dict[str, Any]:
        """Return the figures of `params` in sample and out of sample (``{"error": ...}`` when invalid)."""
        try:
            self.spec.params_from(params)
        except ConfigurationError as e:
            return {"error": str(e)}
        return {
            "in_sample": figures(self.backtest(params, window.is_start, window.is_end)),
            "out_of_sample": figures(self.backtest(params, window.oos_start, window.oos_end)),
        }
