"""Risk guardrails as pure functions: a strategy proposes, these decide (spec 000 §7, 001 §11, PRD §3.5, §15).

Each rule returns None (allow) or a `RiskDenial` that names the rule and says why. Execution records every
denial (an event and a ``risk_events`` row with the inputs) and never sends a denied order. A limit set to
None is off. Which orders a rule looks at:

- every order: stop mode, the session phase, stale market data, the order-rate throttle, the per-symbol
  cooldown after failed orders; the price collar for every priced (LIMIT) order;
- entries and buys only (they add exposure; an EXIT reduces it): the daily loss limit, the maximum order
  value, the number of open positions, the per-symbol quantity and value and the symbol's weight.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.sessions import MarketPhase


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits in force for one session (settings, overridden by the newest ``risk_limit_changes`` rows).

    Attributes
    ----------
    max_open_positions : int | None
        Symbols held or being entered at once.
    max_quantity_per_symbol : Decimal | None
        Shares of one symbol held plus working buy quantity plus the proposal.
    daily_loss_limit_pct : Decimal | None
        Loss today (realized after commission and tax; plus unrealized when `daily_loss_includes_unrealized`)
        as a percent of start-of-day equity at which entries stop and the daemon enters stop mode for the
        rest of the session (2 means -2 %).
    daily_loss_includes_unrealized : bool
        Count the open positions' unrealized PnL at the last price in the daily loss.
    daily_loss_trips_kill_switch : bool
        After a session that hit the daily loss limit, set the latched kill switch at its close, so the next
        session does not trade until ``stockbot resume``.
    max_value_per_symbol_krw : Decimal | None
        Value of one symbol held (at cost) plus working buys plus the proposal, KRW.
    max_symbol_weight_pct : Decimal | None
        One symbol's share of start-of-day equity after the proposal, valued at the last price, percent.
    max_order_value_krw : Decimal | None
        Notional of one order (quantity × limit, or × last price for a market order), KRW.
    price_collar_pct : Decimal | None
        A limit price must be within ± this percent of the last price (and always within the day's limits).
    max_quote_age_secs : int | None
        No order when the symbol's last tick or quote is older than this.
    max_orders_per_minute : int | None
        Orders created in any 60 s window.
    cooldown_after_failures : int | None
        Consecutive failed orders (rejected, not placed, broker error) on a symbol that start a cooldown.
    cooldown_secs : int
        How long that cooldown lasts after the last failure.
    max_consecutive_broker_failures : int | None
        Consecutive broker errors on sends (timeout, ambiguous outcome, fatal) that trip the kill switch.
    """

    max_open_positions: int | None = 5
    max_quantity_per_symbol: Decimal | None = Decimal(1_000)
    daily_loss_limit_pct: Decimal | None = Decimal(2)
    daily_loss_includes_unrealized: bool = False
    daily_loss_trips_kill_switch: bool = True
    max_value_per_symbol_krw: Decimal | None = Decimal(3_000_000)
    max_symbol_weight_pct: Decimal | None = Decimal(20)
    max_order_value_krw: Decimal | None = Decimal(3_000_000)
    price_collar_pct: Decimal | None = Decimal(5)
    max_quote_age_secs: int | None = 60
    max_orders_per_minute: int | None = 10
    cooldown_after_failures: int | None = 3
    cooldown_secs: int = 300
    max_consecutive_broker_failures: int | None = 3


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """What risk sees of an order about to be created.

    `price_krw` is the limit price on the tick grid for a LIMIT order, the signal's reference price for a
    MARKET order.
    """

    symbol: str
    side: Side
    intent: Intent
    quantity: Decimal
    price_krw: Decimal
    order_type: OrderType = OrderType.LIMIT


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The newest market data of one symbol: last price and its time, and the day's price limits (KRW)."""

    last_price: Decimal
    ts_last: datetime
    lower_limit: Decimal | None = None
    upper_limit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SymbolFailures:
    """Consecutive failed orders on one symbol and when the last one failed."""

    count: int
    ts_last: datetime


@dataclass(frozen=True, slots=True)
class RiskState:
    """The account and the market as risk sees them when a proposal arrives.

    Attributes
    ----------
    positions : Mapping[str, Position]
        Current positions by symbol.
    working_buy_quantity : Mapping[str, Decimal]
        Unfilled quantity of open BUY orders by symbol.
    realized_pnl_today_krw : Decimal
        Today's realized PnL after commission and tax, KRW.
    start_of_day_equity_krw : Decimal
        Cash plus holdings at the session's start, KRW.
    stopped : bool
        True in stop mode (kill switch, loss limit, failed recovery, ORDER_MODE=stop): nothing new is sent.
    now : datetime | None
        The clock's time (aware); None only outside the order path.
    phase : MarketPhase | None
        The session phase at `now`; None when the session's hours are unknown (no order then).
    order_types_now : frozenset[OrderType]
        The order types the venue takes from us at `now` (the phase's).
    market : Mapping[str, MarketSnapshot]
        Newest market data by symbol.
    working_buy_value_krw : Mapping[str, Decimal]
        Unfilled value of open BUY orders by symbol (remaining × limit, or × signal price), KRW.
    recent_orders : Sequence[datetime]
        Creation times of the orders of the last minute.
    failures : Mapping[str, SymbolFailures]
        Consecutive failed orders by symbol.
    unrealized_pnl_krw : Decimal
        Open positions valued at their last price minus cost, KRW.
    """

    positions: Mapping[str, Position]
    working_buy_quantity: Mapping[str, Decimal]
    realized_pnl_today_krw: Decimal
    start_of_day_equity_krw: Decimal
    stopped: bool = False
    now: datetime | None = None
    phase: MarketPhase | None = None
    order_types_now: frozenset[OrderType] = frozenset()
    market: Mapping[str, MarketSnapshot] = field(default_factory=dict)
    working_buy_value_krw: Mapping[str, Decimal] = field(default_factory=dict)
    recent_orders: Sequence[datetime] = ()
    failures: Mapping[str, SymbolFailures] = field(default_factory=dict)
    unrealized_pnl_krw: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RiskDenial:
    """Why a proposal was denied; recorded as a ``risk_denied`` event and a ``risk_events`` row."""

    rule: str
    message: str


type RiskRule = Callable[[OrderProposal, RiskState, RiskLimits], RiskDenial | None]


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


def daily_loss_krw(state: RiskState, limits: RiskLimits) -> Decimal:
    """Return today's PnL the loss limit counts: realized after costs (+ unrealized when configured), KRW."""
    pnl = state.realized_pnl_today_krw
    if limits.daily_loss_includes_unrealized:
        pnl += state.unrealized_pnl_krw
    return pnl


def daily_loss_limit_breached(state: RiskState, limits: RiskLimits) -> bool:
    """Return True when today's PnL is at or below -limit % of start-of-day equity (never without equity)."""
    if limits.daily_loss_limit_pct is None or state.start_of_day_equity_krw <= 0:
        return False
    threshold = -state.start_of_day_equity_krw * limits.daily_loss_limit_pct / 100
    return daily_loss_krw(state, limits) <= threshold
