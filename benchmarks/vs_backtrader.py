"""stockbot backtest against backtrader: the same MA cross strategy on the same bars, trades side by side and
asserted identical under a shared fill model, then both timed, interleaved, in one run.

The shared fill model is ``next-open``: decisions on bar D-1's close (golden cross with the volume filter →
buy floor(2,000,000 / (close × 1.01)) shares if bar D opens at or below that limit on the KRX tick grid;
dead cross, or the close at -5 % / +10 % of the average price → sell everything), filled at bar D's open.
stockbot runs it as ``stockbot backtest --fill-model next-open`` does (its risk gate and matching engine in
the loop); backtrader runs a hand-written mirror with ``cheat_on_open`` (plans in ``next``, market orders in
``next_open``, filled at that open). Accounts are large enough that no risk limit binds (100,000,000 KRW with
the daemon's limits on 5 symbols; 1,000,000,000 KRW and the position-count and rate limits off on 100).

Data: (a) the bundled real bars of the 5 symbols, 3 years (2021-01-04 → 2023-12-22); (b) 100 synthetic
symbols × 10 years (2014 → 2023-12-22) generated from the real ones by a block bootstrap of daily bars: for
synthetic symbol k, blocks of 20 consecutive days of real symbol k mod 5 (open, high, low and close as ratios
of the previous close, and the volume) are drawn at random (numpy, seed 20231222) and chained from a random
start price, prices rounded to the KRX tick grid, on the real XKRX sessions of SK hynix's file. Both engines
are given 300 sessions of history before the period; bars/s counts the bars inside the period (symbols ×
sessions), the same number for both. Each engine's time covers building its inputs from bars already in
memory (backtrader: the feeds from pandas frames; stockbot: fresh `MarketData`, so no cache is warm) and the
run.

    uv run python benchmarks/vs_backtrader.py              # both data sets, 3 interleaved rounds
    uv run python benchmarks/vs_backtrader.py --rounds 1 --skip-synthetic
"""

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal

import backtrader as bt
import numpy as np
import pandas as pd
from _measured import require

from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import InstrumentKind
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.data import BarSeries, MarketData, bundled
from stock_manager.research.engine import BacktestConfig, FillModel, run_backtest

REAL = ["005930", "000660", "005380", "035420", "069500"]
WARMUP_SESSIONS = 300
SEED = 20231222
BLOCK_DAYS = 20
P = MaCrossParams()


# -- DATA ----------------------------------------------------------------------------------------------


def window(market: MarketData, start: date, end: date) -> MarketData:
    """Return `market` cut to [start - WARMUP_SESSIONS sessions, end]."""
    series = {}
    for s, bs in market.series.items():
        i0 = max(0, bs.index_before(start) - WARMUP_SESSIONS)
        i1 = bs.index_before(date.fromordinal(end.toordinal() + 1))
        series[s] = BarSeries(s, bs.bars[i0:i1], bs.kind, frozenset(), bundled=False)
    return MarketData(series, market.source)


def fresh(market: MarketData) -> MarketData:
    """Return a copy with every cache empty."""
    return MarketData(
        {s: BarSeries(s, bs.bars, bs.kind, bs.intraday, bs.bundled) for s, bs in market.series.items()}, market.source
    )


def synthetic(count: int, start: date, end: date) -> MarketData:
    """Return `count` block-bootstrapped symbols over the XKRX sessions of [start - warm-up, end] (docstring)."""
    rng = np.random.default_rng(SEED)
    real = bundled(REAL)
    calendar = [d for d in real.series["000660"].dates if d <= end]
    first = max(0, next(i for i, d in enumerate(calendar) if d >= start) - WARMUP_SESSIONS)
    days = calendar[first:]
    ratios = {}
    for s in REAL:
        a = real.series[s].arrays
        prev = a["close"][:-1]
        ratios[s] = np.stack(
            [a["open"][1:] / prev, a["high"][1:] / prev, a["low"][1:] / prev, a["close"][1:] / prev, a["volume"][1:]],
            axis=1,
        )[-3000:]
    series = {}
    for k in range(count):
        source = ratios[REAL[k % len(REAL)]]
        rows = []
        while len(rows) < len(days):
            j = int(rng.integers(0, len(source) - BLOCK_DAYS))
            rows.extend(source[j : j + BLOCK_DAYS])
        close = float(rng.uniform(5_000, 300_000))
        symbol = f"S{k:03d}"
        bars = []
        for day, (o, h, low, c, v) in zip(days, rows, strict=False):
            prices = [_tick(close * x) for x in (o, h, low, c)]
            o_, c_ = prices[0], prices[3]
            h_, l_ = max(prices), min(prices)
            bars.append(DailyBar(symbol, day, o_, h_, l_, c_, Decimal(int(v))))
            close = float(c_)
        series[symbol] = BarSeries(symbol, tuple(bars), InstrumentKind.STOCK)
    return MarketData(series, "synthetic")


def _tick(price: float) -> Decimal:
    p = Decimal(str(round(price, 2)))
    tick = krx_instrument("X").tick_size(p)
    return max(tick, (p / tick).to_integral_value() * tick)


def frames(market: MarketData) -> dict[str, pd.DataFrame]:
    """Return one float OHLCV frame per symbol (backtrader's input)."""
    out = {}
    for s, bs in market.series.items():
        a = bs.arrays
        out[s] = pd.DataFrame(
            {
                "open": a["open"],
                "high": a["high"],
                "low": a["low"],
                "close": a["close"],
                "volume": a["volume"],
                "openinterest": 0.0,
            },
            index=pd.DatetimeIndex([pd.Timestamp(d) for d in bs.dates]),
        )
    return out


# -- BACKTRADER ------------------------------------------------------------------------------------------


def _krx_floor(price: float, etf: bool) -> float:
    tick = float(
        krx_instrument("X", InstrumentKind.ETF if etf else InstrumentKind.STOCK).tick_size(Decimal(str(price)))
    )
    return math.floor(price / tick + 1e-9) * tick


class MaCross(bt.Strategy):
    """The MA cross strategy, next-open fills (module docstring)."""

    params = (("start", None), ("end", None), ("etfs", frozenset()))

    def __init__(self) -> None:
        self.sma_s = {d: bt.ind.SMA(d.close, period=P.short_window_days) for d in self.datas}
        self.sma_l = {d: bt.ind.SMA(d.close, period=P.long_window_days) for d in self.datas}
        self.plans: dict[object, tuple[date, str, int, float]] = {}
        self.trades: list[tuple[date, str, str, int, int]] = []

    def next(self) -> None:
        today = self.datetime.date(0)
        for d in self.datas:
            if len(d) < P.long_window_days + 1 or d.datetime.date(0) != today:
                continue
            prev_gap = self.sma_s[d][-1] - self.sma_l[d][-1]
            gap = self.sma_s[d][0] - self.sma_l[d][0]
            size = self.getposition(d).size
            close = d.close[0]
            if size == 0:
                volumes = d.volume.get(ago=-1, size=P.volume_window_days)
                if prev_gap <= 0 < gap and d.volume[0] >= sum(volumes) / len(volumes) * float(P.min_volume_ratio):
                    raw = Decimal(str(close)) * (1 + P.entry_limit_offset_pct / 100)
                    qty = int((P.position_value_krw / raw).to_integral_value(ROUND_FLOOR))
                    self.plans[d] = (today, "BUY", qty, _krx_floor(float(raw), d._name in self.p.etfs))
            else:
                change = (close / self.getposition(d).price - 1) * 100
                if (prev_gap >= 0 > gap) or change <= float(P.stop_loss_pct) or change >= float(P.take_profit_pct):
                    self.plans[d] = (today, "SELL", size, 0.0)

    def next_open(self) -> None:
        # Called before the new bar is processed: each data already shows its new bar (its open is known).
        for d, (planned, side, qty, limit) in list(self.plans.items()):
            today = d.datetime.date(0)
            if today <= planned:
                continue  # no new bar of this symbol yet
            del self.plans[d]
            if not self.p.start <= today <= self.p.end:
                continue
            if side == "BUY" and d.open[0] <= limit:
                self.buy(data=d, size=qty)
            elif side == "SELL":
                self.sell(data=d, size=qty)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.trades.append(
                (
                    bt.num2date(order.executed.dt).date(),
                    order.data._name,
                    "BUY" if order.isbuy() else "SELL",
                    int(abs(order.executed.size)),
                    round(order.executed.price),
                )
            )


def run_backtrader(
    data: dict[str, pd.DataFrame], start: date, end: date, cash: float, etfs: frozenset[str]
) -> list[tuple[date, str, str, int, int]]:
    """Return backtrader's fills (date, symbol, side, quantity, price)."""
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.broker.set_coo(True)
    cerebro.broker.setcash(cash)
    for s, frame in data.items():
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=s)
    cerebro.addstrategy(MaCross, start=start, end=end, etfs=etfs)
    (strategy,) = cerebro.run()
    return sorted(strategy.trades)


def run_stockbot(market: MarketData, config: BacktestConfig) -> list[tuple[date, str, str, int, int]]:
    """Return stockbot's fills (date, symbol, side, quantity, price)."""
    result = run_backtest(fresh(market), config)
    return sorted((f.trading_date, f.symbol, str(f.side), int(f.quantity), int(f.price)) for f in result.fills)


# -- THE RUN --------------------------------------------------------------------------------------------


def compare(
    name: str, market: MarketData, start: date, end: date, cash: Decimal, limits: RiskLimits, rounds: int, show: int
) -> dict[str, object]:
    config = BacktestConfig(start, end, fill_model=FillModel.NEXT_OPEN, start_cash_krw=cash, limits=limits)
    data = frames(market)
    etfs = frozenset(s for s, bs in market.series.items() if bs.kind is InstrumentKind.ETF)
    bars = sum(len([d for d in bs.dates if start <= d <= end]) for bs in market.series.values())
    ours = run_stockbot(market, config)
    theirs = run_backtrader(data, start, end, float(cash), etfs)
    print(f"\n{name}: {len(market.series)} symbols, {start} → {end}, {bars:,} bars in the period")
    print(f"  {'date':10} {'symbol':7} {'side':4} {'qty':>5} {'stockbot':>9} {'backtrader':>10}")
    for mine, other in list(zip(ours, theirs, strict=False))[:show]:
        mark = "" if mine == other else "  <-- differs"
        print(f"  {mine[0]!s:10} {mine[1]:7} {mine[2]:4} {mine[3]:>5} {mine[4]:>9,} {other[4]:>10,}{mark}")
    if len(ours) > show:
        print(f"  … {len(ours) - show} more")
    require(ours, f"{name}: stockbot made no trade, nothing to compare")
    if ours != theirs:
        only_ours = sorted(set(ours) - set(theirs))[:5]
        only_theirs = sorted(set(theirs) - set(ours))[:5]
        sys.exit(
            f"vs_backtrader: {name}: trades differ ({len(ours)} vs {len(theirs)}); only stockbot: "
            f"{only_ours}; only backtrader: {only_theirs}"
        )
    print(f"  identical: {len(ours)} fills (date, symbol, side, quantity, price)")
    ours_s, theirs_s = [], []
    for _ in range(rounds):  # interleaved
        t = time.perf_counter()
        run_backtrader(data, start, end, float(cash), etfs)
        theirs_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_stockbot(market, config)
        ours_s.append(time.perf_counter() - t)
    require(all(x > 0 for x in ours_s + theirs_s), "a timing was zero")
    return {
        "name": name,
        "bars": bars,
        "ours": statistics.median(ours_s),
        "theirs": statistics.median(theirs_s),
        "fills": len(ours),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median reported)")
    parser.add_argument("--symbols", type=int, default=100, help="synthetic symbols")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--show", type=int, default=12, help="trades printed side by side")
    args = parser.parse_args()
    print(f"backtrader {bt.__version__}; Python {sys.version.split()[0]}")
    rows = []
    start, end = date(2021, 1, 1), date(2023, 12, 22)
    real = window(bundled(REAL), start, end)
    rows.append(compare("bundled 5 x 3y", real, start, end, Decimal(100_000_000), RiskLimits(), args.rounds, args.show))
    if not args.skip_synthetic:
        s_start = date(2014, 1, 1)
        synth = synthetic(args.symbols, s_start, end)
        open_limits = replace(RiskLimits(), max_open_positions=None, max_orders_per_minute=None)
        rows.append(
            compare(
                f"synthetic {args.symbols} x 10y",
                synth,
                s_start,
                end,
                Decimal(1_000_000_000),
                open_limits,
                args.rounds,
                args.show,
            )
        )
    print(
        f"\n{'data':22} {'bars':>9} {'backtrader s':>13} {'bars/s':>9} {'stockbot s':>11} {'bars/s':>9} "
        f"{'ratio':>6}  target >= 5x"
    )
    for r in rows:
        ratio = r["theirs"] / r["ours"]  # type: ignore[operator]
        print(
            f"{r['name']:22} {r['bars']:>9,} {r['theirs']:>13.3f} {r['bars'] / r['theirs']:>9,.0f} "  # type: ignore[operator]
            f"{r['ours']:>11.3f} {r['bars'] / r['ours']:>9,.0f} {ratio:>5.1f}x  "  # type: ignore[operator]
            f"{'met' if ratio >= 5 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
