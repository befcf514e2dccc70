"""Walk-forward search: windows, no look-ahead into in-sample fits, the guard, repeatability."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from stock_manager.domain.market import DailyBar
from stock_manager.research import optimize as opt
from stock_manager.research.data import BarSeries, MarketData, bundled
from stock_manager.research.engine import BacktestConfig

SPEC = opt.spec_from_mapping(
    {
        "objective": "return_pct",
        "trials": 4,
        "seed": 3,
        "walk_forward": {"in_sample_days": 365, "out_of_sample_days": 180},
        "params": {
            "short_window_days": {"low": 10, "high": 40, "step": 10},
            "long_window_days": {"low": 60, "high": 120, "step": 20},
        },
    }
)


def _poisoned_after(market: MarketData, last: date) -> MarketData:
    # Every bar after `last` becomes a crash to 1 KRW on huge volume: any read of it changes the figures.
    series = {}
    for s, bs in market.series.items():
        bars = tuple(
            b
            if b.trading_date <= last
            else DailyBar(s, b.trading_date, Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(10**9))
            for b in bs.bars
        )
        series[s] = BarSeries(s, bars, bs.kind, frozenset(), bundled=False)
    return MarketData(series, "poisoned")


def test_windows_when_period_rolls_then_in_sample_ends_the_day_before_out_of_sample():
    wins = opt.windows(date(2020, 1, 1), date(2021, 12, 31), SPEC)
    assert [(w.is_start, w.is_end, w.oos_start, w.oos_end) for w in wins] == [
        (date(2020, 1, 1), date(2020, 12, 30), date(2020, 12, 31), date(2021, 6, 28)),
        (date(2020, 6, 29), date(2021, 6, 28), date(2021, 6, 29), date(2021, 12, 25)),
        (date(2020, 12, 26), date(2021, 12, 25), date(2021, 12, 26), date(2021, 12, 31)),
    ]


def test_evaluate_when_bars_after_the_in_sample_end_are_poisoned_then_in_sample_figures_do_not_change():
    clean = MarketData({s: BarSeries(s, bs.bars, bs.kind) for s, bs in bundled(["005930", "000660"]).series.items()})
    window = opt.windows(date(2021, 1, 1), date(2022, 12, 31), SPEC)[0]
    poisoned = _poisoned_after(clean, window.is_end)
    params = {"short_window_days": 10, "long_window_days": 60, "min_volume_ratio": "0"}
    config = BacktestConfig(date(2021, 1, 1), date(2022, 12, 31))
    opt._init_worker(clean, config)
    honest = opt.evaluate(params, window, "sharpe")
    opt._init_worker(poisoned, config)
    leaked = opt.evaluate(params, window, "sharpe")
    assert honest["in_sample"]["trades"] > 0
    assert leaked["in_sample"] == honest["in_sample"]  # nothing after the in-sample end reached the fit
    assert leaked["out_of_sample"] != honest["out_of_sample"]  # while the poison is there to be seen


def test_optimize_when_run_twice_with_a_seed_then_same_trials_whatever_the_jobs():
    market = bundled(["005930", "069500"])
    config = BacktestConfig(date(2021, 1, 1), date(2022, 6, 30))
    first = opt.optimize(market, config, SPEC, jobs=1)
    second = opt.optimize(market, config, SPEC, jobs=2)
    assert [(t["params"], t["objective_in_sample"]) for t in first.trials] == [
        (t["params"], t["objective_in_sample"]) for t in second.trials
    ]
    assert len(first.trials) == 4 * len(first.windows)


def test_guard_when_best_in_sample_is_worse_out_of_sample_than_active_then_not_suggested():
    rows = [
        {"best_params": {"short_window_days": 10}, "best_out_of_sample": -3.0, "baseline_out_of_sample": 1.0},
        {"best_params": {"short_window_days": 20}, "best_out_of_sample": 0.5, "baseline_out_of_sample": 1.0},
    ]
    suggestion, verdict = opt._guard(rows, "return_pct")
    assert suggestion is None and verdict.startswith("keep the current parameters")
    better = [replace_row(r, best_out_of_sample=2.0) for r in rows]
    suggestion, verdict = opt._guard(better, "return_pct")
    assert suggestion == {"short_window_days": 20} and verdict.startswith("suggested")


def test_guard_when_objective_is_minimised_then_lower_drawdown_wins():
    rows = [{"best_params": {"a": 1}, "best_out_of_sample": 5.0, "baseline_out_of_sample": 3.0}]
    assert opt._guard(rows, "max_drawdown_pct")[0] is None


def replace_row(row: dict, **changes: object) -> dict:
    return {**row, **changes}


def test_spec_when_objective_unknown_then_configuration_error():
    import pytest

    from stock_manager.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="objective"):
        opt.spec_from_mapping({"objective": "luck", "params": {"short_window_days": [10]}})
    assert replace(SPEC, trials=1).trials == 1
