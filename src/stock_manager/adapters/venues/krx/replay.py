"""The KRX market as the simulator replays it: the bundled real KRX data, the XKRX calendar and KRX rules
(the `ReplayMarket` of `adapters.broker.sim.market`)."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.marketdata import (
    bars_before,
    daily_bar,
    data_fingerprint,
    previous_close,
    session_prints,
    trading_days,
)
from stock_manager.adapters.marketdata.bundled import require_bundled
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.adapters.venues.krx.profile import listed_instrument
from stock_manager.adapters.venues.krx.rules import KRX_DAY, VENUE
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.sessions import TradingSession


class KrxReplayMarket:
    """The bundled KRX symbols' data (see `adapters.marketdata`).

    Raises
    ------
    ConfigurationError
        From the constructor, for a symbol without bundled data.
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        self._symbols = tuple(sorted({require_bundled(symbol) for symbol in symbols}))

    @property
    def venue(self) -> str:
        """Return ``"krx"``."""
        return VENUE

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the replayed symbols, sorted."""
        return self._symbols

    def instruments(self) -> dict[str, Instrument]:
        """Return each symbol's KRX instrument (kind and name from the bundled KIS master)."""
        return {symbol: listed_instrument(symbol) for symbol in self._symbols}

    def trading_days(self, start: date, end: date) -> list[date]:
        """Return the days in ``[start, end]`` on which any symbol has a daily bar."""
        return trading_days(self._symbols, start, end)

    def session(self, day: date) -> TradingSession:
        """Return the XKRX session of `day` (with the KRX phases)."""
        return session_for(day)

    def base_prices(self, day: date) -> dict[str, Decimal]:
        """Return the previous close of each symbol with a bar on `day` (its open on a first day)."""
        prices: dict[str, Decimal] = {}
        for symbol in self._symbols:
            bar = daily_bar(symbol, day)
            if bar is None:
                continue
            before = previous_close(symbol, day)
            prices[symbol] = before.close if before is not None else bar.open
        return prices

    def prints(self, symbol: str, session: TradingSession) -> Sequence[Tick]:
        """Return the replayed prints of `symbol` in `session` (`adapters.marketdata.paths`)."""
        return session_prints(symbol, session.trading_date, session.ts_open, session.ts_close)

    def bars_before(self, symbol: str, day: date, count: int) -> list[DailyBar]:
        """Return up to `count` daily bars of `symbol` before `day`, oldest first."""
        return bars_before(symbol, day, count)

    def previous_close(self, symbol: str, day: date) -> DailyBar | None:
        """Return the last daily bar of `symbol` before `day`."""
        return previous_close(symbol, day)

    def trading_date_of(self, ts: datetime) -> date:
        """Return the KRX trading date (the Korean calendar date) of `ts`."""
        return KRX_DAY.date_of(ts)

    def fingerprint(self) -> str:
        """Return the digest of the bundled data files."""
        return data_fingerprint()
