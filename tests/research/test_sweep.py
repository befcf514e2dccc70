"""The grid sweep: one backtest per parameter set, the same figures in one process or over the pool."""

from dataclasses import replace
from datetime import date

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research import optimize
from stock_manager.research.data import bundled
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.sweep import sweep


def test_sweep_when_run_in_one_process_or_two_then_each_set_has_its_own_backtests_figures():
    # Arrange: two parameter sets on two bundled symbols over 2022.
    market = bundled(["005930", "000660"])
    config = BacktestConfig(date(2022, 1, 3), date(2022, 12, 29))
    grid = [{"short_window_days": 20, "long_window_days": 60}, {"short_window_days": 50, "long_window_days": 200}]
    # Act
    serial = sweep(market, config, grid, jobs=1)
    pooled = sweep(market, config, grid, jobs=2)
    # Assert: the same figures either way, each equal to that set's own backtest.
    expected = [
        optimize.figures(run_backtest(market, replace(config, params=MaCrossParams.from_mapping(p))), "return_pct")
        for p in grid
    ]
    assert serial == pooled == expected
    assert serial[0] != serial[1]
