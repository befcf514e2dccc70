"""The daily bars of each open: fetched once, then only the bars a session lacks, the same window as a full fetch."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.domain.clock import FixedClock
from stock_manager.domain.market import DailyBar
from stock_manager.service_layer.daily_history import DailyHistory
from tests.fakes import FakeBroker


class CountingBroker(FakeBroker):
    """The fake broker, remembering the `count` of every daily-bar request."""

    def __init__(self) -> None:
        super().__init__(FixedClock(datetime(2023, 1, 2, tzinfo=UTC)), "ACC")
        self.requests: list[tuple[str, date, int]] = []

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        self.requests.append((symbol, end, count))
        return await super().get_daily_bars(symbol, end, count)


def weekdays(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def bar(day: date, close: int) -> DailyBar:
    price = Decimal(close)
    return DailyBar("005930", day, price, price + 100, price - 100, price, Decimal(1000 + close % 97))


def broker_with_bars(days: list[date]) -> CountingBroker:
    broker = CountingBroker()
    broker.daily_bars["005930"] = [bar(day, 60_000 + 10 * i) for i, day in enumerate(days)]
    return broker


async def test_daily_history_when_sessions_follow_each_other_then_each_asks_for_the_days_since_the_last_bar():
    days = weekdays(date(2022, 1, 3), date(2023, 3, 31))
    broker = broker_with_bars(days)
    history = DailyHistory(broker, count=260)
    sessions = [d for d in days if d >= date(2023, 1, 2)]

    for session in sessions:
        got = await history.bars("005930", session - timedelta(days=1))
        full = await FakeBroker.get_daily_bars(broker, "005930", session - timedelta(days=1), 260)
        assert got == full and len(got) == 260

    counts = [count for _, _, count in broker.requests]
    assert counts[0] == 260  # the first open fetches the whole window
    # After that: the calendar days since the last bar held, plus that bar (Monday: Friday's bar is 3 days old).
    assert max(counts[1:]) == 4 and min(counts[1:]) == 2


async def test_daily_history_when_the_venue_readjusts_its_past_bars_then_the_whole_window_is_fetched_again():
    days = weekdays(date(2022, 6, 1), date(2023, 1, 31))
    broker = broker_with_bars(days)
    history = DailyHistory(broker, count=100)
    await history.bars("005930", date(2023, 1, 10))
    # A 1:2 split: the venue's adjusted history halves every price before it.
    broker.daily_bars["005930"] = [
        replace(b, open=b.open / 2, high=b.high / 2, low=b.low / 2, close=b.close / 2)
        if b.trading_date < date(2023, 1, 11)
        else b
        for b in broker.daily_bars["005930"]
    ]

    got = await history.bars("005930", date(2023, 1, 11))

    assert got == await FakeBroker.get_daily_bars(broker, "005930", date(2023, 1, 11), 100)
    assert [count for _, _, count in broker.requests] == [100, 2, 100]  # the overlap differed: fetched again


async def test_daily_history_when_a_session_is_earlier_or_long_after_the_last_then_it_fetches_the_whole_window():
    days = weekdays(date(2022, 1, 3), date(2023, 12, 29))
    broker = broker_with_bars(days)
    history = DailyHistory(broker, count=50)

    for end in (date(2023, 6, 1), date(2023, 5, 1), date(2023, 12, 28)):  # back in time, then 7 months later
        assert await history.bars("005930", end) == await FakeBroker.get_daily_bars(broker, "005930", end, 50)

    assert [count for _, _, count in broker.requests] == [50, 50, 50]


async def test_daily_history_when_the_data_begins_inside_the_window_then_it_extends_the_shorter_history():
    days = weekdays(date(2023, 1, 2), date(2023, 2, 28))
    broker = broker_with_bars(days)
    history = DailyHistory(broker, count=260)

    for end in (date(2023, 1, 31), date(2023, 2, 1), date(2023, 2, 2)):
        assert await history.bars("005930", end) == await FakeBroker.get_daily_bars(broker, "005930", end, 260)

    assert [count for _, _, count in broker.requests] == [260, 2, 2]
