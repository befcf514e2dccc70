"""KRX session phases and which order types each accepts (pure rules; the calendar lookup is an adapter).

A KRX regular session, with the open and close the calendar gives (09:00 and 15:30 KST normally; 10:00 on
the first trading day of a year; 10:00-16:30 on the college entrance exam day):

| phase | normal hours (KST) | relative to the calendar | our LIMIT / MARKET orders |
| --- | --- | --- | --- |
| pre-open auction (장전 동시호가) | 08:30-09:00 | open - 30 min .. open | accepted (into the opening auction) |
| continuous (정규장 접속매매) | 09:00-15:20 | open .. close - 10 min | accepted |
| closing auction (장마감 동시호가) | 15:20-15:30 | close - 10 min .. close | accepted |
| after hours (시간외 종가 / 단일가) | 15:40-18:00 | close .. close + 150 min | refused: needs KIS ORD_DVSN 06/07 |
| closed | otherwise | | refused |

Source: KRX trading hours (../reference/kis-openapi.md §7.1 table of sessions); the phases are kept
relative to the calendar's open and close so late opens move them along [the pre-open on a late-open day
starting 30 minutes before the open is an assumption, ?].
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stock_manager.domain.model import OrderType

PRE_OPEN_AUCTION = timedelta(minutes=30)
CLOSING_AUCTION = timedelta(minutes=10)
AFTER_HOURS = timedelta(minutes=150)


class MarketPhase(StrEnum):
    """Where a moment falls in a KRX trading day."""

    PRE_OPEN_AUCTION = "PRE_OPEN_AUCTION"
    CONTINUOUS = "CONTINUOUS"
    CLOSING_AUCTION = "CLOSING_AUCTION"
    AFTER_HOURS = "AFTER_HOURS"
    CLOSED = "CLOSED"

    def __str__(self) -> str:
        return self.value


#: Order types each phase accepts from us (we send only KIS ORD_DVSN 00 limit and 01 market).
ORDER_TYPES_BY_PHASE: dict[MarketPhase, frozenset[OrderType]] = {
    MarketPhase.PRE_OPEN_AUCTION: frozenset({OrderType.LIMIT, OrderType.MARKET}),
    MarketPhase.CONTINUOUS: frozenset({OrderType.LIMIT, OrderType.MARKET}),
    MarketPhase.CLOSING_AUCTION: frozenset({OrderType.LIMIT, OrderType.MARKET}),
    MarketPhase.AFTER_HOURS: frozenset(),
    MarketPhase.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class SessionHours:
    """One trading day's regular session: aware UTC open and close from the calendar."""

    ts_open: datetime
    ts_close: datetime

    def __post_init__(self) -> None:
        if self.ts_open.tzinfo is None or self.ts_close.tzinfo is None:
            raise ValueError("session hours must be timezone-aware")
        if self.ts_close <= self.ts_open:
            raise ValueError(f"session closes ({self.ts_close}) before it opens ({self.ts_open})")

    @property
    def ts_pre_open(self) -> datetime:
        """Return when the pre-open auction starts accepting orders (open - 30 min)."""
        return self.ts_open - PRE_OPEN_AUCTION

    @property
    def ts_closing_auction(self) -> datetime:
        """Return when the closing auction starts (close - 10 min)."""
        return self.ts_close - CLOSING_AUCTION

    def phase_at(self, ts: datetime) -> MarketPhase:
        """Return the phase of the aware time `ts` on this session's day (start inclusive, end exclusive)."""
        if self.ts_pre_open <= ts < self.ts_open:
            return MarketPhase.PRE_OPEN_AUCTION
        if self.ts_open <= ts < self.ts_closing_auction:
            return MarketPhase.CONTINUOUS
        if self.ts_closing_auction <= ts < self.ts_close:
            return MarketPhase.CLOSING_AUCTION
        if self.ts_close <= ts < self.ts_close + AFTER_HOURS:
            return MarketPhase.AFTER_HOURS
        return MarketPhase.CLOSED


def order_type_allowed(phase: MarketPhase, order_type: OrderType) -> bool:
    """Return True when an order of `order_type` may be sent during `phase`."""
    return order_type in ORDER_TYPES_BY_PHASE[phase]
