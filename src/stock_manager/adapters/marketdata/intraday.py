"""Real intraday bars of the bundled symbols (Yahoo minute data of Samsung), with aware UTC timestamps.

Available: 1-minute bars on 2025-06-13 and 2025-06-16 → 2025-06-18 (timestamps written in UTC), 5-minute
bars on 2020-02-18 → 2020-04-16 (written in KST). The 1-minute files miss 15:00–15:30 KST, including the
closing auction, and the first bar of each day has volume 0.
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

from stock_manager.adapters.marketdata.bundled import INTRADAY_FILES, parse_krw, read_text, require_bundled
from stock_manager.localtime import kst_date


@dataclass(frozen=True, slots=True)
class IntradayBar:
    """One intraday bar of one symbol (KRW prices, volume in shares).

    Attributes
    ----------
    ts_start : datetime
        Aware UTC start of the bar.
    length : timedelta
        Bar length (1 or 5 minutes).
    """

    symbol: str
    ts_start: datetime
    length: timedelta
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def _parse_ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text.strip())
    if ts.tzinfo is None:
        raise ValueError(f"intraday timestamp without a UTC offset: {text!r}")
    return ts.astimezone(UTC)


@cache
def _bars_by_day(symbol: str) -> dict[date, tuple[IntradayBar, ...]]:
    by_day: dict[date, list[IntradayBar]] = defaultdict(list)
    for name, minutes in INTRADAY_FILES.get(symbol, ()):
        for row in csv.DictReader(io.StringIO(read_text(name), newline="")):
            bar = IntradayBar(
                symbol=symbol,
                ts_start=_parse_ts(row["Datetime"]),
                length=timedelta(minutes=minutes),
                open=parse_krw(row["Open"]),
                high=parse_krw(row["High"]),
                low=parse_krw(row["Low"]),
                close=parse_krw(row["Close"]),
                volume=parse_krw(row["Volume"]),
            )
            by_day[kst_date(bar.ts_start)].append(bar)
    return {day: tuple(sorted(bars, key=lambda b: b.ts_start)) for day, bars in sorted(by_day.items())}


def intraday_bars(symbol: str, day: date) -> list[IntradayBar] | None:
    """Return the real intraday bars of `symbol` on the KST date `day`, oldest first; None without any.

    Raises
    ------
    ConfigurationError
        If `symbol` has no bundled data.
    """
    bars = _bars_by_day(require_bundled(symbol)).get(day)
    return list(bars) if bars else None


def intraday_days(symbol: str) -> list[date]:
    """Return the KST dates on which `symbol` has real intraday bars, sorted."""
    return list(_bars_by_day(require_bundled(symbol)))
