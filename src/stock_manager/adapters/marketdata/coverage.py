"""How much bundled data a replay period has, per symbol: before a replay starts, to refuse a period with
nothing to trade and to warn about symbols that cannot trade in it."""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from stock_manager.adapters.marketdata.daily import daily_bars


@dataclass(frozen=True, slots=True)
class SymbolCoverage:
    """The bundled daily data of one symbol, seen from a replay period.

    Attributes
    ----------
    symbol : str
        KRX short code.
    first, last : date | None
        The first and last day with a bar (halt days are not bars); None when the symbol has no bar at all.
    sessions_in_period : int
        Days with a bar in the period: the symbol's sessions in the replay.
    last_in_period : date | None
        The last of those days.
    bars_before_last : int
        Bars before `last_in_period`: the most history the strategy sees on any day of the period.
    """

    symbol: str
    first: date | None
    last: date | None
    sessions_in_period: int
    last_in_period: date | None
    bars_before_last: int


def period_coverage(symbols: Iterable[str], start: date, end: date) -> list[SymbolCoverage]:
    """Return the coverage of each of `symbols` (in order) for the period [`start`, `end`].

    Raises
    ------
    ConfigurationError
        If a symbol has no bundled data at all.
    """
    result = []
    for symbol in symbols:
        dates = [bar.trading_date for bar in daily_bars(symbol)]
        lo, hi = bisect.bisect_left(dates, start), bisect.bisect_right(dates, end)
        result.append(
            SymbolCoverage(
                symbol=symbol,
                first=dates[0] if dates else None,
                last=dates[-1] if dates else None,
                sessions_in_period=hi - lo,
                last_in_period=dates[hi - 1] if hi > lo else None,
                bars_before_last=hi - 1 if hi > lo else 0,
            )
        )
    return result
