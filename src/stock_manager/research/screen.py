"""Vectorised screening: the bars on which the MA cross strategy can propose something.

Indicators are computed once per series with numpy (cumulative sums, float64). They only *screen*: every
bar they flag is confirmed by the strategy's own pure function (`evaluate_daily`, `evaluate_tick`) on the
exact `Decimal` bars, so the screen may flag too much but must never miss. Comparisons therefore use a
small tolerance in the direction that keeps a bar (ties such as SMA short == SMA long are flagged).
"""

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.data import BarSeries

#: The daemon reads this many daily bars before each session (`trading_day.HISTORY_BARS`).
HISTORY_BARS = 260
#: Relative tolerance of the float screen: a bar within it of a boundary is kept.
REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Crosses:
    """Bar indices where a golden cross (with the volume filter) or a dead cross is possible."""

    golden: np.ndarray
    dead: np.ndarray


def sma(values: np.ndarray, window: int) -> np.ndarray:
    """Return the simple moving average of `values` over `window` (NaN before the window fills)."""
    out = np.full(values.shape, np.nan)
    if window <= len(values):
        csum = np.concatenate(([0.0], np.cumsum(values)))
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return out


def crosses(series: BarSeries, params: MaCrossParams) -> Crosses:
    """Return the bars whose close may make `evaluate_daily` propose an ENTRY (golden) or EXIT (dead).

    A bar i qualifies only when the daemon's history ending there (at most `HISTORY_BARS` bars) is long
    enough for the strategy: ``min(i + 1, HISTORY_BARS) >= long_window_days + 1``.
    """
    a = series.arrays
    close, volume = a["close"], a["volume"]
    n = len(close)
    empty = np.array([], dtype=np.int64)
    long_w, short_w = params.long_window_days, params.short_window_days
    if long_w + 1 > HISTORY_BARS or n < long_w + 1:
        return Crosses(empty, empty)
    diff = series.sma(short_w) - series.sma(long_w)
    tol = REL_TOL * np.nanmax(close)
    prev, cur = diff[long_w - 1 : -1], diff[long_w:]
    idx = np.arange(long_w, n)
    golden = idx[(prev <= tol) & (cur > -tol)]
    dead = idx[(prev >= -tol) & (cur < tol)]
    ratio = float(params.min_volume_ratio)
    if ratio > 0:
        vw = params.volume_window_days
        if vw + 1 > HISTORY_BARS:
            golden = empty
        else:
            mean_before = np.full(n, np.nan)
            mean_before[vw:] = sma(volume, vw)[vw - 1 : -1]
            ok = volume >= mean_before * ratio * (1 - REL_TOL) - REL_TOL
            golden = golden[(golden >= vw) & ok[golden]]
    return Crosses(golden, dead)


def first_breach(
    series: BarSeries, start: int, stop_price_krw: Decimal, take_price_krw: Decimal, *, on_close: bool
) -> int:
    """Return the first bar index >= `start` whose range (or close, `on_close`) reaches a threshold, or -1.

    A vectorised pre-screen over the float arrays: the exact thresholds are widened by `REL_TOL` each side as
    they cross into floats, so it can only return a bar too early, never miss one. It only chooses which days
    to play; the day it returns is played with the daemon's Decimal prices and rules, which decide any exit.
    """
    a = series.arrays
    lo = a["close"][start:] if on_close else a["low"][start:]
    hi = a["close"][start:] if on_close else a["high"][start:]
    stop_at, take_at = float(stop_price_krw) * (1 + REL_TOL), float(take_price_krw) * (1 - REL_TOL)
    hit = np.flatnonzero((lo <= stop_at) | (hi >= take_at))
    return start + int(hit[0]) if hit.size else -1
