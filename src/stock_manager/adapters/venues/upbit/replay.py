"""The Upbit KRW market as the simulator replays it: the bundled KRW-BTC candles, the 24/7 calendar cut at
00:00 UTC and the KRW-market rules (the `ReplayMarket` of `adapters.broker.sim.market`).

Each 30-minute candle becomes four prints spread evenly inside it (at 0, 7.5, 15 and 22.5 minutes), as
`adapters.marketdata.paths` does for minute bars: the open, then the low and the high — low first when the
candle closed at or above its open, high first when it closed below — then the close. The candle's volume
(BTC) is split evenly over the four prints, each rounded down to 1e-8 BTC, the remainder going to the close
print. A day has prints only where the data has candles (the 30-minute file has gaps, see SOURCES.md); there
is no closing auction. The base price of a day is the previous day's close (the ticker's
``prev_closing_price``), or the day's first open where the data has no earlier day.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from stock_manager.adapters.venues.upbit import data
from stock_manager.adapters.venues.upbit.calendar import MaintenanceWindow, session_for
from stock_manager.adapters.venues.upbit.rules import SIZE_INCREMENT, UPBIT_DAY, VENUE, upbit_instrument
from stock_manager.domain.instruments import Instrument, TickTable
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.sessions import TradingSession

PRINTS_PER_CANDLE = 4


def candle_prints(candle: data.Candle) -> list[Tick]:
    """Return the four prints of one candle (module docstring)."""
    extremes = (candle.low, candle.high) if candle.close >= candle.open else (candle.high, candle.low)
    share = (candle.volume / PRINTS_PER_CANDLE / SIZE_INCREMENT).to_integral_value(ROUND_FLOOR) * SIZE_INCREMENT
    volumes = [share] * (PRINTS_PER_CANDLE - 1) + [candle.volume - share * (PRINTS_PER_CANDLE - 1)]
    step = candle.length / PRINTS_PER_CANDLE
    return [
        Tick(candle.market, price, volume, candle.start + step * index)
        for index, (price, volume) in enumerate(zip((candle.open, *extremes, candle.close), volumes, strict=True))
    ]


class UpbitReplayMarket:
    """The bundled Upbit markets' data (`venues.upbit.data`).

    Parameters
    ----------
    symbols : Sequence[str]
        Market codes to replay (``"KRW-BTC"``).
    maintenance : Sequence[MaintenanceWindow]
        Maintenance windows of the replayed days (none by default).
    ticks : TickTable | None
        The price-unit table of the instruments (the default table when None).

    Raises
    ------
    ConfigurationError
        From the constructor, for a market without bundled data.
    """

    def __init__(
        self, symbols: Sequence[str], *, maintenance: Sequence[MaintenanceWindow] = (), ticks: TickTable | None = None
    ) -> None:
        self._symbols = tuple(sorted({data.require_market(symbol) for symbol in symbols}))
        self._maintenance = tuple(maintenance)
        self._ticks = ticks

    @property
    def venue(self) -> str:
        """Return ``"upbit"``."""
        return VENUE

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the replayed markets, sorted."""
        return self._symbols

    def instruments(self) -> dict[str, Instrument]:
        """Return each market's KRW-market instrument."""
        return {symbol: upbit_instrument(symbol, self._ticks) for symbol in self._symbols}

    def trading_days(self, start: date, end: date) -> list[date]:
        """Return the UTC days in ``[start, end]`` on which any market has a 30-minute candle."""
        return sorted({day for symbol in self._symbols for day in data.minute_days(symbol) if start <= day <= end})

    def session(self, day: date) -> TradingSession:
        """Return trading day `day` (00:00 → 24:00 UTC, minus maintenance)."""
        return session_for(day, self._maintenance)

    def base_prices(self, day: date) -> dict[str, Decimal]:
        """Return the previous close of each market with candles on `day` (its first open without one)."""
        prices: dict[str, Decimal] = {}
        for symbol in self._symbols:
            candles = data.minute_candles_between(symbol, UPBIT_DAY.start_of(day), self.session(day).ts_close)
            if not candles:
                continue
            before = self.previous_close(symbol, day)
            prices[symbol] = before.close if before is not None else candles[0].open
        return prices

    def prints(self, symbol: str, session: TradingSession) -> Sequence[Tick]:
        """Return the prints of `symbol`'s candles starting in the session (module docstring)."""
        candles = data.minute_candles_between(symbol, session.ts_open, session.ts_close)
        return [tick for candle in candles for tick in candle_prints(candle)]

    def bars_before(self, symbol: str, day: date, count: int) -> list[DailyBar]:
        """Return up to `count` day bars of `symbol` before `day`, oldest first."""
        return [c.as_daily_bar() for c in data.days_before(symbol, day, count)]

    def previous_close(self, symbol: str, day: date) -> DailyBar | None:
        """Return the last day bar of `symbol` before `day`."""
        bars = self.bars_before(symbol, day, 1)
        return bars[-1] if bars else None

    def trading_date_of(self, ts: datetime) -> date:
        """Return the Upbit trading date (the UTC date) of `ts`."""
        return UPBIT_DAY.date_of(ts)

    def fingerprint(self) -> str:
        """Return the digest of the bundled Upbit files."""
        return data.upbit_data_fingerprint()
