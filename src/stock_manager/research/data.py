"""Bars a backtest reads: the bundled KRX data, or the user's CSV/Parquet files.

**User files** (``stockbot backtest --data FILE``, repeatable; ``.csv`` or ``.parquet``), one row per symbol
and trading day, with these columns (names are case-insensitive, extra columns are ignored):

| column | meaning |
| --- | --- |
| ``symbol`` | the instrument's code (text; leading zeros kept) |
| ``date`` | the trading date, ``YYYY-MM-DD`` (or ``YYYYMMDD``) |
| ``open``, ``high``, ``low``, ``close`` | prices in KRW, positive, ``low <= open, close <= high`` |
| ``volume`` | shares traded that day, not negative |
| ``kind`` (optional) | ``STOCK`` (default) or ``ETF``: which KRX tick table the instrument uses |

Each symbol is traded as a KRX instrument of its kind (tick table, ±30 % band, KIS costs); its days are
replayed on the path built from the day's OHLC (`adapters.marketdata.paths.daily_path_prints`); sessions
come from the XKRX calendar (09:00-15:30 KST on days it does not know). A file that cannot be read or breaks
a rule raises `DataFileError` naming the file, the row and the rule.

Prices stay exact: every value is kept as a `Decimal`; float copies (numpy) serve only the vectorised
screening of candidate days (`screen`).
"""

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path

import numpy as np

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import InstrumentKind

REQUIRED_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume")


class DataFileError(ConfigurationError):
    """A user's bar file cannot be used; the message names the file and the problem (CLI exit 2)."""


@dataclass
class BarSeries:
    """One symbol's daily bars, oldest first, with float copies for screening.

    Attributes
    ----------
    bars : tuple[DailyBar, ...]
        The exact bars.
    kind : InstrumentKind
        STOCK or ETF (the tick table).
    intraday : frozenset[date]
        Days with real intraday bars (bundled Samsung only); their prints come from those bars.
    """

    symbol: str
    bars: tuple[DailyBar, ...]
    kind: InstrumentKind = InstrumentKind.STOCK
    intraday: frozenset[date] = frozenset()
    bundled: bool = False
    _dates: list[date] = field(default_factory=list)
    _prints: dict[date, list[Tick]] = field(default_factory=dict, repr=False)
    _sma: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _print_prices: dict[date, list[float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._dates = [bar.trading_date for bar in self.bars]

    def sma(self, window: int) -> np.ndarray:
        """Return the float SMA of the closes over `window` (computed once per window; screening only)."""
        if window not in self._sma:
            from stock_manager.research.screen import sma

            self._sma[window] = sma(self.arrays["close"], window)
        return self._sma[window]

    @property
    def dates(self) -> list[date]:
        """Return the bars' dates, oldest first."""
        return self._dates

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """Return float64 arrays ``open, high, low, close, volume`` (screening only)."""
        return {
            name: np.fromiter((float(getattr(b, name)) for b in self.bars), dtype=np.float64, count=len(self.bars))
            for name in ("open", "high", "low", "close", "volume")
        }

    def index_before(self, day: date) -> int:
        """Return how many bars are dated strictly before `day`."""
        return bisect.bisect_left(self._dates, day)

    def bar_on(self, day: date) -> DailyBar | None:
        """Return the bar dated `day`, or None."""
        i = bisect.bisect_left(self._dates, day)
        return self.bars[i] if i < len(self.bars) and self._dates[i] == day else None

    def prints(self, day: date, ts_open: datetime, ts_close: datetime) -> list[Tick]:
        """Return the day's replayed trade prints, exactly as the simulator plays them (built once per day:
        the path is deterministic for a day's session hours)."""
        from stock_manager.adapters.marketdata.paths import daily_path_prints, session_prints

        cached = self._prints.get(day)
        if cached is None:
            if self.bundled:
                cached = session_prints(self.symbol, day, ts_open, ts_close)
            else:
                bar = self.bar_on(day)
                cached = [] if bar is None else daily_path_prints(bar, ts_open, ts_close, self.kind)
            self._prints[day] = cached
            self._print_prices[day] = [float(t.price) for t in cached]
        return cached

    def print_prices(self, day: date) -> list[float]:
        """Return the float prices of the day's prints (after `prints` built them)."""
        return self._print_prices[day]


@dataclass
class MarketData:
    """The bars of every symbol a backtest may trade, in the daemon's symbol order."""

    series: dict[str, BarSeries]
    source: str = "bundled"
    _days: dict[tuple[date, date], list[date]] = field(default_factory=dict, repr=False)
    _instruments: dict[str, Instrument] | None = field(default=None, repr=False)
    #: The engine's screening results, by symbol, fill model, period and windows (shared by a sweep).
    screens: dict[tuple[object, ...], tuple[list[int], list[int]]] = field(default_factory=dict, repr=False)

    @property
    def symbols(self) -> list[str]:
        """Return the symbols in the order given (the daemon submits each pre-open's signals in it)."""
        return list(self.series)

    def instruments(self) -> dict[str, Instrument]:
        """Return each symbol's KRX instrument (bundled: from the KIS master; files: by their kind)."""
        from stock_manager.adapters.venues.krx.profile import listed_instrument
        from stock_manager.adapters.venues.krx.rules import krx_instrument

        if self._instruments is None:
            self._instruments = {
                s: listed_instrument(s) if bs.bundled else krx_instrument(s, bs.kind) for s, bs in self.series.items()
            }
        return dict(self._instruments)

    def trading_days(self, start: date, end: date) -> list[date]:
        """Return the days in [start, end] on which any symbol has a bar (the replay's sessions)."""
        if (start, end) not in self._days:
            days: set[date] = set()
            for bs in self.series.values():
                days.update(bs.dates[bisect.bisect_left(bs.dates, start) : bisect.bisect_right(bs.dates, end)])
            self._days[(start, end)] = sorted(days)
        return list(self._days[(start, end)])

    def subset(self, symbols: Sequence[str]) -> "MarketData":
        """Return the data of `symbols` only, in that order."""
        return MarketData({s: self.series[s] for s in symbols}, self.source)

    def until(self, last: date) -> "MarketData":
        """Return the data with every bar after `last` removed (nothing later can be read from it)."""
        return MarketData(
            {
                s: BarSeries(
                    s,
                    bs.bars[: bisect.bisect_right(bs.dates, last)],
                    bs.kind,
                    frozenset(d for d in bs.intraday if d <= last),
                    bs.bundled,
                )
                for s, bs in self.series.items()
            },
            self.source,
        )


def bundled(symbols: Iterable[str]) -> MarketData:
    """Return the bundled real KRX data of `symbols` (in that order).

    Raises
    ------
    ConfigurationError
        If a symbol has no bundled data.
    """
    from stock_manager.adapters.marketdata import daily_bars, intraday_days
    from stock_manager.adapters.venues.krx.profile import kind_of

    series = {}
    for symbol in symbols:
        series[symbol] = BarSeries(
            symbol, tuple(daily_bars(symbol)), kind_of(symbol), frozenset(intraday_days(symbol)), bundled=True
        )
    if not series:
        raise ConfigurationError("no symbols to backtest")
    return MarketData(series, "bundled")


def from_files(paths: Sequence[Path], symbols: Sequence[str] | None = None) -> MarketData:
    """Return the bars of the user's CSV/Parquet files (format in the module docstring).

    Parameters
    ----------
    symbols : Sequence[str] | None
        Keep only these, in this order (all symbols of the files, sorted, when None).

    Raises
    ------
    DataFileError
        Naming the file, and the row and rule where one is broken.
    """
    rows: dict[str, dict[date, DailyBar]] = {}
    kinds: dict[str, InstrumentKind] = {}
    for path in paths:
        for symbol, bar, kind in _read_file(Path(path)):
            day_rows = rows.setdefault(symbol, {})
            if bar.trading_date in day_rows:
                raise DataFileError(f"{path}: {symbol} has two rows for {bar.trading_date}")
            day_rows[bar.trading_date] = bar
            kinds[symbol] = kind
    if not rows:
        raise DataFileError(f"{', '.join(map(str, paths))}: no rows")
    wanted = list(symbols) if symbols else sorted(rows)
    missing = [s for s in wanted if s not in rows]
    if missing:
        raise DataFileError(f"no rows for symbol(s) {', '.join(missing)} in {', '.join(map(str, paths))}")
    series = {s: BarSeries(s, tuple(rows[s][d] for d in sorted(rows[s])), kinds[s]) for s in wanted}
    return MarketData(series, "files")


def _read_file(path: Path) -> list[tuple[str, DailyBar, InstrumentKind]]:
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path).astype(str)
        else:
            raise DataFileError(f"{path}: not a .csv or .parquet file")
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except Exception as e:  # any reader failure is the file's problem, said in one line
        first = (str(e).splitlines() or [""])[0]
        raise DataFileError(f"{path}: cannot be read ({type(e).__name__}: {first})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    absent = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if absent:
        raise DataFileError(f"{path}: missing column(s) {', '.join(absent)}; need {', '.join(REQUIRED_COLUMNS)}")
    has_kind = "kind" in frame.columns
    out = []
    columns = [frame[c].tolist() for c in (*REQUIRED_COLUMNS, *(("kind",) if has_kind else ()))]
    for n, values in enumerate(zip(*columns, strict=True), start=2):  # row 1 is the header
        out.append(_parse_row(path, n, values))
    return out


def _parse_row(path: Path, row: int, values: tuple[str, ...]) -> tuple[str, DailyBar, InstrumentKind]:
    symbol = values[0].strip()
    if not symbol:
        raise DataFileError(f"{path} row {row}: empty symbol")
    text = values[1].strip()
    try:
        day = (
            date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            if len(text) == 8 and text.isdigit()
            else date.fromisoformat(text[:10])
        )
    except ValueError:
        raise DataFileError(f"{path} row {row}: date {text!r} is not YYYY-MM-DD") from None
    numbers = []
    for name, raw in zip(REQUIRED_COLUMNS[2:], values[2:7], strict=True):
        try:
            value = Decimal(raw.strip().replace(",", ""))
        except InvalidOperation:
            raise DataFileError(f"{path} row {row}: {name} {raw!r} is not a number") from None
        if not value.is_finite():
            raise DataFileError(f"{path} row {row}: {name} {raw!r} is not finite")
        numbers.append(value)
    o, h, low, c, v = numbers
    if min(o, h, low, c) <= 0:
        raise DataFileError(f"{path} row {row}: prices must be positive")
    if v < 0:
        raise DataFileError(f"{path} row {row}: volume must not be negative")
    if not (low <= o <= h and low <= c <= h):
        raise DataFileError(f"{path} row {row}: needs low <= open, close <= high")
    kind = InstrumentKind.STOCK
    if len(values) > 7 and values[7].strip():
        try:
            kind = InstrumentKind(values[7].strip().upper())
        except ValueError:
            raise DataFileError(f"{path} row {row}: kind {values[7]!r} is not STOCK or ETF") from None
    # Integral values are kept without an exponent, as the bundled loader keeps them.
    o, h, low, c, v = (x.to_integral_value() if x == x.to_integral_value() else x for x in (o, h, low, c, v))
    return symbol, DailyBar(symbol, day, o, h, low, c, v), kind


def write_csv(data: MarketData, path: Path) -> None:
    """Write `data` in the user file format (one CSV)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*REQUIRED_COLUMNS, "kind"])
        for s, bs in data.series.items():
            for b in bs.bars:
                writer.writerow([s, b.trading_date.isoformat(), b.open, b.high, b.low, b.close, b.volume, bs.kind])
