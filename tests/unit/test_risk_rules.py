"""Pre-trade risk rules at and around their limits (spec 001 §11)."""

from decimal import Decimal

import pytest

from stock_manager.domain.model import Intent, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import OrderProposal, RiskLimits, RiskState, check_order

LIMITS = RiskLimits(max_open_positions=2, max_quantity_per_symbol=Decimal(100), daily_loss_limit_pct=Decimal(2))


def state(positions=None, working=None, realized="0", equity="10000000", stopped=False) -> RiskState:
    held = {s: Position("A", s, quantity=Decimal(q), avg_price=Decimal(1000)) for s, q in (positions or {}).items()}
    return RiskState(held, {s: Decimal(q) for s, q in (working or {}).items()}, Decimal(realized), Decimal(equity),
                     stopped)


def buy(symbol="005930", qty=10) -> OrderProposal:
    return OrderProposal(symbol, Side.BUY, Intent.ENTRY, Decimal(qty), Decimal(60000))


def sell(symbol="005930", qty=10) -> OrderProposal:
    return OrderProposal(symbol, Side.SELL, Intent.EXIT, Decimal(qty), Decimal(60000))


def test_check_order_when_nothing_breached_then_allowed():
    assert check_order(buy(), state(), LIMITS) is None


@pytest.mark.parametrize(("realized", "denied"), [("-199999", False), ("-200000", True), ("-250000", True)])
def test_daily_loss_limit_when_realized_loss_reaches_two_percent_then_entries_denied(realized, denied):
    decision = check_order(buy(), state(realized=realized), LIMITS)
    assert (decision is not None and decision.rule == "daily_loss_limit") is denied


def test_daily_loss_limit_when_breached_then_exits_still_allowed():
    assert check_order(sell(), state(positions={"005930": 10}, realized="-300000"), LIMITS) is None


def test_max_open_positions_when_at_limit_then_new_symbol_denied_but_held_symbol_allowed():
    s = state(positions={"005930": 10}, working={"000660": 5})
    assert check_order(buy("035420"), s, LIMITS).rule == "max_open_positions"
    assert check_order(buy("005930"), s, LIMITS) is None


def test_max_open_positions_when_one_below_limit_then_allowed():
    assert check_order(buy("035420"), state(positions={"005930": 10}), LIMITS) is None


@pytest.mark.parametrize(("held", "working", "qty", "denied"),
                         [(50, 40, 10, False), (50, 40, 11, True), (0, 0, 100, False), (0, 0, 101, True)])
def test_max_quantity_per_symbol_when_total_crosses_limit_then_denied(held, working, qty, denied):
    s = state(positions={"005930": held} if held else {}, working={"005930": working} if working else {})
    decision = check_order(buy(qty=qty), s, LIMITS)
    assert (decision is not None and decision.rule == "max_quantity_per_symbol") is denied


def test_stop_mode_when_set_then_even_exits_denied():
    decision = check_order(sell(), state(positions={"005930": 10}, stopped=True), LIMITS)
    assert decision is not None and decision.rule == "stop_mode"
