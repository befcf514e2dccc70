"""KRX session hours from the XKRX calendar, with the exam days the library lacks (late open, late close)."""

from datetime import date, time

import pytest

from stock_manager.adapters.venues.krx.calendar import is_trading_day, session_for
from stock_manager.localtime import kst_datetime


@pytest.mark.parametrize("day", [date(2019, 11, 14), date(2023, 11, 16), date(2024, 11, 14)])
def test_session_for_when_college_entrance_exam_day_then_opens_ten_closes_sixteen_thirty(day):
    session = session_for(day)
    assert (session.ts_open, session.ts_close) == (kst_datetime(day, time(10, 0)), kst_datetime(day, time(16, 30)))


def test_session_for_when_first_trading_day_of_year_then_opens_at_ten_closes_normally():
    session = session_for(date(2024, 1, 2))
    assert (session.ts_open, session.ts_close) == (
        kst_datetime(date(2024, 1, 2), time(10, 0)),
        kst_datetime(date(2024, 1, 2), time(15, 30)),
    )


def test_session_for_when_ordinary_day_then_nine_to_fifteen_thirty():
    session = session_for(date(2024, 3, 4))
    assert (session.ts_open, session.ts_close) == (
        kst_datetime(date(2024, 3, 4), time(9, 0)),
        kst_datetime(date(2024, 3, 4), time(15, 30)),
    )


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        (date(2024, 3, 4), True),
        (date(2024, 3, 2), False),  # a Saturday
        (date(2023, 12, 29), False),  # year-end closing day
        (date(2024, 9, 17), False),  # Chuseok
    ],
)
def test_is_trading_day_when_weekend_or_holiday_then_false(day, trading):
    assert is_trading_day(day) is trading
