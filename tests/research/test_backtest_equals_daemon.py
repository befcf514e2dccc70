"""The backtest is the daemon's logic: on the bundled data its orders and fills equal the daemon's replay."""

from datetime import date

import pytest

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.data import bundled
from stock_manager.research.engine import BacktestConfig, FillModel, run_backtest
from tests.research.support import backtest_rows, daemon_replay, fresh_sqlite


async def _compare(tmp_path, template, start: date, end: date, symbols: str, params: dict | None = None) -> int:
    daemon_orders, daemon_fills = await daemon_replay(
        tmp_path, fresh_sqlite(template, tmp_path), start, end, symbols, params
    )
    config = BacktestConfig(
        start, end, fill_model=FillModel.PATH, params=MaCrossParams.from_mapping(params) if params else MaCrossParams()
    )
    result = run_backtest(bundled(symbols.split(",")), config)
    orders, fills = backtest_rows(result)
    assert orders == daemon_orders
    assert fills == daemon_fills
    return len(fills)


async def test_backtest_when_daemon_replays_two_golden_crosses_then_same_orders_and_fills(tmp_path, _sqlite_template):
    assert await _compare(tmp_path, _sqlite_template, date(2023, 2, 13), date(2023, 3, 3), "005930,069500") == 2


@pytest.mark.slow
async def test_backtest_when_daemon_replays_18_months_of_five_symbols_then_same_orders_and_fills(
    tmp_path, _sqlite_template
):
    # Entries, stop-losses, an unfilled limit and max_symbol_weight denials on 2022-01 → 2023-06.
    fills = await _compare(
        tmp_path, _sqlite_template, date(2022, 1, 1), date(2023, 6, 30), "005930,000660,005380,035420,069500"
    )
    assert fills >= 6


@pytest.mark.slow
async def test_backtest_when_daemon_replays_real_minute_bars_then_same_orders_and_fills(tmp_path, _sqlite_template):
    # Samsung's 5-minute bars of 2020-02-18 → 04-16 (the COVID fall), with short windows so that positions
    # are held (a stop-loss and a take-profit) on days replayed from real intraday bars.
    params = {
        "short_window_days": 5,
        "long_window_days": 20,
        "stop_loss_pct": "-3",
        "take_profit_pct": "4",
        "min_volume_ratio": "0",
    }
    assert await _compare(tmp_path, _sqlite_template, date(2020, 2, 1), date(2020, 4, 20), "005930,069500", params) >= 4


@pytest.mark.slow
async def test_backtest_when_daemon_replays_its_default_period_then_same_orders_and_fills(tmp_path, _sqlite_template):
    # The daemon's default replay (SIM_FROM/SIM_TO/SIM_SYMBOLS: 2023, the 5 bundled symbols).
    from stock_manager.config.settings import DEFAULT_SIM_SYMBOLS, Settings

    defaults = Settings.model_fields
    await _compare(
        tmp_path,
        _sqlite_template,
        defaults["sim_from"].default,
        defaults["sim_to"].default,
        ",".join(DEFAULT_SIM_SYMBOLS),
    )
