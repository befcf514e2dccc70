"""What pre-trade risk sees and the daily loss it measures (spec 000 §7, 001 §11, PRD §3.5, §15).

The value types every rule takes (`RiskLimits`, `OrderProposal`, `RiskState` with its `MarketSnapshot` and
`SymbolFailures`) and returns (`RiskDenial`), and today's loss against the daily loss limit
(`daily_loss_krw`, `daily_loss_limit_breached`), which the daemon's stop mode and the backtest share. The
rules themselves and their order are in `stock_manager.domain.risk_rules`. A limit set to None is off.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
