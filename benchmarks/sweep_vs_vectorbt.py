"""A 1,000-combination sweep of the MA cross strategy on 5 symbols × 3 years: stockbot against vectorbt's
`Portfolio.from_signals`, the same grid, measured in the same run.

Grid: short window 10..55 step 5 (10) × long window 100..235 step 15 (10) × stop-loss -2..-12 % (10 values);
take-profit +10 %, volume filter 0.8 × the 20-session mean, 2,000,000 KRW per entry; bundled real bars of
005930, 000660, 005380, 035420 and 069500, 2021-01-04 → 2023-12-22 (with 300 sessions of history before).

* stockbot: `research.sweep.sweep`, one full backtest per combination over the 5 symbols as one account
  (the daemon's fill path from the intraday paths, risk gate, matching engine, costs), on a pool of
  `--jobs` processes; every round starts from a fresh `MarketData` (no cache warm), pool start included.
  Figure per combination: the exact return of the account.
* vectorbt: the pipeline a vectorbt user writes: SMAs of every window (numpy), entry/exit matrices for
  every combination and symbol (5,000 columns), `Portfolio.from_signals` with `sl_stop` per column,
  `tp_stop`=0.10, fees 0.0140527 %, 2,000,000 KRW per entry, then `total_return()`. Each symbol is its own
  column (vectorbt has no shared account or risk rules here; stops are checked on closes). Its first call
  compiles numba functions: that JIT time is printed apart, and the timed rounds come after it.

The comparison is of throughput for the same grid and data, not of identical trades (the models differ as
said above; `vs_backtrader.py` is the trade-by-trade comparison).

`--sharing` also measures how much a sweep could save by sharing work between combinations that differ only
in the stop-loss: for each (short, long) pair, the stop-loss values from tightest to loosest, each combination
compared with the previous one; the fills up to their first difference are work a forking replay could have
shared. It prints the played sessions of all combinations against that shared-prefix estimate (sessions
weighted by the share of a combination's fills after the difference).

    uv run python benchmarks/sweep_vs_vectorbt.py            # 3 interleaved rounds, 2 processes for stockbot
    uv run python benchmarks/sweep_vs_vectorbt.py --sharing  # and the bound of sharing work between stops
"""

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
from _measured import require
from vs_backtrader import REAL, fresh, window

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.data import MarketData, bundled
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.sweep import sweep

SHORTS = list(range(10, 60, 5))
LONGS = list(range(100, 250, 15))
STOPS = [-2, -3, -4, -5, -6, -7, -8, -9, -10, -12]
START, END = date(2021, 1, 1), date(2023, 12, 22)


def grid() -> list[dict[str, int]]:
    """Return the 1,000 parameter sets."""
    return [
        {"short_window_days": a, "long_window_days": b, "stop_loss_pct": s}
        for a in SHORTS
        for b in LONGS
        for s in STOPS
    ]


def vectorbt_sweep(close: pd.DataFrame, volume: pd.DataFrame, period: slice) -> pd.Series:
    """Return vectorbt's total return per column (combination × symbol)."""
    import vectorbt as vbt

    c = close.to_numpy()
    v = volume.to_numpy()
    csum = np.vstack([np.zeros((1, c.shape[1])), np.cumsum(c, axis=0)])

    def sma(w: int) -> np.ndarray:
        out = np.full(c.shape, np.nan)
        out[w - 1 :] = (csum[w:] - csum[:-w]) / w
        return out

    smas = {w: sma(w) for w in {*SHORTS, *LONGS}}
    vcs = np.vstack([np.zeros((1, v.shape[1])), np.cumsum(v, axis=0)])
    vol_mean = np.full(v.shape, np.nan)
    vol_mean[20:] = (vcs[20:-1] - vcs[:-21]) / 20
    vol_ok = v >= vol_mean * 0.8
    entries, exits, stops = [], [], []
    for a in SHORTS:
        for b in LONGS:
            gap = smas[a] - smas[b]
            prev = np.vstack([np.full((1, c.shape[1]), np.nan), gap[:-1]])
            e = (prev <= 0) & (gap > 0) & vol_ok
            x = (prev >= 0) & (gap < 0)
            for s in STOPS:
                entries.append(e[period])
                exits.append(x[period])
                stops.append(np.full(c.shape[1], -s / 100))
    ent = np.hstack(entries)
    ex = np.hstack(exits)
    prices = np.tile(c[period], len(entries))
    pf = vbt.Portfolio.from_signals(
        prices,
        ent,
        ex,
        sl_stop=np.concatenate(stops),
        tp_stop=0.10,
        fees=0.000140527,
        size=2_000_000,
        size_type="value",
        init_cash=10_000_000,
        freq="1D",
    )
    return pf.total_return()


def sharing_bound(market: MarketData, config: BacktestConfig) -> None:
    """Print the played sessions of the grid against what sharing each stop-loss group's common prefix leaves."""
    played = left = 0.0
    for a in SHORTS:
        for b in LONGS:
            previous: list[tuple[object, ...]] | None = None
            for s in sorted(STOPS, reverse=True):
                params = MaCrossParams.from_mapping({"short_window_days": a, "long_window_days": b, "stop_loss_pct": s})
                result = run_backtest(market, replace(config, params=params))
                fills = [(f.symbol, f.side, f.quantity, f.price, f.ts_filled) for f in result.fills]
                played += result.played_days
                if previous is None:
                    left += result.played_days
                else:
                    same = next(
                        (i for i, (x, y) in enumerate(zip(previous, fills, strict=False)) if x != y),
                        min(len(previous), len(fills)),
                    )
                    left += result.played_days * (1 - same / len(fills) if fills else 0)
                previous = fills
    require(played, "the grid played no session")
    print(
        f"sharing between stop-loss values: {played:,.0f} sessions played; after sharing each group's common "
        f"prefix about {left:,.0f} would remain: at most {played / left:.2f}x fewer"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sharing", action="store_true", help="also measure the bound of sharing work between stops")
    args = parser.parse_args()
    import numba
    import vectorbt as vbt

    print(
        f"vectorbt {vbt.__version__}, numba {numba.__version__}, numpy {np.__version__}; "
        f"Python {sys.version.split()[0]}; stockbot jobs {args.jobs}"
    )
    market = window(bundled(REAL), START, END)
    frames = {s: bs.arrays for s, bs in market.series.items()}
    index = sorted({d for bs in market.series.values() for d in bs.dates})
    close = pd.DataFrame(
        {s: pd.Series(frames[s]["close"], index=bs.dates) for s, bs in market.series.items()}, index=index
    ).ffill()
    volume = pd.DataFrame(
        {s: pd.Series(frames[s]["volume"], index=bs.dates) for s, bs in market.series.items()}, index=index
    ).fillna(0)
    first = next(i for i, d in enumerate(index) if d >= START)
    period = slice(first, None)
    combos = grid()
    config = BacktestConfig(START, END)

    t = time.perf_counter()
    vbt_result = vectorbt_sweep(close, volume, period)
    jit = time.perf_counter() - t
    require(len(vbt_result) == len(combos) * len(REAL), "vectorbt returned the wrong number of columns")
    ours_s, theirs_s = [], []
    ours: list[dict[str, object]] = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        ours = sweep(fresh(market), config, combos, objective="return_pct", jobs=args.jobs)
        ours_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        vectorbt_sweep(close, volume, period)
        theirs_s.append(time.perf_counter() - t)
    require(len(ours) == len(combos), "stockbot returned no result per combination")
    trades = sum(int(r["trades"]) for r in ours)  # type: ignore[call-overload]
    require(trades, "stockbot's sweep made no trade")
    best = max(range(len(combos)), key=lambda i: ours[i]["return_pct"])  # type: ignore[arg-type,return-value]
    print(
        f"\ngrid {len(SHORTS)} x {len(LONGS)} x {len(STOPS)} = {len(combos):,} combinations, {len(REAL)} symbols, "
        f"{START} → {END}; stockbot made {trades:,} fills in all; best {combos[best]} "
        f"return {ours[best]['return_pct']} %"
    )
    print(f"vectorbt first call (numba JIT compile + run): {jit:.2f} s")
    print(f"\n{'engine':34} {'median s':>9} {'rounds':>24} {'combos/s':>9}")
    for name, values in (
        (f"stockbot sweep ({args.jobs} processes)", ours_s),
        ("vectorbt from_signals (after JIT)", theirs_s),
    ):
        print(
            f"{name:34} {statistics.median(values):>9.3f} {', '.join(f'{v:.2f}' for v in values):>24} "
            f"{len(combos) / statistics.median(values):>9,.0f}"
        )
    ratio = statistics.median(theirs_s) / statistics.median(ours_s)
    print(
        f"\nstockbot / vectorbt speed: {ratio:.2f}x  (target: no slower, >= 1.0x: {'met' if ratio >= 1 else 'NOT met'})"
    )
    if args.sharing:
        sharing_bound(fresh(market), config)


if __name__ == "__main__":
    main()
