"""The owner's time zone: every time is stored in UTC and shown in KST (Asia/Seoul, UTC+9, no DST).

For display and for venues whose trading date is the Korean calendar date; the domain and the service
layer never use it (a venue's trading date comes from its adapter, see `domain.clock.DayBoundary`).
"""

from datetime import UTC, date, datetime, time, timedelta, timezone

KST = timezone(timedelta(hours=9), name="KST")


def kst_datetime(day: date, at: time) -> datetime:
    """Return the aware UTC datetime of the KST wall time `at` on `day`."""
    return datetime.combine(day, at, tzinfo=KST).astimezone(UTC)


def kst_date(ts: datetime) -> date:
    """Return the KST calendar date of the aware datetime `ts`.

    Raises
    ------
    ValueError
        If `ts` is naive.
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"naive datetime was given: {ts!r}; times must be timezone-aware")
    return ts.astimezone(KST).date()


def show_kst(ts: datetime, fmt: str = "%Y-%m-%d %H:%M:%S KST") -> str:
    """Return the aware `ts` as KST wall time text."""
    return ts.astimezone(KST).strftime(fmt)


def show_kst_utc(ts: datetime) -> str:
    """Return the aware `ts` in both zones, ``2024-03-09 04:52:30 KST (2024-03-08 19:52:30 UTC)`` (spec 004 §1:
    Upbit's events and reports show both)."""
    return f"{show_kst(ts)} ({ts.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC)"
