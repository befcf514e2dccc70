"""The pre-trade risk rules as pure functions: a strategy proposes, these decide (spec 000 §7, 001 §11, PRD §3.5).

Each rule returns None (allow) or a `RiskDenial` that names the rule and says why; `check_order` runs them in
`PRE_TRADE_RULES` order and the first denial wins. Execution records every denial (an event and a
``risk_events`` row with the inputs) and never sends a denied order. A limit set to None is off. Which orders
a rule looks at:

- every order: stop mode, the session phase, stale market data, the order-rate throttle, the per-symbol
  cooldown after failed orders; the price collar for every priced (LIMIT) order;
- entries and buys only (they add exposure; an EXIT reduces it): the daily loss limit, the maximum order
  value, the number of open positions, the per-symbol quantity and value and the symbol's weight.
"""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.risk import (
    OrderProposal,
    RiskDenial,
    RiskLimits,
    RiskRule,
    RiskState,
    daily_loss_krw,
    daily_loss_limit_breached,
)


def _adds_exposure(proposal: OrderProposal) -> bool:
    return proposal.intent is not Intent.EXIT and proposal.side is Side.BUY


def check_stop_mode(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny every order while the daemon is in stop mode."""
    if state.stopped:
        return RiskDenial("stop_mode", "trading is stopped for this session; no new order is sent")
    return None


def check_session_phase(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an order the current session phase does not accept (or when the phase is unknown)."""
    if state.phase is None:
        return RiskDenial("session_phase", "the session's hours are unknown; no order is sent")
    if proposal.order_type not in state.order_types_now:
        return RiskDenial("session_phase", f"{proposal.order_type} orders are not accepted during {state.phase}")
    return None


def check_stale_market_data(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an order when the symbol's last tick or quote is older than the limit (or missing)."""
    if limits.max_quote_age_secs is None:
        return None
    snapshot = state.market.get(proposal.symbol)
    if snapshot is None or state.now is None:
        return RiskDenial("stale_market_data", f"{proposal.symbol}: no market data; no order is sent")
    age = state.now - snapshot.ts_last
    if age > timedelta(seconds=limits.max_quote_age_secs):
        return RiskDenial(
            "stale_market_data",
            f"{proposal.symbol}: last price is {age.total_seconds():.0f} s "
            f"old; the maximum is {limits.max_quote_age_secs} s",
        )
    return None


def check_price_collar(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny a limit price outside the day's price limits or more than ±collar % from the last price."""
    if proposal.order_type is not OrderType.LIMIT:
        return None
    snapshot = state.market.get(proposal.symbol)
    if snapshot is None:
        return RiskDenial("price_collar", f"{proposal.symbol}: no last price to check the limit price against")
    price = proposal.price_krw
    if snapshot.lower_limit is not None and price < snapshot.lower_limit:
        return RiskDenial(
            "price_collar", f"{proposal.symbol}: limit {price} is below the day's lower limit {snapshot.lower_limit}"
        )
    if snapshot.upper_limit is not None and price > snapshot.upper_limit:
        return RiskDenial(
            "price_collar", f"{proposal.symbol}: limit {price} is above the day's upper limit {snapshot.upper_limit}"
        )
    if limits.price_collar_pct is None or snapshot.last_price <= 0:
        return None
    deviation_pct = abs(price - snapshot.last_price) / snapshot.last_price * 100
    if deviation_pct > limits.price_collar_pct:
        return RiskDenial(
            "price_collar",
            f"{proposal.symbol}: limit {price} is {deviation_pct:.2f}% from the last "
            f"price {snapshot.last_price}; the collar is ±{limits.price_collar_pct}%",
        )
    return None


def check_order_rate(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an order when the orders created in the last 60 s already reach the maximum."""
    if limits.max_orders_per_minute is None or state.now is None:
        return None
    since = state.now - timedelta(seconds=60)
    count = sum(1 for ts in state.recent_orders if ts > since)
    if count >= limits.max_orders_per_minute:
        return RiskDenial(
            "order_rate", f"{count} orders in the last 60 s; the maximum is {limits.max_orders_per_minute}"
        )
    return None


def check_cooldown(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny orders on a symbol for `cooldown_secs` after its N-th consecutive failed order."""
    if limits.cooldown_after_failures is None or state.now is None:
        return None
    failures = state.failures.get(proposal.symbol)
    if failures is None or failures.count < limits.cooldown_after_failures:
        return None
    until = failures.ts_last + timedelta(seconds=limits.cooldown_secs)
    if state.now < until:
        return RiskDenial(
            "cooldown",
            f"{proposal.symbol}: {failures.count} failed orders in a row; cooling down "
            f"for {(until - state.now).total_seconds():.0f} s more",
        )
    return None


def check_daily_loss_limit(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny entries once today's loss reached the limit (exits stay allowed)."""
    if proposal.intent is Intent.EXIT:
        return None
    if daily_loss_limit_breached(state, limits):
        assert limits.daily_loss_limit_pct is not None
        return RiskDenial(
            "daily_loss_limit",
            f"PnL today {daily_loss_krw(state, limits):.0f} KRW is at or below "
            f"-{limits.daily_loss_limit_pct}% of start-of-day equity {state.start_of_day_equity_krw:.0f} KRW",
        )
    return None


def check_max_order_value(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an entry whose notional (quantity × price) is above the maximum per order."""
    if limits.max_order_value_krw is None or not _adds_exposure(proposal):
        return None
    value = proposal.quantity * proposal.price_krw
    if value > limits.max_order_value_krw:
        return RiskDenial(
            "max_order_value",
            f"{proposal.symbol}: order value {value:.0f} KRW; the maximum is {limits.max_order_value_krw:.0f} KRW",
        )
    return None


def check_max_open_positions(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an entry into a new symbol when the number of held or entering symbols is at the maximum."""
    if limits.max_open_positions is None or proposal.intent is Intent.EXIT:
        return None
    engaged = {s for s, p in state.positions.items() if not p.is_flat}
    engaged |= {s for s, q in state.working_buy_quantity.items() if q > 0}
    if proposal.symbol not in engaged and len(engaged) >= limits.max_open_positions:
        return RiskDenial(
            "max_open_positions", f"{len(engaged)} symbols engaged; the maximum is {limits.max_open_positions}"
        )
    return None


def check_max_quantity_per_symbol(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny a buy that would take held plus working quantity of the symbol above the maximum."""
    if limits.max_quantity_per_symbol is None or proposal.side is Side.SELL:
        return None
    held = _held_quantity(state, proposal.symbol)
    working = state.working_buy_quantity.get(proposal.symbol, Decimal(0))
    total = held + working + proposal.quantity
    if total > limits.max_quantity_per_symbol:
        return RiskDenial(
            "max_quantity_per_symbol",
            f"{proposal.symbol}: {held} held + {working} working + {proposal.quantity} proposed = {total} "
            f"units; the maximum is {limits.max_quantity_per_symbol}",
        )
    return None


def check_max_value_per_symbol(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny a buy that would take the symbol's value (held at cost + working + proposed) above the maximum."""
    if limits.max_value_per_symbol_krw is None or proposal.side is Side.SELL:
        return None
    position = state.positions.get(proposal.symbol)
    held = position.quantity * position.avg_price if position is not None and not position.is_flat else Decimal(0)
    working = state.working_buy_value_krw.get(proposal.symbol, Decimal(0))
    total = held + working + proposal.quantity * proposal.price_krw
    if total > limits.max_value_per_symbol_krw:
        return RiskDenial(
            "max_value_per_symbol",
            f"{proposal.symbol}: {total:.0f} KRW held, working and proposed; "
            f"the maximum is {limits.max_value_per_symbol_krw:.0f} KRW",
        )
    return None


def check_max_symbol_weight(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny a buy that would make the symbol more than the maximum share of start-of-day equity.

    The symbol is valued at its last price (the proposal's price without one): held + working + proposed
    quantity × price ÷ start-of-day equity. Without a known equity, no buy is allowed.
    """
    if limits.max_symbol_weight_pct is None or proposal.side is Side.SELL:
        return None
    equity = state.start_of_day_equity_krw
    if equity <= 0:
        return RiskDenial("max_symbol_weight", "start-of-day equity is unknown; no buy is sent")
    snapshot = state.market.get(proposal.symbol)
    price = snapshot.last_price if snapshot is not None else proposal.price_krw
    shares = (
        _held_quantity(state, proposal.symbol)
        + state.working_buy_quantity.get(proposal.symbol, Decimal(0))
        + proposal.quantity
    )
    weight_pct = shares * price / equity * 100
    if weight_pct > limits.max_symbol_weight_pct:
        return RiskDenial(
            "max_symbol_weight",
            f"{proposal.symbol}: {shares} at {price} would be "
            f"{weight_pct:.2f}% of equity {equity:.0f} KRW; the maximum is "
            f"{limits.max_symbol_weight_pct}%",
        )
    return None


def _held_quantity(state: RiskState, symbol: str) -> Decimal:
    return state.positions[symbol].quantity if symbol in state.positions else Decimal(0)


#: Rules in the order they are checked; the first denial wins.
PRE_TRADE_RULES: Sequence[RiskRule] = (
    check_stop_mode,
    check_session_phase,
    check_stale_market_data,
    check_price_collar,
    check_order_rate,
    check_cooldown,
    check_daily_loss_limit,
    check_max_order_value,
    check_max_open_positions,
    check_max_quantity_per_symbol,
    check_max_value_per_symbol,
    check_max_symbol_weight,
)


def check_order(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Run every pre-trade rule; return the first denial, or None when the order may be sent."""
    for rule in PRE_TRADE_RULES:
        if (denial := rule(proposal, state, limits)) is not None:
            return denial
    return None
