"""Trading sessions and their phases: when a venue takes which orders (pure rules; calendars are adapters).

A `TradingSession` is one trading day of one venue: its date, its open and close (aware UTC) and the phases
its hours fall into, each with the order types the venue takes from us then. A stock exchange has a pre-open
auction, a continuous session, a closing auction and after-hours; a market that never closes has one
continuous phase from one day boundary to the next (minus maintenance windows). Whether working orders
expire at the close (day orders) is the session's too. The venue adapters build sessions from their
calendars.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from stock_manager.domain.model import OrderType


class MarketPhase(StrEnum):
    """Where a moment falls in a trading day."""

    PRE_OPEN_AUCTION = "PRE_OPEN_AUCTION"
    CONTINUOUS = "CONTINUOUS"
    CLOSING_AUCTION = "CLOSING_AUCTION"
    AFTER_HOURS = "AFTER_HOURS"
    MAINTENANCE = "MAINTENANCE"
    CLOSED = "CLOSED"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class PhaseWindow:
    """One phase of a session: from `ts_start` (inclusive) to `ts_end` (exclusive), aware UTC."""

    phase: MarketPhase
    ts_start: datetime
    ts_end: datetime
    order_types: frozenset[OrderType] = frozenset()


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One trading day of a venue.

    Attributes
    ----------
    trading_date : date
        The venue's trading date (its own day boundary).
    ts_open, ts_close : datetime
        Aware UTC start of continuous trading and the close (the end of the trading day for a 24/7 market).
    phases : tuple[PhaseWindow, ...]
        The session's phases in time order; a moment outside all of them is CLOSED (no order).
    orders_expire_at_close : bool
        True for day orders (the venue cancels every working order at the close); False where orders live on.

    Raises
    ------
    ValueError
        If a time is naive or the session closes before it opens.
    """

    trading_date: date
    ts_open: datetime
    ts_close: datetime
    phases: tuple[PhaseWindow, ...] = field(default=())
    orders_expire_at_close: bool = True

    def __post_init__(self) -> None:
        if self.ts_open.tzinfo is None or self.ts_close.tzinfo is None:
            raise ValueError("session hours must be timezone-aware")
        if self.ts_close <= self.ts_open:
            raise ValueError(f"session closes ({self.ts_close}) before it opens ({self.ts_open})")

    @property
    def ts_first_order(self) -> datetime:
        """Return the first moment any phase takes orders (the pre-open where there is one); the open without
        phases."""
        starts = [w.ts_start for w in self.phases if w.order_types]
        return min(starts) if starts else self.ts_open

    def window_at(self, ts: datetime) -> PhaseWindow | None:
        """Return the phase window holding the aware time `ts`, or None (closed)."""
        for window in self.phases:
            if window.ts_start <= ts < window.ts_end:
                return window
        return None

    def phase_at(self, ts: datetime) -> MarketPhase:
        """Return the phase at the aware time `ts` (start inclusive, end exclusive)."""
        window = self.window_at(ts)
        return window.phase if window is not None else MarketPhase.CLOSED

    def accepts(self, ts: datetime, order_type: OrderType) -> bool:
        """Return True when the venue takes an order of `order_type` from us at `ts`."""
        window = self.window_at(ts)
        return window is not None and order_type in window.order_types


def continuous_session(
    trading_date: date,
    ts_open: datetime,
    ts_close: datetime,
    order_types: Sequence[OrderType] = (OrderType.LIMIT, OrderType.MARKET),
    *,
    orders_expire_at_close: bool = False,
) -> TradingSession:
    """Return a session that takes `order_types` from its open to its close with no other phase."""
    window = PhaseWindow(MarketPhase.CONTINUOUS, ts_open, ts_close, frozenset(order_types))
    return TradingSession(trading_date, ts_open, ts_close, (window,), orders_expire_at_close)
