"""KRX session phases and the order types each accepts (kis-openapi.md §7.1), also on late-open days."""

from datetime import date, time

import pytest

from stock_manager.domain.clock import kst_datetime
from stock_manager.domain.model import OrderType
from stock_manager.domain.sessions import MarketPhase, SessionHours, order_type_allowed

DAY = date(2024, 3, 4)
NORMAL = SessionHours(kst_datetime(DAY, time(9, 0)), kst_datetime(DAY, time(15, 30)))
CSAT = SessionHours(kst_datetime(DAY, time(10, 0)), kst_datetime(DAY, time(16, 30)))


@pytest.mark.parametrize(("at", "phase"), [
    (time(8, 29, 59), MarketPhase.CLOSED), (time(8, 30), MarketPhase.PRE_OPEN_AUCTION),
    (time(8, 59, 59), MarketPhase.PRE_OPEN_AUCTION), (time(9, 0), MarketPhase.CONTINUOUS),
    (time(15, 19, 59), MarketPhase.CONTINUOUS), (time(15, 20), MarketPhase.CLOSING_AUCTION),
    (time(15, 29, 59), MarketPhase.CLOSING_AUCTION), (time(15, 30), MarketPhase.AFTER_HOURS),
    (time(17, 59, 59), MarketPhase.AFTER_HOURS), (time(18, 0), MarketPhase.CLOSED),
])
def test_phase_at_when_normal_day_then_krx_hours(at, phase):
    assert NORMAL.phase_at(kst_datetime(DAY, at)) is phase


@pytest.mark.parametrize(("at", "phase"), [
    (time(9, 0), MarketPhase.CLOSED), (time(9, 30), MarketPhase.PRE_OPEN_AUCTION),
    (time(10, 0), MarketPhase.CONTINUOUS), (time(16, 20), MarketPhase.CLOSING_AUCTION),
    (time(16, 30), MarketPhase.AFTER_HOURS),
])
def test_phase_at_when_exam_day_opens_late_then_every_phase_moves_with_it(at, phase):
    assert CSAT.phase_at(kst_datetime(DAY, at)) is phase


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.MARKET])
def test_order_type_allowed_when_auction_or_continuous_then_yes_after_hours_or_closed_then_no(order_type):
    assert all(order_type_allowed(p, order_type) for p in (
        MarketPhase.PRE_OPEN_AUCTION, MarketPhase.CONTINUOUS, MarketPhase.CLOSING_AUCTION))
    assert not any(order_type_allowed(p, order_type) for p in (MarketPhase.AFTER_HOURS, MarketPhase.CLOSED))


def test_session_hours_when_close_not_after_open_then_refused():
    with pytest.raises(ValueError, match="before it opens"):
        SessionHours(NORMAL.ts_close, NORMAL.ts_open)
