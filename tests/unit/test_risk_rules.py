"""Pre-trade risk rules at and around their limits (spec 000 §7, 001 §11, PRD §3.5, §15)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import (
    MarketSnapshot,
    OrderProposal,
    RiskLimits,
    RiskState,
    SymbolFailures,
    daily_loss_limit_breached,
)
from stock_manager.domain.risk_rules import check_order
from stock_manager.domain.sessions import MarketPhase

NOW = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)  # 10:00 KST
LIMITS = RiskLimits(
    max_open_positions=2,
    max_quantity_per_symbol=Decimal(100),
    daily_loss_limit_pct=Decimal(2),
    max_value_per_symbol_krw=Decimal(3_000_000),
    max_symbol_weight_pct=Decimal(20),
    max_order_value_krw=Decimal(1_500_000),
    price_collar_pct=Decimal(5),
    max_quote_age_secs=60,
    max_orders_per_minute=3,
    cooldown_after_failures=3,
    cooldown_secs=300,
)
QUOTE = MarketSnapshot(Decimal(60_000), NOW, lower_limit=Decimal(42_000), upper_limit=Decimal(78_000))


#: What a KRX phase takes from us (the venue's phases carry it).
ACCEPTED = {
    p: frozenset({OrderType.LIMIT, OrderType.MARKET})
    for p in (MarketPhase.PRE_OPEN_AUCTION, MarketPhase.CONTINUOUS, MarketPhase.CLOSING_AUCTION)
}


def state(
    positions=None,
    working=None,
    realized="0",
    equity="10000000",
    stopped=False,
    *,
    phase=MarketPhase.CONTINUOUS,
    market=None,
    recent=(),
    failures=None,
    unrealized="0",
    working_value=None,
) -> RiskState:
    held = {s: Position("A", s, quantity=Decimal(q), avg_price=Decimal(60_000)) for s, q in (positions or {}).items()}
    return RiskState(
        held,
        {s: Decimal(q) for s, q in (working or {}).items()},
        Decimal(realized),
        Decimal(equity),
        stopped,
        now=NOW,
        phase=phase,
        order_types_now=ACCEPTED.get(phase, frozenset()),
        market=market if market is not None else {s: QUOTE for s in ("005930", "000660", "035420")},
        working_buy_value_krw={s: Decimal(v) for s, v in (working_value or {}).items()},
        recent_orders=tuple(recent),
        failures=failures or {},
        unrealized_pnl_krw=Decimal(unrealized),
    )


def buy(symbol="005930", qty=10, price="60000", order_type=OrderType.LIMIT) -> OrderProposal:
    return OrderProposal(symbol, Side.BUY, Intent.ENTRY, Decimal(qty), Decimal(price), order_type)


def sell(symbol="005930", qty=10, price="60000", order_type=OrderType.LIMIT) -> OrderProposal:
    return OrderProposal(symbol, Side.SELL, Intent.EXIT, Decimal(qty), Decimal(price), order_type)


def rule_of(proposal: OrderProposal, s: RiskState, limits: RiskLimits = LIMITS) -> str | None:
    denial = check_order(proposal, s, limits)
    return None if denial is None else denial.rule


def test_check_order_when_nothing_breached_then_allowed():
    assert check_order(buy(), state(), LIMITS) is None


# -- STOP MODE AND SESSION PHASE --------------------------------------------------------------------------


def test_stop_mode_when_set_then_even_exits_denied():
    assert rule_of(sell(), state(positions={"005930": 10}, stopped=True)) == "stop_mode"


@pytest.mark.parametrize(
    ("phase", "allowed"),
    [
        (MarketPhase.PRE_OPEN_AUCTION, True),
        (MarketPhase.CONTINUOUS, True),
        (MarketPhase.CLOSING_AUCTION, True),
        (MarketPhase.AFTER_HOURS, False),
        (MarketPhase.CLOSED, False),
        (None, False),
    ],
)
@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.MARKET])
def test_session_phase_when_phase_does_not_take_the_order_type_then_denied(phase, allowed, order_type):
    decision = rule_of(buy(order_type=order_type), state(phase=phase))
    assert (decision is None) is allowed
    if not allowed:
        assert decision == "session_phase"


# -- MARKET DATA ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("age_secs", "denied"), [(0, False), (60, False), (61, True)])
def test_stale_market_data_when_last_tick_older_than_limit_then_denied_even_for_exits(age_secs, denied):
    old = {"005930": replace(QUOTE, ts_last=NOW - timedelta(seconds=age_secs))}
    assert (rule_of(buy(), state(market=old)) == "stale_market_data") is denied
    assert (rule_of(sell(), state(positions={"005930": 10}, market=old)) == "stale_market_data") is denied


def test_stale_market_data_when_no_data_for_symbol_then_denied():
    assert rule_of(buy("000660"), state(market={})) == "stale_market_data"


def test_stale_market_data_when_rule_off_then_age_ignored():
    old = {"005930": replace(QUOTE, ts_last=NOW - timedelta(hours=1))}
    assert rule_of(buy(), state(market=old), replace(LIMITS, max_quote_age_secs=None)) is None


@pytest.mark.parametrize(("price", "denied"), [("63000", False), ("63100", True), ("57000", False), ("56900", True)])
def test_price_collar_when_limit_more_than_five_percent_from_last_then_denied(price, denied):
    assert (rule_of(buy(price=price), state()) == "price_collar") is denied
    assert (rule_of(sell(price=price), state(positions={"005930": 10})) == "price_collar") is denied


@pytest.mark.parametrize(("price", "denied"), [("78000", False), ("78100", True), ("42000", False), ("41950", True)])
def test_price_collar_when_outside_days_price_limits_then_denied_even_with_collar_off(price, denied):
    limits = replace(
        LIMITS,
        price_collar_pct=None,
        max_order_value_krw=None,
        max_value_per_symbol_krw=None,
        max_symbol_weight_pct=None,
    )
    assert (rule_of(buy(qty=1, price=price), state(), limits) == "price_collar") is denied


def test_price_collar_when_market_order_then_not_applied():
    assert rule_of(sell(price="1", order_type=OrderType.MARKET), state(positions={"005930": 10})) is None


# -- THROTTLE AND COOLDOWN ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "denied"),
    [
        ([NOW - timedelta(seconds=s) for s in (1, 2)], False),
        ([NOW - timedelta(seconds=s) for s in (1, 2, 3)], True),
        ([NOW - timedelta(seconds=s) for s in (1, 2, 60)], False),  # 60 s ago is outside the window
    ],
)
def test_order_rate_when_orders_in_last_minute_reach_maximum_then_denied(recent, denied):
    assert (rule_of(sell(), state(positions={"005930": 10}, recent=recent)) == "order_rate") is denied


@pytest.mark.parametrize(
    ("count", "since_secs", "denied"), [(2, 10, False), (3, 10, True), (3, 299, True), (3, 300, False), (5, 301, False)]
)
def test_cooldown_when_symbol_failed_three_times_then_denied_for_five_minutes(count, since_secs, denied):
    failures = {"005930": SymbolFailures(count, NOW - timedelta(seconds=since_secs))}
    assert (rule_of(buy(), state(failures=failures)) == "cooldown") is denied


def test_cooldown_when_other_symbol_failed_then_allowed():
    failures = {"000660": SymbolFailures(5, NOW)}
    assert rule_of(buy("005930"), state(failures=failures)) is None


# -- DAILY LOSS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("realized", "denied"), [("-199999", False), ("-200000", True), ("-250000", True)])
def test_daily_loss_limit_when_realized_loss_reaches_two_percent_then_entries_denied(realized, denied):
    assert (rule_of(buy(), state(realized=realized)) == "daily_loss_limit") is denied


def test_daily_loss_limit_when_breached_then_exits_still_allowed():
    assert check_order(sell(), state(positions={"005930": 10}, realized="-300000"), LIMITS) is None


@pytest.mark.parametrize(
    ("unrealized", "included", "breached"),
    [("-100001", False, False), ("-100000", True, True), ("-99999", True, False)],
)
def test_daily_loss_limit_when_unrealized_included_then_it_counts(unrealized, included, breached):
    limits = replace(LIMITS, daily_loss_includes_unrealized=included)
    assert daily_loss_limit_breached(state(realized="-100000", unrealized=unrealized), limits) is breached


def test_daily_loss_limit_when_equity_unknown_or_rule_off_then_never_breached():
    assert not daily_loss_limit_breached(state(realized="-1000000", equity="0"), LIMITS)
    assert not daily_loss_limit_breached(state(realized="-1000000"), replace(LIMITS, daily_loss_limit_pct=None))


# -- EXPOSURE ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("qty", "denied"), [(25, False), (26, True)])
def test_max_order_value_when_notional_above_maximum_then_entry_denied(qty, denied):
    # 25 × 60,000 = 1,500,000 KRW, exactly the maximum.
    assert (rule_of(buy(qty=qty), state()) == "max_order_value") is denied


def test_max_order_value_when_exit_then_not_applied():
    assert rule_of(sell(qty=100), state(positions={"005930": 100})) is None


def test_max_open_positions_when_at_limit_then_new_symbol_denied_but_held_symbol_allowed():
    s = state(positions={"005930": 10}, working={"000660": 5})
    assert rule_of(buy("035420"), s) == "max_open_positions"
    assert rule_of(buy("005930"), s) is None


def test_max_open_positions_when_one_below_limit_then_allowed():
    assert rule_of(buy("035420"), state(positions={"005930": 10})) is None


@pytest.mark.parametrize(
    ("held", "working", "qty", "denied"), [(5, 4, 1, False), (50, 40, 11, True), (0, 0, 25, False), (90, 0, 11, True)]
)
def test_max_quantity_per_symbol_when_total_crosses_limit_then_denied(held, working, qty, denied):
    limits = replace(LIMITS, max_value_per_symbol_krw=None, max_symbol_weight_pct=None, max_order_value_krw=None)
    s = state(positions={"005930": held} if held else {}, working={"005930": working} if working else {})
    assert (rule_of(buy(qty=qty), s, limits) == "max_quantity_per_symbol") is denied


@pytest.mark.parametrize(
    ("held", "working_value", "qty", "denied"),
    [
        (25, 0, 25, False),  # 1,500,000 held at cost + 1,500,000 proposed = 3,000,000: the maximum
        (25, 60_000, 24, False),
        (25, 60_001, 24, True),
        (26, 0, 25, True),
    ],
)
def test_max_value_per_symbol_when_held_working_and_proposed_above_maximum_then_denied(
    held, working_value, qty, denied
):
    limits = replace(LIMITS, max_symbol_weight_pct=None)
    s = state(
        positions={"005930": held},
        working={"005930": 1} if working_value else {},
        working_value={"005930": working_value} if working_value else {},
    )
    assert (rule_of(buy(qty=qty), s, limits) == "max_value_per_symbol") is denied


@pytest.mark.parametrize(("held", "qty", "denied"), [(10, 23, False), (10, 24, True), (0, 33, False), (0, 34, True)])
def test_max_symbol_weight_when_symbol_above_twenty_percent_of_equity_then_denied(held, qty, denied):
    # 20 % of 10,000,000 KRW is 2,000,000 KRW: 33 shares at 60,000 (1,980,000) fit, 34 do not.
    limits = replace(LIMITS, max_order_value_krw=None, max_value_per_symbol_krw=None)
    s = state(positions={"005930": held} if held else {})
    assert (rule_of(buy(qty=qty), s, limits) == "max_symbol_weight") is denied


def test_max_symbol_weight_when_valued_then_last_price_used_not_limit():
    # A limit above the last price does not count against the weight: the position is valued at market.
    limits = replace(LIMITS, max_order_value_krw=None)
    assert rule_of(buy(qty=33, price="62000"), state(), limits) is None


def test_max_symbol_weight_when_equity_unknown_then_buy_denied():
    assert rule_of(buy(), state(equity="0")) == "max_symbol_weight"


def test_limits_when_every_exposure_rule_off_then_large_buy_allowed():
    limits = RiskLimits(
        max_open_positions=None,
        max_quantity_per_symbol=None,
        daily_loss_limit_pct=None,
        max_value_per_symbol_krw=None,
        max_symbol_weight_pct=None,
        max_order_value_krw=None,
        price_collar_pct=None,
        max_quote_age_secs=None,
        max_orders_per_minute=None,
        cooldown_after_failures=None,
    )
    assert rule_of(buy(qty=100_000), state(equity="0", realized="-9999999"), limits) is None
