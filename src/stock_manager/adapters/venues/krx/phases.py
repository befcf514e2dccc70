"""KRX session phases and which of our order types each accepts.

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

from datetime import date, datetime, timedelta

from stock_manager.domain.model import OrderType
from stock_manager.domain.sessions import MarketPhase, PhaseWindow, TradingSession

PRE_OPEN_AUCTION = timedelta(minutes=30)
CLOSING_AUCTION = timedelta(minutes=10)
AFTER_HOURS = timedelta(minutes=150)

#: We send only KIS ORD_DVSN 00 (limit) and 01 (market).
_OURS = frozenset({OrderType.LIMIT, OrderType.MARKET})


def krx_phases(ts_open: datetime, ts_close: datetime) -> tuple[PhaseWindow, ...]:
    """Return the phases of a regular session opening at `ts_open` and closing at `ts_close` (aware)."""
    auction = ts_close - CLOSING_AUCTION
    return (
        PhaseWindow(MarketPhase.PRE_OPEN_AUCTION, ts_open - PRE_OPEN_AUCTION, ts_open, _OURS),
        PhaseWindow(MarketPhase.CONTINUOUS, ts_open, auction, _OURS),
        PhaseWindow(MarketPhase.CLOSING_AUCTION, auction, ts_close, _OURS),
        PhaseWindow(MarketPhase.AFTER_HOURS, ts_close, ts_close + AFTER_HOURS, frozenset()),
    )


def krx_session(trading_date: date, ts_open: datetime, ts_close: datetime) -> TradingSession:
    """Return a KRX regular session of `trading_date` opening and closing at the given aware times."""
    return TradingSession(trading_date, ts_open, ts_close, krx_phases(ts_open, ts_close), orders_expire_at_close=True)
