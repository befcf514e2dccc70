"""Session hours of the replayed days, from the `exchange_calendars` XKRX calendar.

The calendar knows the late opens (10:00 KST on the first trading day of a year and on the college entrance
exam day) and the close moving from 15:00 to 15:30 KST on 2016-08-01. It covers 2006-11-21 onward; days
outside it fall back to 09:00–15:30 KST, which is not what KRX ran before 2006. Orders are accepted from
the pre-open, 30 minutes before the open.
"""

import warnings
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from stock_manager.domain.clock import kst_datetime
from stock_manager.service_layer.broker_port import TradingSession

FALLBACK_OPEN_KST = time(9, 0)
FALLBACK_CLOSE_KST = time(15, 30)
PRE_OPEN = timedelta(minutes=30)


@cache
def _xkrx_hours() -> dict[date, tuple[datetime, datetime]]:
    # Built once per process: constructing the calendar takes a few seconds.
    import exchange_calendars  # heavy (pandas): imported only when a replay needs it

    with warnings.catch_warnings():
        # exchange_calendars 4.x reads Series.values, which pandas deprecates; not ours to fix.
        warnings.filterwarnings("ignore", message=r"Series\.values returning an ndarray")
        calendar: Any = exchange_calendars.get_calendar("XKRX")
    return {
        label.date(): (_to_utc(ts_open), _to_utc(ts_close))
        for label, ts_open, ts_close in zip(
            calendar.opens.index, calendar.opens, calendar.closes, strict=True
        )
    }


def _to_utc(value: Any) -> datetime:
    ts: datetime = value.to_pydatetime()
    return ts.astimezone(UTC)


def session_for(day: date) -> TradingSession:
    """Return the KRX session of the KST date `day`: the calendar's hours, or 09:00–15:30 KST without them."""
    hours = _xkrx_hours().get(day)
    if hours is None:
        hours = (kst_datetime(day, FALLBACK_OPEN_KST), kst_datetime(day, FALLBACK_CLOSE_KST))
    return TradingSession(trading_date=day, ts_open=hours[0], ts_close=hours[1])


def pre_open(session: TradingSession) -> datetime:
    """Return when `session` starts accepting orders: 30 minutes before the open (08:30 KST normally)."""
    return session.ts_open - PRE_OPEN
