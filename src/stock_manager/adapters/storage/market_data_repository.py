"""Symbols and daily bars (``market_bars`` with interval ``1d``)."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import upsert
from stock_manager.adapters.storage.tables import market_bars, symbols
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar
from stock_manager.localtime import kst_date, kst_datetime

#: ``market_bars.interval`` of daily bars.
DAILY = "1d"

#: KRX regular session open (KST): a daily bar's ``ts_bar`` is this time of its trading date, in UTC.
SESSION_OPEN_KST = time(9, 0)


class SqlMarketDataRepository:
    """`MarketDataRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert_symbol(self, instrument: Instrument, ts: datetime) -> None:
        """Insert or update an instrument's metadata (name, market, kind, venue)."""
        values = {
            "symbol": instrument.symbol,
            "name": instrument.name,
            "market": instrument.market,
            "kind": instrument.kind,
            "venue": instrument.venue,
            "ts_updated": ts,
        }
        await self._connection.execute(upsert(self._connection, symbols, ["symbol"]), values)

    async def upsert_daily_bars(self, bars: Sequence[DailyBar], source: str) -> int:
        """Insert or replace daily bars; return how many were written (``len(bars)``)."""
        if not bars:
            return 0
        rows = [
            {
                "symbol": bar.symbol,
                "interval": DAILY,
                "ts_bar": kst_datetime(bar.trading_date, SESSION_OPEN_KST),
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
                "source": source,
            }
            for bar in bars
        ]
        await self._connection.execute(upsert(self._connection, market_bars, ["symbol", "interval", "ts_bar"]), rows)
        return len(rows)

    async def daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` on or before `end`, oldest first."""
        if count <= 0:
            return []
        statement = (
            select(market_bars)
            .where(
                market_bars.c.symbol == symbol,
                market_bars.c.interval == DAILY,
                market_bars.c.ts_bar < kst_datetime(end + timedelta(days=1), time(0)),
            )
            .order_by(market_bars.c.ts_bar.desc())
            .limit(count)
        )
        rows = (await self._connection.execute(statement)).all()
        return [
            DailyBar(
                symbol=row.symbol,
                trading_date=kst_date(row.ts_bar),
                open=row.open,
                high=row.high,
                low=row.low,
                close=row.close,
                volume=row.volume,
            )
            for row in reversed(rows)
        ]
