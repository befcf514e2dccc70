"""The strategy's trades equal an independent computation on the raw CSV files (pandas and Fractions).

Under ``--fill-model next-open`` (decide on bar i's close, fill at bar i+1's open) and an account large enough
that no risk limit binds, each symbol trades on its own: the moving averages are computed here with exact
fractions from the raw files, and the trades must be the backtest's, to the share and the won.
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

import stock_manager.data.market as market_dir
from stock_manager.research.data import bundled
from stock_manager.research.engine import BacktestConfig, FillModel, run_backtest

RAW = Path(market_dir.__file__).parent
START, END = date(2006, 1, 1), date(2023, 12, 22)
SHORT, LONG, VOL_WINDOW, VOL_RATIO = 50, 200, 20, Fraction(8, 10)
STOP, TAKE, BUDGET, OFFSET = Fraction(-5), Fraction(10), 2_000_000, Fraction(1, 100)


def _tick(price: Fraction, etf: bool) -> int:
    # KRX tick table (KIS §7.2), written out again here.
    if etf:
        return 1 if price < 2000 else 5
    for bound, tick in ((2000, 1), (5000, 5), (20000, 10), (50000, 50), (200000, 100), (500000, 500)):
        if price < bound:
            return tick
    return 1000


def _independent(symbol: str, etf: bool) -> list[tuple[date, str, int, int]]:
    raw = pd.read_csv(RAW / f"krx_{symbol}_daily.csv", dtype={"date": str})
    raw = raw[~((raw.volume == 0) & (raw.open == raw.high) & (raw.high == raw.low) & (raw.low == raw.close))]
    dates = [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in raw["date"]]
    o, c, v = (list(map(int, raw[k])) for k in ("open", "close", "volume"))
    trades, qty, avg = [], 0, Fraction(0)
    for i in range(LONG, len(dates) - 1):
        if dates[i + 1] < START or dates[i + 1] > END:
            continue

        def sma(window: int, end: int) -> Fraction:
            return Fraction(sum(c[end - window + 1 : end + 1]), window)

        prev_gap, gap = sma(SHORT, i - 1) - sma(LONG, i - 1), sma(SHORT, i) - sma(LONG, i)
        nxt = i + 1
        if qty == 0 and prev_gap <= 0 < gap and v[i] >= Fraction(sum(v[i - VOL_WINDOW : i]), VOL_WINDOW) * VOL_RATIO:
            limit_raw = c[i] * (1 + OFFSET)
            limit = int(limit_raw // _tick(limit_raw, etf)) * _tick(limit_raw, etf)
            if o[nxt] <= limit:
                qty, avg = int(BUDGET // limit_raw), Fraction(o[nxt])
                trades.append((dates[nxt], "BUY", qty, o[nxt]))
        elif qty > 0:
            change = (Fraction(c[i]) / avg - 1) * 100
            if (prev_gap >= 0 > gap) or change <= STOP or change >= TAKE:
                trades.append((dates[nxt], "SELL", qty, o[nxt]))
                qty = 0
    return trades


def test_backtest_when_next_open_then_trades_equal_an_independent_fraction_computation():
    config = BacktestConfig(START, END, fill_model=FillModel.NEXT_OPEN, start_cash_krw=Decimal(100_000_000))
    result = run_backtest(bundled(["000660", "069500"]), config)
    ours = sorted((f.trading_date, str(f.side), int(f.quantity), int(f.price)) for f in result.fills)
    theirs = sorted([*_independent("000660", etf=False), *_independent("069500", etf=True)])
    assert len(theirs) >= 10
    assert ours == theirs
    assert result.denials == []
    assert all(
        f.quantity == o.quantity
        for o in result.orders
        for f in result.fills
        if f.broker_order_number == o.broker_order_number
    )  # no partial fill to explain away
