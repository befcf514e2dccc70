"""The gate every order passes before it exists: sizing, the kill switch, then the pre-trade risk rules.

A denial is returned as a value and recorded by the caller with `record_risk_decision`: a ``risk_denied``
event and a ``risk_events`` row with the input snapshot (`denial_payload`); a denied order is never created,
so it can never be sent.
"""

from datetime import datetime
from typing import Any

from stock_manager.domain.instruments import Instrument
from stock_manager.domain.risk import OrderProposal, RiskDenial, RiskLimits, RiskState
from stock_manager.domain.risk_rules import check_order
from stock_manager.service_layer.events import jsonable, record_event
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import KillSwitchState, RiskEventRecord, UnitOfWork


def pre_trade_denial(
    proposal: OrderProposal,
    state: RiskState,
    limits: RiskLimits,
    kill_switch: KillSwitchState,
    instrument: Instrument | None = None,
) -> RiskDenial | None:
    """Return why `proposal` must not become an order, or None when it may be created and sent.

    Sizing first (a positive quantity on the instrument's size grid, at least its minimum order value), then
    the kill switch, then the pre-trade risk rules in their order.
    """
    if proposal.quantity <= 0:
        return RiskDenial("sizing", "the order would be for nothing (quantity 0)")
    if instrument is not None:
        if not instrument.is_valid_quantity(proposal.quantity):
            return RiskDenial(
                "sizing",
                f"quantity {proposal.quantity} is not a multiple of the size increment {instrument.size_increment}",
            )
        notional = proposal.quantity * proposal.price_krw
        if notional < instrument.min_notional:
            return RiskDenial(
                "sizing", f"order value {notional} is below the venue's minimum {instrument.min_notional}"
            )
    if kill_switch.active:
        return RiskDenial("kill_switch", f"kill switch is set: {kill_switch.reason}")
    return check_order(proposal, state, limits)


def denial_payload(denial: RiskDenial, proposal: OrderProposal, state: RiskState, signal_reason: str) -> dict[str, Any]:
    """Return the ``risk_denied`` event payload: the rule, the proposal and the account state it saw."""
    market = state.market.get(proposal.symbol)
    failures = state.failures.get(proposal.symbol)
    return {
        "rule": denial.rule,
        "proposal": {
            "symbol": proposal.symbol,
            "side": proposal.side,
            "intent": proposal.intent,
            "order_type": proposal.order_type,
            "quantity": proposal.quantity,
            "price_krw": proposal.price_krw,
        },
        "risk_state": {
            "positions": {s: p.quantity for s, p in state.positions.items() if not p.is_flat},
            "working_buy_quantity": dict(state.working_buy_quantity),
            "working_buy_value_krw": dict(state.working_buy_value_krw),
            "realized_pnl_today_krw": state.realized_pnl_today_krw,
            "unrealized_pnl_krw": state.unrealized_pnl_krw,
            "start_of_day_equity_krw": state.start_of_day_equity_krw,
            "stopped": state.stopped,
            "now": state.now,
            "phase": state.phase,
            "market": None
            if market is None
            else {
                "last_price": market.last_price,
                "ts_last": market.ts_last,
                "lower_limit": market.lower_limit,
                "upper_limit": market.upper_limit,
            },
            "orders_last_minute": len(state.recent_orders),
            "failures": None if failures is None else {"count": failures.count, "ts_last": failures.ts_last},
        },
        "signal_reason": signal_reason,
    }


async def record_risk_decision(
    uow: UnitOfWork,
    notifier: Notifier,
    *,
    ts: datetime,
    rule: str,
    decision: str,
    message: str,
    snapshot: dict[str, Any],
    account_id: str | None,
    symbol: str | None = None,
    correlation_id: str = "",
    event_kind: str = "risk_denied",
    severity: str = "WARNING",
) -> None:
    """Record a risk decision as an event (`event_kind`) and a ``risk_events`` row in `uow`; the caller commits.

    `decision` is DENY (an order not created or not sent), STOP (stop mode) or KILL (kill switch set).
    """
    await record_event(
        uow,
        notifier,
        ts=ts,
        kind=event_kind,
        severity=severity,
        message=message,
        payload={"rule": rule, "decision": decision, **snapshot},
        correlation_id=correlation_id,
        account_id=account_id,
    )
    await uow.risk.add_event(
        RiskEventRecord(
            ts_event=ts,
            rule=rule,
            decision=decision,
            message=message,
            snapshot=jsonable(snapshot),
            account_id=account_id,
            symbol=symbol,
            correlation_id=correlation_id,
        )
    )
