"""Daily OHLCV bars of the bundled symbols, and the trading days they cover.

Samsung (005930) is merged from two sources: the QuantKang file up to its last day (2023-12-22) and the KIS
file after it. Where they overlap (2020-01-02 → 2023-12-22) their prices agree exactly and their volumes
differ by at most 2 shares. Every other symbol has the QuantKang file only.

**Halt days are dropped**: a row with volume 0 and open = high = low = close is a trading halt (QuantKang
writes the previous close there); nothing traded, so there is nothing to replay on that day.
"""

import bisect
import csv
import io
from collections.abc import Iterable
from datetime import date
from functools import cache

from stock_manager.adapters.marketdata.bundled import (
    KIS_DAILY_FILES,
    QUANTKANG_DAILY_FILES,
    parse_krw,
    read_text,
    require_bundled,
)
from stock_manager.domain.market import DailyBar


def _parse_date(text: str) -> date:
    text = text.strip()
    if len(text) == 8 and text.isdigit():  # QuantKang: YYYYMMDD
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return date.fromisoformat(text)  # KIS: YYYY-MM-DD


def _read_daily_file(symbol: str, name: str) -> list[DailyBar]:
    bars = []
    for row in csv.DictReader(io.StringIO(read_text(name), newline="")):
        bars.append(
            DailyBar(
                symbol=symbol,
                trading_date=_parse_date(row["date"]),
                open=parse_krw(row["open"]),
                high=parse_krw(row["high"]),
                low=parse_krw(row["low"]),
                close=parse_krw(row["close"]),
                volume=parse_krw(row["volume"]),
            )
        )
    return bars


def is_halt_row(bar: DailyBar) -> bool:
    """Return True for a halt day as the data writes it: volume 0 and open = high = low = close."""
    return bar.volume == 0 and bar.open == bar.high == bar.low == bar.close


@cache
def _daily_bars(symbol: str) -> tuple[DailyBar, ...]:
    bars = _read_daily_file(symbol, QUANTKANG_DAILY_FILES[symbol])
    if symbol in KIS_DAILY_FILES:
        last = bars[-1].trading_date
        bars += [bar for bar in _read_daily_file(symbol, KIS_DAILY_FILES[symbol]) if bar.trading_date > last]
    return tuple(bar for bar in bars if not is_halt_row(bar))


@cache
def _dates(symbol: str) -> tuple[date, ...]:
    return tuple(bar.trading_date for bar in _daily_bars(symbol))


def daily_bars(symbol: str) -> list[DailyBar]:
    """Return every daily bar of `symbol`, oldest first, halt days dropped.

    Raises
    ------
    ConfigurationError
        If `symbol` has no bundled data.
    """
    return list(_daily_bars(require_bundled(symbol)))


def daily_bar(symbol: str, day: date) -> DailyBar | None:
    """Return the bar of `symbol` on `day`, or None when the data has none (holiday, halt, out of range)."""
    dates = _dates(require_bundled(symbol))
    index = bisect.bisect_left(dates, day)
    if index < len(dates) and dates[index] == day:
        return _daily_bars(symbol)[index]
    return None


def bars_before(symbol: str, day: date, count: int) -> list[DailyBar]:
    """Return up to `count` bars of `symbol` dated strictly before `day`, oldest first."""
    if count <= 0:
        return []
    end = bisect.bisect_left(_dates(require_bundled(symbol)), day)
    return list(_daily_bars(symbol)[max(0, end - count) : end])


def previous_close(symbol: str, day: date) -> DailyBar | None:
    """Return the last bar of `symbol` before `day` (its close is the base price of `day`), or None."""
    before = bars_before(symbol, day, 1)
    return before[0] if before else None


def trading_days(symbols: Iterable[str], start: date, end: date) -> list[date]:
    """Return the days in [`start`, `end`] on which at least one of `symbols` has a bar, sorted.

    A day counts when any symbol traded; a symbol without a bar that day (halted, not yet listed, or past
    the end of its file) simply has no session on it.

    Raises
    ------
    ConfigurationError
        If a symbol has no bundled data.
    """
    days: set[date] = set()
    for symbol in symbols:
        dates = _dates(require_bundled(symbol))
        days.update(dates[bisect.bisect_left(dates, start) : bisect.bisect_right(dates, end)])
    return sorted(days)
