"""**Port of the simulator:** the replayed market of one venue: its instruments, calendar and data.

The replaying exchange (`SimBroker`) is venue-neutral: it asks a `ReplayMarket` which days trade, each day's
session (hours, phases, whether orders expire at the close), each symbol's base price and trade prints, and
the daily bars a client may read. The KRX market (`adapters.venues.krx.replay`) replays the bundled KRX data;
another venue brings its own.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.sessions import TradingSession


class ReplayMarket(Protocol):
    """**Port:** one venue's replayable market data and calendar."""

    @property
    def venue(self) -> str:
        """Return the venue's name (``"krx"``, ``"upbit"``)."""
        ...

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the replayed symbols, sorted."""
        ...

    def instruments(self) -> dict[str, Instrument]:
        """Return the instrument of each replayed symbol."""
        ...

    def trading_days(self, start: date, end: date) -> list[date]:
        """Return the trading days in ``[start, end]`` on which any symbol has data."""
        ...

    def session(self, day: date) -> TradingSession:
        """Return the session of trading date `day`."""
        ...

    def base_prices(self, day: date) -> dict[str, Decimal]:
        """Return the base price (previous close) of every symbol that trades on `day`; the others are halted."""
        ...

    def prints(self, symbol: str, session: TradingSession) -> Sequence[Tick]:
        """Return the trade prints of `symbol` in `session`, in time order."""
        ...

    def bars_before(self, symbol: str, day: date, count: int) -> list[DailyBar]:
        """Return up to `count` daily bars of `symbol` dated before `day`, oldest first."""
        ...

    def previous_close(self, symbol: str, day: date) -> DailyBar | None:
        """Return the last daily bar of `symbol` before `day`, or None."""
        ...

    def trading_date_of(self, ts: datetime) -> date:
        """Return the venue's trading date of the aware instant `ts`."""
        ...

    def fingerprint(self) -> str:
        """Return a digest of the data replayed (a journal of other data is another replay)."""
        ...


def replay_market(venue: str, symbols: Sequence[str]) -> ReplayMarket:
    """Return the replayed market of `venue` for `symbols`.

    Raises
    ------
    ConfigurationError
        For an unknown venue or symbols without data.
    """
    if venue == "krx":
        from stock_manager.adapters.venues.krx.replay import KrxReplayMarket

        return KrxReplayMarket(symbols)
    if venue == "upbit":
        from stock_manager.adapters.venues.upbit.replay import UpbitReplayMarket

        return UpbitReplayMarket(symbols)
    raise ConfigurationError(f"no replayable market for venue {venue!r}")


def default_costs(venue: str) -> CostModel:
    """Return the venue's costs when a replay names none (KRX: KIS commission and the dated tax; Upbit: the
    0.05 % fee, exact)."""
    if venue == "krx":
        from stock_manager.adapters.venues.krx.rules import krx_cost_model

        return krx_cost_model()
    if venue == "upbit":
        from stock_manager.adapters.venues.upbit.rules import upbit_cost_model

        return upbit_cost_model()
    return CostModel()
