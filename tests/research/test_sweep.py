"""The grid sweep: one backtest per parameter set, in grid order, equal to running each backtest alone."""

from dataclasses import replace
from datetime import date

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research import optimize as opt
from stock_manager.research.data import bundled
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.sweep import sweep


def test_sweep_when_run_in_process_then_each_entry_equals_its_own_backtest_in_grid_order():
    market = bundled(["005930"])
    config = BacktestConfig(date(2023, 1, 2), date(2023, 3, 31))
    grid = [{"short_window_days": 5, "long_window_days": 20}, {"short_window_days": 10, "long_window_days": 40}]

    swept = sweep(market, config, grid, jobs=1)

    alone = [
        opt.figures(run_backtest(market, replace(config, params=MaCrossParams.from_mapping(p))), "return_pct")
        for p in grid
    ]
    assert swept == alone
    assert [f["trades"] for f in swept] == [2, 1]  # two different outcomes, so the order is checked too
