"""A grid sweep: one backtest per parameter set, spread over a process pool; results in grid order."""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research import optimize as _opt
from stock_manager.research.data import MarketData
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.records import FillModel
from stock_manager.research.schedule import session_of


def _run_chunk(chunk: Sequence[tuple[int, Mapping[str, Any], str]]) -> list[tuple[int, dict[str, Any]]]:
    market, config = _opt._WORKER["market"], _opt._WORKER["config"]
    out = []
    for index, params, objective in chunk:
        result = run_backtest(market, replace(config, params=MaCrossParams.from_mapping(params)))
        out.append((index, _opt.figures(result, objective)))
    return out


def warm_paths(market: MarketData, config: BacktestConfig) -> None:
    """Build every symbol's intraday path of every session of `config`'s period (cached on `market`)."""
    if config.fill_model is not FillModel.PATH:
        return
    for day in market.trading_days(config.start, config.end):
        session = session_of(day)
        for bs in market.series.values():
            bs.prints(day, session.ts_open, session.ts_close)


def sweep(
    market: MarketData,
    config: BacktestConfig,
    grid: Sequence[Mapping[str, Any]],
    *,
    objective: str = "return_pct",
    jobs: int = 2,
    chunks_per_job: int = 4,
) -> list[dict[str, Any]]:
    """Backtest every parameter set of `grid` over `config`'s period; return their figures in grid order.

    Consecutive grid entries go to the same worker (they usually share moving-average windows, whose screening
    each worker computes once).
    """
    warm_paths(market, config)  # once, before the workers fork: they share the paths
    tasks = [(i, dict(p), objective) for i, p in enumerate(grid)]
    size = max(1, -(-len(tasks) // (jobs * chunks_per_job)))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    results: dict[int, dict[str, Any]] = {}
    if jobs <= 1:
        _opt._init_worker(market, config)
        for chunk in chunks:
            results.update(_run_chunk(chunk))
    else:
        with _opt.pool(market, config, jobs) as executor:
            for part in executor.map(_run_chunk, chunks):
                results.update(part)
    return [results[i] for i in range(len(tasks))]
