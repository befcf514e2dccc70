"""Intraday replay paths: the trade prints the simulator plays for one symbol on one day.

The daemon is a price taker against these prints. They are deterministic (no randomness): the same symbol,
day and session hours always give the same prints.

**Days with real intraday bars** (Samsung 1-minute 2025-06-13 and 2025-06-16 → 06-18, 5-minute 2020-02-18 →
2020-04-16). Each bar becomes four prints spread evenly inside the bar (at 0, ¼, ½ and ¾ of its length):
the open, then the low and the high — low first when the bar closed at or above its open, high first when
it closed below — then the close. The bar's volume is split evenly over the four prints in whole shares,
the remainder going to the close print. Then, when the day's daily bar exists, one closing-auction print
follows at the session close (15:30 KST on a normal day) at the daily close, carrying the daily volume the
bars do not account for (never negative). Bars starting at or after the session close are ignored.

**Days without intraday bars** are built from the daily bar alone. Four anchors: the open at the session
open, the first extreme 1 h 30 min after the open, the second extreme 2 h before the close, and the close at
the session close. An up day (close ≥ open) goes open → low → high → close; a down day (close < open) goes
open → high → low → close. Each of the three legs is interpolated linearly in 8 equal steps, in time and
price, so a day has 25 prints. The anchors keep their exact prices; every point in between is rounded to
the nearest price on the KRX tick grid valid at that price (the ETF grid for ETFs; halves round up) and
clamped to [low, high]. The day's volume is split evenly over the 25 prints in whole shares, the
remainder going to the close print. Sessions shorter than 3 h 30 min (none in the data) put the
extremes at 3/13 and 9/13 of the session instead.

These paths are a model, not history: only their anchors are real, and intrabar order is a convention.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import pairwise

from stock_manager.adapters.marketdata.daily import daily_bar
from stock_manager.adapters.marketdata.intraday import IntradayBar, intraday_bars
from stock_manager.adapters.marketdata.master import instrument_kind
from stock_manager.adapters.venues.krx.rules import tick_size
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import InstrumentKind

FIRST_EXTREME_AFTER_OPEN = timedelta(hours=1, minutes=30)
SECOND_EXTREME_BEFORE_CLOSE = timedelta(hours=2)
STEPS_PER_LEG = 8
PRINTS_PER_BAR = 4


def session_prints(symbol: str, day: date, ts_open: datetime, ts_close: datetime) -> list[Tick]:
    """Return the replayed trade prints of `symbol` on `day`, in time order (see the module docstring).

    Parameters
    ----------
    ts_open, ts_close : datetime
        Aware session open and close (UTC or any offset).

    Returns
    -------
    list[Tick]
        The prints, empty when the data has neither intraday bars nor a daily bar for that day.

    Raises
    ------
    ValueError
        If the session does not close after it opens.
    """
    if ts_close <= ts_open:
        raise ValueError(f"session close {ts_close} is not after open {ts_open}")
    bar = daily_bar(symbol, day)
    bars = intraday_bars(symbol, day)
    if bars:
        return bar_prints(bars, bar, ts_open, ts_close)
    if bar is None:
        return []
    return daily_path_prints(bar, ts_open, ts_close, instrument_kind(symbol))


def bar_prints(
    bars: Sequence[IntradayBar], day_bar: DailyBar | None, ts_open: datetime, ts_close: datetime
) -> list[Tick]:
    """Return four prints per intraday bar plus the closing-auction print (module docstring, first case)."""
    prints: list[Tick] = []
    for bar in bars:
        if not ts_open <= bar.ts_start < ts_close:
            continue
        extremes = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
        prices = (bar.open, *extremes, bar.close)
        volumes = _split_volume(bar.volume, PRINTS_PER_BAR)
        step = bar.length / PRINTS_PER_BAR
        for index, (price, volume) in enumerate(zip(prices, volumes, strict=True)):
            prints.append(Tick(bar.symbol, price, volume, bar.ts_start + step * index))
    if day_bar is not None:
        covered = sum((bar.volume for bar in bars if ts_open <= bar.ts_start < ts_close), Decimal(0))
        prints.append(Tick(day_bar.symbol, day_bar.close, max(Decimal(0), day_bar.volume - covered), ts_close))
    return prints


def daily_path_prints(bar: DailyBar, ts_open: datetime, ts_close: datetime, kind: InstrumentKind) -> list[Tick]:
    """Return the 25 prints of a day built from its daily bar (module docstring, second case)."""
    length = ts_close - ts_open
    if length > FIRST_EXTREME_AFTER_OPEN + SECOND_EXTREME_BEFORE_CLOSE:
        first_at, second_at = ts_open + FIRST_EXTREME_AFTER_OPEN, ts_close - SECOND_EXTREME_BEFORE_CLOSE
    else:
        first_at, second_at = ts_open + length * 3 / 13, ts_open + length * 9 / 13
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    anchors = ((ts_open, bar.open), (first_at, first), (second_at, second), (ts_close, bar.close))

    points: list[tuple[datetime, Decimal]] = [anchors[0]]
    for (t0, p0), (t1, p1) in pairwise(anchors):
        for step in range(1, STEPS_PER_LEG + 1):
            if step == STEPS_PER_LEG:
                points.append((t1, p1))  # anchors keep their real price
                continue
            price = p0 + (p1 - p0) * step / STEPS_PER_LEG
            points.append((t0 + (t1 - t0) * step / STEPS_PER_LEG, _on_grid(price, bar, kind)))
    volumes = _split_volume(bar.volume, len(points))
    return [Tick(bar.symbol, price, volume, ts) for (ts, price), volume in zip(points, volumes, strict=True)]


def _on_grid(price: Decimal, bar: DailyBar, kind: InstrumentKind) -> Decimal:
    tick = tick_size(price, kind)
    rounded = (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick
    return min(max(rounded, bar.low), bar.high)


def _split_volume(volume: Decimal, parts: int) -> list[Decimal]:
    # Whole shares per part; the remainder goes on the last part (the close print).
    share = (volume / parts).to_integral_value(rounding=ROUND_FLOOR)
    return [share] * (parts - 1) + [volume - share * (parts - 1)]
