"""The sessions a daemon started at some moment may have missed the close of (paper and live)."""

from datetime import date, time

from stock_manager.adapters.broker.wall_schedule import closed_sessions
from stock_manager.adapters.venues.krx.calendar import next_session
from stock_manager.localtime import kst_datetime


def test_closed_sessions_when_started_just_after_a_close_then_that_session_is_the_last_one():
    # Friday 2023-02-17 closed at 15:30 KST; the daemon is back at 15:30:01.
    now = kst_datetime(date(2023, 2, 17), time(15, 30, 1))

    found = closed_sessions(next_session, now)

    assert found[-1].trading_date == date(2023, 2, 17)
    assert [s.trading_date for s in found] == sorted(s.trading_date for s in found)
    assert all(s.ts_close <= now for s in found) and len(found) == 8  # ten calendar days: eight sessions


def test_closed_sessions_when_started_during_a_session_then_it_is_not_among_them():
    now = kst_datetime(date(2023, 2, 20), time(15, 23))

    found = closed_sessions(next_session, now)

    assert found[-1].trading_date == date(2023, 2, 17)
