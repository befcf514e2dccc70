"""The backtest's event calendar: on which sessions each symbol can do anything.

`EventSchedule` is the screen `research.engine` replays by. For each symbol it holds, as indices into the
backtest's trading days:

* ``entry_days`` / ``exit_days``: the sessions whose decision history ends with a golden / dead cross of any
  parameter set in use (numpy screen in `research.screen.crosses`; `evaluate_daily` confirms on the day);
* ``intraday_days``: the sessions with bundled minute bars (``path`` fill model only);
* ``breach_day``: the first session on which the held position's bar range (or close) reaches its
  stop-loss or take-profit (`research.screen.first_breach`), recomputed after each touched session.

Shapes: day indices are ``int`` (``NEVER`` when nothing can happen); thresholds are floats inside the screen
only: a screened day is then played with the daemon's Decimal logic, so the screen can only skip days on which
nothing changes.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.adapters.venues.krx.profile import BAR_CLOSE_OFFSET
from stock_manager.adapters.venues.krx.rules import KRX_DAY
from stock_manager.domain.instruments import Instrument, PriceBand
from stock_manager.domain.market import Tick
from stock_manager.domain.positions import Position
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.data import MarketData
from stock_manager.research.records import BacktestConfig, FillModel
from stock_manager.research.screen import crosses, first_breach

#: The day index of "never": later than any backtest.
NEVER = 1 << 60


@functools.lru_cache(maxsize=65536)
def price_band(instrument: Instrument, base: Decimal) -> PriceBand | None:
    """`instrument`'s daily price band around `base` (KRX ±30 %), memoised for the replay."""
    return instrument.price_band(base)


@functools.cache
def session_of(day: date) -> TradingSession:
    """The KRX trading session of `day` (its calendar, memoised)."""
    return session_for(day)


@functools.cache
def bar_close(day: date) -> datetime:
    """When `day`'s daily bar closes, in UTC: VenueProfile.bar_close of the KRX profile (15:30 KST)."""
    return KRX_DAY.start_of(day) + BAR_CLOSE_OFFSET


def first_at_or_after(values: list[int], d: int) -> int:
    """The first element of sorted `values` that is >= `d`, or `NEVER`."""
    i = bisect.bisect_left(values, d)
    return values[i] if i < len(values) else NEVER


class EventSchedule:
    """Candidate decision sessions per symbol for one backtest (module docstring).

    Parameters
    ----------
    data : MarketData
        The bars; its ``screens`` cache is shared by the backtests of a sweep.
    config : BacktestConfig
        Period, fill model, limits and the parameter set(s) (``params_by_day`` for walk-forward).
    days : list[date]
        The backtest's trading days, ascending; every index here points into it.
    """

    def __init__(self, data: MarketData, config: BacktestConfig, days: list[date]) -> None:
        self.data, self.config, self.days = data, config, days
        self.model = config.fill_model
        self.rank = {s: i for i, s in enumerate(sorted(data.symbols))}
        sets = self._param_sets()
        #: The widest stop-loss and the nearest take-profit over the parameter sets in use, in percent.
        self.stop_pct = max(p.stop_loss_pct for p in sets)
        self.take_pct = min(p.take_profit_pct for p in sets)
        self.entry_days: dict[str, list[int]] = {}
        self.cross_days: dict[str, set[int]] = {}
        self.exit_days: dict[str, list[int]] = {}
        self.intraday_days: dict[str, list[int]] = {}
        self.breach_day: dict[str, int] = {}
        self._screen(sets)

    def _param_sets(self) -> list[MaCrossParams]:
        if self.config.params_by_day is None:
            return [self.config.params]
        return list({self.config.params_by_day(d): None for d in self.days}) or [self.config.params]

    def _screen(self, sets: list[MaCrossParams]) -> None:
        day_index = {d: i for i, d in enumerate(self.days)}
        cache = self.data.screens
        windows = tuple(
            sorted({(p.short_window_days, p.long_window_days, p.volume_window_days, p.min_volume_ratio) for p in sets})
        )
        for s, series in self.data.series.items():
            key = (s, self.model, self.config.start, self.config.end, windows)
            if key not in cache:  # a sweep shares the windows of many parameter sets
                golden: set[int] = set()
                dead: set[int] = set()
                for p in sets:
                    c = crosses(series, p)
                    golden.update(c.golden.tolist())
                    dead.update(c.dead.tolist())
                cache[key] = (self._decision_days(s, sorted(golden)), self._decision_days(s, sorted(dead)))
            self.entry_days[s], self.exit_days[s] = cache[key]
            self.cross_days[s] = {*self.entry_days[s], *self.exit_days[s]}
            self.intraday_days[s] = (
                sorted(day_index[d] for d in series.intraday if d in day_index) if self.model is FillModel.PATH else []
            )

    def _decision_days(self, symbol: str, bar_indices: Sequence[int]) -> list[int]:
        # The sessions whose history ends with bar i: (date_i, date_{i+1}] (path, next-open); date_i (close).
        dates = self.data.series[symbol].dates
        out: list[int] = []
        for i in bar_indices:
            if self.model is FillModel.CLOSE:
                j = bisect.bisect_left(self.days, dates[i])
                if j < len(self.days) and self.days[j] == dates[i]:
                    out.append(j)
                continue
            lo = bisect.bisect_right(self.days, dates[i])
            hi = bisect.bisect_right(self.days, dates[i + 1]) if i + 1 < len(dates) else len(self.days)
            out.extend(range(lo, hi))
        return sorted(set(out))

    def next_event(self, s: str, d: int, position: Position | None) -> int:
        """The first day index >= `d` on which symbol `s` (holding `position`) can do anything, or `NEVER`."""
        if position is None or position.quantity <= 0:
            return first_at_or_after(self.entry_days[s], d)
        if self.config.limits.daily_loss_includes_unrealized:
            return d  # the open position's price counts every day
        candidates = [first_at_or_after(self.exit_days[s], d), first_at_or_after(self.intraday_days[s], d)]
        breach = self.breach_day.get(s, NEVER)
        if breach >= d:
            candidates.append(breach)
        return min(candidates)

    def needs_breach_update(self, s: str, d: int) -> bool:
        """Whether the breach day of `s` is at or before day index `d` (so it must be recomputed)."""
        return self.breach_day.get(s, -1) <= d

    def update_breach(self, s: str, after: date, position: Position | None) -> None:
        """Recompute the first session after `after` whose bar reaches the held position's thresholds."""
        if position is None or position.quantity <= 0 or position.avg_price <= 0:
            self.breach_day.pop(s, None)
            return
        series = self.data.series[s]
        start = bisect.bisect_right(series.dates, after)
        if self.model is FillModel.NEXT_OPEN:
            start = bisect.bisect_left(series.dates, after)
        avg = position.avg_price
        j = first_breach(
            series,
            start,
            avg * (1 + self.stop_pct / 100),
            avg * (1 + self.take_pct / 100),
            on_close=self.model is not FillModel.PATH,
        )
        if j < 0:
            self.breach_day[s] = NEVER
            return
        bar_day = series.dates[j]
        if self.model is FillModel.NEXT_OPEN:  # the close of bar j is acted on at the next session
            k = bisect.bisect_right(self.days, bar_day)
        else:
            k = bisect.bisect_left(self.days, bar_day)
        self.breach_day[s] = k if k < len(self.days) else NEVER

    def thresholds(self, position: Position) -> tuple[float, float] | None:
        """The float band (low, high) inside which no print can make `evaluate_tick` exit `position`.

        A margin of 1e-9 relative each side; None when nothing is held.
        """
        if position.quantity <= 0 or position.avg_price <= 0:
            return None
        avg = float(position.avg_price)
        return (
            avg * (1 + float(self.stop_pct) / 100) * (1 + 1e-9),
            avg * (1 + float(self.take_pct) / 100) * (1 - 1e-9),
        )

    def prints(
        self, day: date, session: TradingSession, events: list[str], t_decide: datetime
    ) -> list[tuple[Tick, float]]:
        """The day's prints of the `events` symbols in replay order (time, symbol rank, path index).

        Each with its price as a float for the threshold pre-test. Bar fill models give one print per symbol:
        the open at the session's open (``next-open``) or the close at `t_decide` (``close``).
        """
        series = self.data.series
        if self.model is FillModel.PATH and len(events) == 1:
            bs = series[events[0]]
            return list(zip(bs.prints(day, session.ts_open, session.ts_close), bs.print_prices(day), strict=True))
        if self.model is FillModel.PATH:
            keyed = [
                (tick.ts_event, self.rank[s], n, tick, price)
                for s in events
                for n, (tick, price) in enumerate(
                    zip(
                        series[s].prints(day, session.ts_open, session.ts_close),
                        series[s].print_prices(day),
                        strict=True,
                    )
                )
            ]
            keyed.sort(key=lambda k: k[:3])
            return [(k[3], k[4]) for k in keyed]
        ticks = []
        for s in sorted(events, key=self.rank.__getitem__):
            bar = series[s].bar_on(day)
            if bar is None:
                continue
            if self.model is FillModel.NEXT_OPEN:
                ticks.append((Tick(s, bar.open, bar.volume, session.ts_open), float(bar.open)))
            else:
                ticks.append((Tick(s, bar.close, bar.volume, t_decide), float(bar.close)))
        return ticks
