"""The gate every order passes before it exists: sizing, the kill switch, then the pre-trade risk rules.

A denial is returned as a value and recorded by the caller as a ``risk_denied`` event with the input snapshot
(`denial_payload`); a denied order is never created, so it can never be sent.
"""

from typing import Any

from stock_manager.domain.risk import OrderProposal, RiskDenial, RiskLimits, RiskState, check_order
from stock_manager.service_layer.storage_port import KillSwitchState


def pre_trade_denial(
    proposal: OrderProposal, state: RiskState, limits: RiskLimits, kill_switch: KillSwitchState
) -> RiskDenial | None:
    """Return why `proposal` must not become an order, or None when it may be created and sent."""
    if proposal.quantity <= 0:
        return RiskDenial("sizing", "the order would be for zero shares")
    if kill_switch.active:
        return RiskDenial("kill_switch", f"kill switch is set: {kill_switch.reason}")
    return check_order(proposal, state, limits)


def denial_payload(denial: RiskDenial, proposal: OrderProposal, state: RiskState, signal_reason: str) -> dict[str, Any]:
    """Return the ``risk_denied`` event payload: the rule, the proposal and the account state it saw."""
    return {
        "rule": denial.rule,
        "proposal": {"symbol": proposal.symbol, "side": proposal.side, "intent": proposal.intent,
                     "quantity": proposal.quantity, "price_krw": proposal.price_krw},
        "risk_state": {"positions": {s: p.quantity for s, p in state.positions.items() if not p.is_flat},
                       "working_buy_quantity": dict(state.working_buy_quantity),
                       "realized_pnl_today_krw": state.realized_pnl_today_krw,
                       "start_of_day_equity_krw": state.start_of_day_equity_krw, "stopped": state.stopped},
        "signal_reason": signal_reason,
    }
