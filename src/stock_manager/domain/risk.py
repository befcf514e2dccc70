"""Risk guardrails as pure functions: a strategy proposes, these decide (spec 001 §11, PRD §3.5).

Each rule returns None (allow) or a `RiskDenial` that names the rule and says why. Execution records every
denial as an event and never sends a denied order. Orders that reduce a position (EXIT) are only blocked by
stop mode; the limits exist to cap new exposure.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from stock_manager.domain.model import Intent, Side
from stock_manager.domain.positions import Position


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits in force for one session.

    Attributes
    ----------
    max_open_positions : int
        Symbols held or being entered at once.
    max_quantity_per_symbol : Decimal
        Shares of one symbol held plus working buy quantity.
    daily_loss_limit_pct : Decimal
        Realized loss (after commission and tax) as a percent of start-of-day equity at which the daemon
        switches to stop mode for the rest of the session (2 means -2 %).
    """

    max_open_positions: int = 5
    max_quantity_per_symbol: Decimal = Decimal(1_000)
    daily_loss_limit_pct: Decimal = Decimal(2)


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """What risk sees of an order about to be created."""

    symbol: str
    side: Side
    intent: Intent
    quantity: Decimal
    price_krw: Decimal


@dataclass(frozen=True, slots=True)
class RiskState:
    """The account as risk sees it when a proposal arrives.

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
        True in stop mode (kill switch, loss limit, failed recovery): nothing new is sent.
    """

    positions: Mapping[str, Position]
    working_buy_quantity: Mapping[str, Decimal]
    realized_pnl_today_krw: Decimal
    start_of_day_equity_krw: Decimal
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class RiskDenial:
    """Why a proposal was denied; recorded as a ``risk_denied`` event with the inputs."""

    rule: str
    message: str


type RiskRule = Callable[[OrderProposal, RiskState, RiskLimits], RiskDenial | None]


def check_stop_mode(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny every order while the daemon is in stop mode."""
    if state.stopped:
        return RiskDenial("stop_mode", "trading is stopped for this session; no new order is sent")
    return None


def check_daily_loss_limit(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny entries once today's realized loss reached the limit (exits stay allowed)."""
    if proposal.intent is Intent.EXIT:
        return None
    if daily_loss_limit_breached(state, limits):
        return RiskDenial(
            "daily_loss_limit",
            f"realized PnL today {state.realized_pnl_today_krw:.0f} KRW is at or below "
            f"-{limits.daily_loss_limit_pct}% of start-of-day equity {state.start_of_day_equity_krw:.0f} KRW",
        )
    return None


def check_max_open_positions(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Deny an entry into a new symbol when the number of held or entering symbols is at the maximum."""
    if proposal.intent is Intent.EXIT:
        return None
    engaged = {s for s, p in state.positions.items() if not p.is_flat}
    engaged |= {s for s, q in state.working_buy_quantity.items() if q > 0}
    if proposal.symbol not in engaged and len(engaged) >= limits.max_open_positions:
        return RiskDenial(
            "max_open_positions", f"{len(engaged)} symbols engaged; the maximum is {limits.max_open_positions}"
        )
    return None


def check_max_quantity_per_symbol(
    proposal: OrderProposal, state: RiskState, limits: RiskLimits
) -> RiskDenial | None:
    """Deny a buy that would take held plus working quantity of the symbol above the maximum."""
    if proposal.side is Side.SELL:
        return None
    held = state.positions[proposal.symbol].quantity if proposal.symbol in state.positions else Decimal(0)
    working = state.working_buy_quantity.get(proposal.symbol, Decimal(0))
    total = held + working + proposal.quantity
    if total > limits.max_quantity_per_symbol:
        return RiskDenial(
            "max_quantity_per_symbol",
            f"{proposal.symbol}: {held} held + {working} working + {proposal.quantity} proposed = {total} "
            f"shares; the maximum is {limits.max_quantity_per_symbol}",
        )
    return None


#: Rules in the order they are checked; the first denial wins.
PRE_TRADE_RULES: Sequence[RiskRule] = (
    check_stop_mode,
    check_daily_loss_limit,
    check_max_open_positions,
    check_max_quantity_per_symbol,
)


def check_order(proposal: OrderProposal, state: RiskState, limits: RiskLimits) -> RiskDenial | None:
    """Run every pre-trade rule; return the first denial, or None when the order may be sent."""
    for rule in PRE_TRADE_RULES:
        if (denial := rule(proposal, state, limits)) is not None:
            return denial
    return None


def daily_loss_limit_breached(state: RiskState, limits: RiskLimits) -> bool:
    """Return True when today's realized PnL is at or below -limit % of start-of-day equity."""
    if state.start_of_day_equity_krw <= 0:
        return False
    threshold = -state.start_of_day_equity_krw * limits.daily_loss_limit_pct / 100
    return state.realized_pnl_today_krw <= threshold
