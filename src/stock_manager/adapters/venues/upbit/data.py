"""The bundled Upbit KRW-BTC candles (`stock_manager.data.market`, SOURCES.md there): 30-minute candles of
2024-01-23 → 2025-01-26 and day candles of 2017-09-25 → 2024-12-03.

Both files carry Upbit's own candle fields. Day candles come from the daily file up to its last full day and are
built from the 30-minute candles after it (open of the first, highest high, lowest low, close of the last,
summed volume and value), at the 00:00 UTC day boundary. Nothing is read at import time; each file is parsed
once per process.
"""

import bisect
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Final

from stock_manager.adapters.marketdata.bundled import read_bytes, read_text
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import DailyBar

MINUTE30_FILES: Final = {"KRW-BTC": "upbit_krw-btc_minute30_2024-01-23_2025-01-27.csv"}
DAILY_FILES: Final = {"KRW-BTC": "upbit_krw-btc_daily_2017-09-25_2024-12-04.csv"}
#: The daily file's last row was fetched mid-day (SOURCES.md): days from this one are built from 30-minute candles.
DAILY_FILE_PARTIAL_FROM: Final = {"KRW-BTC": date(2024, 12, 4)}
BUNDLED_MARKETS: Final = tuple(sorted(MINUTE30_FILES))
CANDLE_MINS: Final = 30


@dataclass(frozen=True, slots=True)
class Candle:
    """One Upbit candle: prices KRW per base unit, volume in the base currency, value KRW.

    Attributes
    ----------
    start : datetime
        Start of its interval, aware UTC.
    length : timedelta
        30 minutes, or a day.
    last_trade_at : datetime
        Time of its last trade (``timestamp``), aware UTC.
    value_krw : Decimal
        Traded value (``candle_acc_trade_price``).
    """

    market: str
    start: datetime
    length: timedelta
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    value_krw: Decimal
    last_trade_at: datetime

    @property
    def end(self) -> datetime:
        """Return the end of the candle's interval (exclusive)."""
        return self.start + self.length

    @property
    def trading_date(self) -> date:
        """Return the Upbit trading date (UTC date) of its start."""
        return UPBIT_DAY.date_of(self.start)

    def as_daily_bar(self) -> DailyBar:
        """Return the candle as the core's daily bar of its trading date."""
        return DailyBar(self.market, self.trading_date, self.open, self.high, self.low, self.close, self.volume)


def require_market(market: str) -> str:
    """Return `market` if it has bundled candles.

    Raises
    ------
    ConfigurationError
        For any other market.
    """
    if market not in MINUTE30_FILES:
        raise ConfigurationError(f"no bundled Upbit data for {market!r}; have {', '.join(BUNDLED_MARKETS)}")
    return market


def _read(market: str, name: str, length: timedelta) -> list[Candle]:
    candles = []
    for row in csv.DictReader(io.StringIO(read_text(name), newline="")):
        start = datetime.fromisoformat(row["candle_date_time_utc"]).replace(tzinfo=UTC)
        candles.append(
            Candle(
                market=market,
                start=start,
                length=length,
                open=Decimal(row["opening_price"]),
                high=Decimal(row["high_price"]),
                low=Decimal(row["low_price"]),
                close=Decimal(row["trade_price"]),
                volume=Decimal(row["candle_acc_trade_volume"]),
                value_krw=Decimal(row["candle_acc_trade_price"]),
                last_trade_at=datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC),
            )
        )
    return sorted(candles, key=lambda c: c.start)


@cache
def minute_candles(market: str) -> tuple[Candle, ...]:
    """Return every bundled 30-minute candle of `market`, oldest first."""
    return tuple(_read(market, MINUTE30_FILES[require_market(market)], timedelta(minutes=CANDLE_MINS)))


@cache
def _minute_starts(market: str) -> tuple[datetime, ...]:
    return tuple(c.start for c in minute_candles(market))


def minute_candles_between(market: str, start: datetime, end: datetime) -> Sequence[Candle]:
    """Return the 30-minute candles of `market` starting in ``[start, end)``, oldest first."""
    starts = _minute_starts(market)
    candles = minute_candles(market)
    return candles[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]


def minute_candles_before(market: str, end: datetime, count: int) -> Sequence[Candle]:
    """Return the last `count` 30-minute candles of `market` starting before `end`, oldest first."""
    if count <= 0:
        return ()
    index = bisect.bisect_left(_minute_starts(market), end)
    return minute_candles(market)[max(0, index - count) : index]


@cache
def day_candles(market: str) -> tuple[Candle, ...]:
    """Return the day candles of `market`, oldest first: the daily file's full days, then days built from the
    30-minute candles (module docstring)."""
    cutoff = DAILY_FILE_PARTIAL_FROM[require_market(market)]
    days = [c for c in _read(market, DAILY_FILES[market], timedelta(days=1)) if c.trading_date < cutoff]
    by_day: dict[date, list[Candle]] = {}
    for candle in minute_candles(market):
        if candle.trading_date >= cutoff:
            by_day.setdefault(candle.trading_date, []).append(candle)
    for day, parts in sorted(by_day.items()):
        days.append(
            Candle(
                market=market,
                start=UPBIT_DAY.start_of(day),
                length=timedelta(days=1),
                open=parts[0].open,
                high=max(c.high for c in parts),
                low=min(c.low for c in parts),
                close=parts[-1].close,
                volume=sum((c.volume for c in parts), Decimal(0)),
                value_krw=sum((c.value_krw for c in parts), Decimal(0)),
                last_trade_at=parts[-1].last_trade_at,
            )
        )
    return tuple(days)


@cache
def _day_dates(market: str) -> tuple[date, ...]:
    return tuple(c.trading_date for c in day_candles(market))


def days_before(market: str, day: date, count: int) -> list[Candle]:
    """Return up to `count` day candles of `market` dated before `day`, oldest first."""
    if count <= 0:
        return []
    index = bisect.bisect_left(_day_dates(market), day)
    return list(day_candles(market)[max(0, index - count) : index])


def day_candle(market: str, day: date) -> Candle | None:
    """Return the day candle of `market` on `day`, or None."""
    dates = _day_dates(market)
    index = bisect.bisect_left(dates, day)
    return day_candles(market)[index] if index < len(dates) and dates[index] == day else None


@cache
def minute_days(market: str) -> tuple[date, ...]:
    """Return the trading dates with at least one 30-minute candle, oldest first."""
    return tuple(sorted({c.trading_date for c in minute_candles(market)}))


@cache
def upbit_data_fingerprint() -> str:
    """Return a SHA-256 over the names and contents of the bundled Upbit files (hex, 16 characters)."""
    digest = hashlib.sha256()
    for name in sorted({*MINUTE30_FILES.values(), *DAILY_FILES.values()}):
        digest.update(name.encode())
        digest.update(read_bytes(name))
    return digest.hexdigest()[:16]
