"""Session hours of the replayed days, from the `exchange_calendars` XKRX calendar.

The calendar knows the late opens (10:00 KST on the first trading day of a year and on the college entrance
exam day) and the close moving from 15:00 to 15:30 KST on 2016-08-01. It covers 2006-11-21 onward; days
outside it fall back to 09:00–15:30 KST, which is not what KRX ran before 2006. Each session carries the
KRX phases (`krx_phases`), so orders are accepted from the pre-open, 30 minutes before the open.

The library's list of exam days ends in 2020 (exchange-calendars 4.13): `CSAT_DAYS_AFTER_LIBRARY` adds the
later ones (10:00–16:30 KST), applied only where the library still shows the normal hours. Add each year's
date when it is announced.

Building the calendar takes seconds (its lunar-holiday rules), so the hours it yields are cached as JSON in
the user cache directory (``STOCKBOT_CACHE_DIR`` overrides it), keyed by the library's version: the
library stays the source, and only the first replay on a machine pays for it.
"""

import json
import os
import warnings
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import platformdirs

from stock_manager.adapters.venues.krx.phases import krx_phases
from stock_manager.domain.sessions import TradingSession
from stock_manager.localtime import kst_datetime

#: College entrance exam days missing from the library: every KRX schedule moves one hour later.
CSAT_DAYS_AFTER_LIBRARY = frozenset(
    {date(2021, 11, 18), date(2022, 11, 17), date(2023, 11, 16), date(2024, 11, 14), date(2025, 11, 13)}
)
CSAT_DELAY = timedelta(hours=1)

FALLBACK_OPEN_KST = time(9, 0)
FALLBACK_CLOSE_KST = time(15, 30)


@cache
def _xkrx_hours() -> dict[date, tuple[datetime, datetime]]:
    # Once per process; from the disk cache when the library's version matches.
    path = _cache_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {date.fromisoformat(d): (datetime.fromisoformat(o), datetime.fromisoformat(c)) for d, o, c in raw}
    except (OSError, ValueError, TypeError):
        pass
    hours = _build_xkrx_hours()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps([[d.isoformat(), o.isoformat(), c.isoformat()] for d, (o, c) in hours.items()]), encoding="utf-8"
        )
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache directory only costs time
    return hours


def _cache_path() -> Path:
    root = os.environ.get("STOCKBOT_CACHE_DIR") or platformdirs.user_cache_dir("stockbot", appauthor=False)
    return Path(root) / f"xkrx-sessions-{version('exchange_calendars')}.json"


def _build_xkrx_hours() -> dict[date, tuple[datetime, datetime]]:
    import exchange_calendars  # heavy (pandas): imported only when the cache is cold

    with warnings.catch_warnings():
        # exchange_calendars 4.x reads Series.values, which pandas deprecates; not ours to fix.
        warnings.filterwarnings("ignore", message=r"Series\.values returning an ndarray")
        calendar: Any = exchange_calendars.get_calendar("XKRX")
    return {
        label.date(): (_to_utc(ts_open), _to_utc(ts_close))
        for label, ts_open, ts_close in zip(calendar.opens.index, calendar.opens, calendar.closes, strict=True)
    }


def _to_utc(value: Any) -> datetime:
    ts: datetime = value.to_pydatetime()
    return ts.astimezone(UTC)


def session_for(day: date) -> TradingSession:
    """Return the KRX session of the KST date `day`: the calendar's hours (exam days one hour later), or
    09:00–15:30 KST without them."""
    hours = _xkrx_hours().get(day)
    if hours is None:
        hours = (kst_datetime(day, FALLBACK_OPEN_KST), kst_datetime(day, FALLBACK_CLOSE_KST))
    if day in CSAT_DAYS_AFTER_LIBRARY and hours[0] == kst_datetime(day, FALLBACK_OPEN_KST):
        hours = (hours[0] + CSAT_DELAY, hours[1] + CSAT_DELAY)
    return TradingSession(
        trading_date=day,
        ts_open=hours[0],
        ts_close=hours[1],
        phases=krx_phases(hours[0], hours[1]),
        orders_expire_at_close=True,
    )


def is_trading_day(day: date) -> bool:
    """Return True when the XKRX calendar has a session on the KST date `day` (False outside its range)."""
    return day in _xkrx_hours()


def pre_open(session: TradingSession) -> datetime:
    """Return when `session` starts accepting orders: its pre-open, 30 minutes before the open (08:30 KST
    normally)."""
    return session.ts_first_order


def next_session(after: datetime) -> TradingSession | None:
    """Return the first KRX session whose close is later than `after` (aware), or None beyond the calendar.

    Weekends and KRX holidays are skipped by the XKRX calendar (`exchange_calendars`); nothing is guessed
    past its last day, so a daemon never trades on a day the calendar does not know.
    """
    hours = _xkrx_hours()
    day = after.astimezone(UTC).date() - timedelta(days=1)
    for _ in range(30):  # the longest KRX closure (Chuseok + weekend) is far shorter
        day += timedelta(days=1)
        if day in hours and hours[day][1] > after:
            return session_for(day)
    return None
