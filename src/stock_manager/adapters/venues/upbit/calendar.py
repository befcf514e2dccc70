"""Upbit's trading days: a market that never closes, cut into days at 00:00 UTC (09:00 KST), minus maintenance.

Upbit trades around the clock; its day candles and ticker statistics restart at 00:00 UTC (§3.2, §3.4), so a
trading day runs 00:00 → 24:00 UTC and the daily decision is taken when it ends. Each day is one continuous
phase that accepts our LIMIT and MARKET orders, except during announced maintenance windows (phase
MAINTENANCE, no order type; Upbit answers 403 ``market_offline`` then). Working orders live on from one day to
the next (``orders_expire_at_close`` is False). Maintenance is announced by notice, so windows are
configuration (`parse_maintenance`), none by default.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import OrderType
from stock_manager.domain.sessions import MarketPhase, PhaseWindow, TradingSession

#: Our order types Upbit takes at any time outside maintenance (LIMIT: ``limit``; MARKET: ``price``/``market``).
ORDER_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET})


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A maintenance period, aware UTC, `start` inclusive, `end` exclusive.

    Raises
    ------
    ValueError
        If a time is naive or `end` is not after `start`.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("maintenance windows need timezone-aware times")
        if self.end <= self.start:
            raise ValueError(f"maintenance window ends ({self.end}) before it starts ({self.start})")


def session_for(day: date, maintenance: Sequence[MaintenanceWindow] = ()) -> TradingSession:
    """Return Upbit's trading day `day`: 00:00 → 24:00 UTC, continuous, minus the `maintenance` windows."""
    ts_open, ts_close = UPBIT_DAY.start_of(day), UPBIT_DAY.start_of(day + timedelta(days=1))
    cuts = sorted(
        (max(w.start, ts_open), min(w.end, ts_close)) for w in maintenance if w.start < ts_close and w.end > ts_open
    )
    phases: list[PhaseWindow] = []
    cursor = ts_open
    for start, end in cuts:
        if start > cursor:
            phases.append(PhaseWindow(MarketPhase.CONTINUOUS, cursor, start, ORDER_TYPES))
        if end > max(start, cursor):
            phases.append(PhaseWindow(MarketPhase.MAINTENANCE, max(start, cursor), end))
        cursor = max(cursor, end)
    if cursor < ts_close:
        phases.append(PhaseWindow(MarketPhase.CONTINUOUS, cursor, ts_close, ORDER_TYPES))
    return TradingSession(
        trading_date=day, ts_open=ts_open, ts_close=ts_close, phases=tuple(phases), orders_expire_at_close=False
    )


def next_session(after: datetime, maintenance: Sequence[MaintenanceWindow] = ()) -> TradingSession:
    """Return the first session whose close is later than `after` (aware): the UTC day holding `after`.

    A market that never closes always has one, so this never returns None (unlike a stock exchange's calendar).

    Raises
    ------
    ValueError
        If `after` is naive.
    """
    return session_for(UPBIT_DAY.date_of(after), maintenance)


class UpbitCalendar:
    """Sessions with a fixed set of maintenance windows (what a `CalendarSchedule` and a replay are given).

    Parameters
    ----------
    maintenance : Sequence[MaintenanceWindow]
        Announced maintenance windows (none by default).
    """

    def __init__(self, maintenance: Sequence[MaintenanceWindow] = ()) -> None:
        self.maintenance = tuple(maintenance)

    def session_for(self, day: date) -> TradingSession:
        """Return trading day `day` (see the module function)."""
        return session_for(day, self.maintenance)

    def next_session(self, after: datetime) -> TradingSession:
        """Return the session holding `after` (see the module function)."""
        return next_session(after, self.maintenance)


def parse_maintenance(text: str) -> tuple[MaintenanceWindow, ...]:
    """Return the windows of a setting like ``"2025-03-01T00:00Z/2025-03-01T02:00Z, …"`` (ISO 8601 intervals,
    comma-separated, each time with its zone; an empty text is no window).

    Raises
    ------
    ConfigurationError
        Naming the interval that is not two aware ISO times with the end after the start.
    """
    windows = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        start_text, sep, end_text = part.partition("/")
        try:
            if not sep:
                raise ValueError("expected <start>/<end>")
            start, end = (datetime.fromisoformat(t.strip().replace("Z", "+00:00")) for t in (start_text, end_text))
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("each time needs its zone (Z or +09:00)")
            windows.append(MaintenanceWindow(start.astimezone(UTC), end.astimezone(UTC)))
        except ValueError as e:
            raise ConfigurationError(f"maintenance window {part!r} is not valid: {e}") from None
    return tuple(sorted(windows, key=lambda w: w.start))
