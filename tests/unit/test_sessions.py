"""Session phases and the order types each accepts: the KRX phases (kis-openapi.md §7.1), also on late-open
days, and a market that never closes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.domain.model import OrderType
from stock_manager.domain.sessions import MarketPhase, TradingSession, continuous_session
from stock_manager.localtime import kst_datetime

DAY = date(2024, 3, 4)
NORMAL = krx_session(DAY, kst_datetime(DAY, time(9, 0)), kst_datetime(DAY, time(15, 30)))
CSAT = krx_session(DAY, kst_datetime(DAY, time(10, 0)), kst_datetime(DAY, time(16, 30)))


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        (time(8, 29, 59), MarketPhase.CLOSED),
        (time(8, 30), MarketPhase.PRE_OPEN_AUCTION),
        (time(8, 59, 59), MarketPhase.PRE_OPEN_AUCTION),
        (time(9, 0), MarketPhase.CONTINUOUS),
        (time(15, 19, 59), MarketPhase.CONTINUOUS),
        (time(15, 20), MarketPhase.CLOSING_AUCTION),
        (time(15, 29, 59), MarketPhase.CLOSING_AUCTION),
        (time(15, 30), MarketPhase.AFTER_HOURS),
        (time(17, 59, 59), MarketPhase.AFTER_HOURS),
        (time(18, 0), MarketPhase.CLOSED),
    ],
)
def test_phase_at_when_normal_day_then_krx_hours(at, phase):
    assert NORMAL.phase_at(kst_datetime(DAY, at)) is phase


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        (time(9, 0), MarketPhase.CLOSED),
        (time(9, 30), MarketPhase.PRE_OPEN_AUCTION),
        (time(10, 0), MarketPhase.CONTINUOUS),
        (time(16, 20), MarketPhase.CLOSING_AUCTION),
        (time(16, 30), MarketPhase.AFTER_HOURS),
    ],
)
def test_phase_at_when_exam_day_opens_late_then_every_phase_moves_with_it(at, phase):
    assert CSAT.phase_at(kst_datetime(DAY, at)) is phase


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.MARKET])
def test_accepts_when_auction_or_continuous_then_yes_after_hours_or_closed_then_no(order_type):
    assert all(NORMAL.accepts(kst_datetime(DAY, at), order_type) for at in (time(8, 30), time(9, 0), time(15, 20)))
    assert not any(NORMAL.accepts(kst_datetime(DAY, at), order_type) for at in (time(8, 29), time(15, 30), time(18, 0)))
    assert NORMAL.ts_first_order == kst_datetime(DAY, time(8, 30))


def test_continuous_session_when_market_never_closes_then_every_moment_takes_orders_and_nothing_expires():
    start = datetime(2024, 3, 4, tzinfo=UTC)  # 09:00 KST: an Upbit day boundary
    day = continuous_session(DAY, start, start + timedelta(days=1))

    assert day.accepts(start, OrderType.LIMIT) and day.accepts(
        start + timedelta(hours=23, minutes=59), OrderType.MARKET
    )
    assert not day.accepts(start + timedelta(days=1), OrderType.LIMIT)  # the next day's session takes it
    assert day.orders_expire_at_close is False


def test_session_when_close_not_after_open_then_refused():
    with pytest.raises(ValueError, match="before it opens"):
        TradingSession(DAY, NORMAL.ts_close, NORMAL.ts_open)
