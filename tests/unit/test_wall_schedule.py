"""Paper and live sessions come from the XKRX calendar and the wall clock: holidays skipped, late opens kept."""

from datetime import UTC, date, datetime, timedelta

from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
from stock_manager.adapters.venues.krx.calendar import next_session
from stock_manager.domain.clock import FixedClock


class SleepingClock:
    """A wall clock that only moves when the schedule sleeps (records every wait)."""

    def __init__(self, start: datetime) -> None:
        self.clock = FixedClock(start)
        self.slept_secs: list[float] = []

    async def sleep(self, secs: float) -> None:
        self.slept_secs.append(secs)
        self.clock.advance(timedelta(seconds=secs))


async def take(schedule: CalendarSchedule, count: int) -> list[tuple[date, datetime, datetime]]:
    seen = []
    async for session in schedule.sessions():
        seen.append((session.trading_date, session.ts_open, schedule._clock.now()))
        await schedule.run_until_close(session)
        if len(seen) == count:
            break
    return seen


async def test_sessions_when_started_on_a_friday_evening_before_chuseok_then_next_is_after_the_holidays():
    # 2024-09-13 (Fri) 18:00 KST; Chuseok closed KRX 2024-09-16..18, so the next session is Thu 09-19.
    wall = SleepingClock(datetime(2024, 9, 13, 9, 0, tzinfo=UTC))
    schedule = CalendarSchedule(wall.clock, next_session, sleep=wall.sleep)

    [(day, ts_open, yielded_at)] = await take(schedule, 1)

    assert day == date(2024, 9, 19)
    assert yielded_at == ts_open - timedelta(minutes=30)  # the pre-open, 08:30 KST
    assert ts_open == datetime(2024, 9, 19, 0, 0, tzinfo=UTC)
    assert max(wall.slept_secs) <= 30.0


async def test_sessions_when_started_during_a_session_then_that_session_at_once_and_the_next_day_after():
    wall = SleepingClock(datetime(2024, 9, 12, 2, 0, tzinfo=UTC))  # Thu 11:00 KST, market open

    sessions = await take(CalendarSchedule(wall.clock, next_session, sleep=wall.sleep), 2)

    assert [s[0] for s in sessions] == [date(2024, 9, 12), date(2024, 9, 13)]
    assert sessions[0][2] == datetime(2024, 9, 12, 2, 0, tzinfo=UTC)  # no wait: it was already open


async def test_sessions_when_exam_day_late_open_then_pre_open_moves_with_it():
    # 2019-11-14, the college entrance exam: KRX opened at 10:00 KST.
    wall = SleepingClock(datetime(2019, 11, 13, 12, 0, tzinfo=UTC))

    [(day, ts_open, yielded_at)] = await take(CalendarSchedule(wall.clock, next_session, sleep=wall.sleep), 1)

    assert (day, ts_open) == (date(2019, 11, 14), datetime(2019, 11, 14, 1, 0, tzinfo=UTC))
    assert yielded_at == datetime(2019, 11, 14, 0, 30, tzinfo=UTC)
