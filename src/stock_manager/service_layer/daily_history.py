"""The daily bars a session's strategies read, fetched once per symbol and then extended incrementally.

The market open needs, for every symbol, the last `HISTORY_BARS` daily bars before the session. A daemon runs
session after session, so it keeps each symbol's window between sessions and asks the broker only for the
bars it lacks: the bars after the last one it holds, with that last bar again as an overlap. When the overlap
differs from what it holds (the venue re-adjusted its prices after a split or a dividend, or the held bar was
a day still in progress), when the gap is long, or when the session is earlier than what it holds, it fetches
the whole window again. Either way the window is the same as a full `Broker.get_daily_bars` of the day.
"""

from dataclasses import dataclass, field
from datetime import date

from stock_manager.domain.market import DailyBar
from stock_manager.service_layer.ports.broker import Broker

#: How many daily bars a session's strategies see (the MA 200 needs 201; the rest is margin).
HISTORY_BARS = 260
#: The longest gap, in calendar days, that is filled incrementally; a longer pause fetches the whole window.
MAX_INCREMENT_DAYS = 31


@dataclass(slots=True)
class DailyHistory:
    """Each symbol's last `count` daily bars, kept across sessions (oldest first).

    The cache lives as long as the daemon's process: a restart begins with one full fetch per symbol.
    """

    broker: Broker
    count: int = HISTORY_BARS
    _bars: dict[str, list[DailyBar]] = field(default_factory=dict, init=False)
    _end: dict[str, date] = field(default_factory=dict, init=False)

    async def bars(self, symbol: str, end: date) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` on or before `end`, oldest first (a new list).

        Raises what `Broker.get_daily_bars` raises; the cache is then left as it was.
        """
        held = self._bars.get(symbol)
        last_end = self._end.get(symbol)
        if held and last_end is not None and last_end <= end:
            gap_days = (end - held[-1].trading_date).days
            if gap_days <= MAX_INCREMENT_DAYS:
                # Every trading day after the last bar held is one of these `gap_days` calendar days; one more
                # bar reaches back to the last bar held (the overlap that must be unchanged).
                fresh = await self.broker.get_daily_bars(symbol, end, gap_days + 1)
                extended = _extend(held, fresh, self.count)
                if extended is not None:
                    return self._keep(symbol, end, extended)
        return self._keep(symbol, end, await self.broker.get_daily_bars(symbol, end, self.count))

    def _keep(self, symbol: str, end: date, bars: list[DailyBar]) -> list[DailyBar]:
        self._bars[symbol] = bars
        self._end[symbol] = end
        return list(bars)


def _extend(held: list[DailyBar], fresh: list[DailyBar], count: int) -> list[DailyBar] | None:
    # `held` followed by the bars of `fresh` after its last one, the last `count` of them; None unless `fresh`
    # repeats the last bar held, and every bar of `fresh` up to it equals the bar held of its day (bars older
    # than a full window held are not compared).
    last = held[-1].trading_date
    by_date = {bar.trading_date: bar for bar in held}
    trimmed = len(held) >= count
    if last not in {bar.trading_date for bar in fresh}:
        return None
    for bar in fresh:
        if bar.trading_date > last or (trimmed and bar.trading_date < held[0].trading_date):
            continue
        if by_date.get(bar.trading_date) != bar:
            return None
    newer = [bar for bar in fresh if bar.trading_date > last]
    return [*held, *newer][-count:]
