"""Startup recovery (spec 001 §10): gather our state and the broker's, plan, then apply or only show.

Applying goes through `Execution`, the only writer of orders, fills and positions, so every correction is
one transaction with an event that records before and after.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from stock_manager.domain.clock import Clock
from stock_manager.domain.modes import Mode
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderRejected
from stock_manager.service_layer.events import plain, record_event
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import StoredFill, UnitOfWork, UnitOfWorkFactory
from stock_manager.service_layer.ports.venue import FillIdentity
from stock_manager.service_layer.position_history import PositionHistory, load_position_history
from stock_manager.service_layer.reconciliation import Action, RecoveryPlan, plan_recovery


@dataclass(frozen=True, slots=True)
class RecoveryInputs:
    """Where to look: the account, and the session the broker's day reports are read for."""

    account_id: str
    today: date
    order_numbers_restart_daily: bool = True


@dataclass(frozen=True, slots=True)
class OurRecords:
    """What recovery compares with the venue from our side: the open orders, every order and fill of the days
    read (today and each day with an open order), and the positions' history (see `read_ours`)."""

    open_orders: list[Order]
    days: list[date]
    known_orders: list[Order]
    stored_fills: list[StoredFill]
    history: PositionHistory


async def read_ours(
    uow: UnitOfWork,
    inputs: RecoveryInputs,
    history: PositionHistory | None = None,
    open_orders: list[Order] | None = None,
) -> OurRecords:
    """Read our side of recovery in the caller's unit of work (nothing is written); `history` and
    `open_orders` are those reads when the caller has just made them in the same unit of work."""
    if open_orders is None:
        open_orders = await uow.orders.list_open(inputs.account_id)
    days = sorted({o.trading_date for o in open_orders} | {inputs.today})
    known = [o for day in days for o in await uow.orders.list_for_date(inputs.account_id, day)]
    stored = [s for day in days for s in await uow.fills.list_for_date(inputs.account_id, day)]
    if not inputs.order_numbers_restart_daily:
        # An order working across days may have filled on days in between: every fill of the open ones.
        numbers = {o.broker_order_number for o in open_orders if o.broker_order_number}
        seen = {s.id for s in stored}
        stored += [s for s in await uow.fills.list_for_order_numbers(inputs.account_id, numbers) if s.id not in seen]
    if history is None:
        history = await load_position_history(uow, inputs.account_id, inputs.today)
    return OurRecords(open_orders, days, known, stored, history)


async def gather_plan(
    uow_factory: UnitOfWorkFactory,
    broker: Broker,
    inputs: RecoveryInputs,
    fill_identity: FillIdentity,
    history: PositionHistory | None = None,
    ours: OurRecords | None = None,
) -> RecoveryPlan:
    """Read the database and the broker (nothing is written) and return the recovery plan.

    The broker's orders and fills are read for today and for every day that still has an open order of
    ours (a daemon that died before a close); our fills of those days, and positions from the last close's
    checkpoint plus the fills after it (every fill when the broker reports an execution older than the
    checkpoint; see `position_history`). `history` is that read when the caller has just made it; `ours` is
    all of our side (`read_ours`), read by the caller in the unit of work of its own reads.
    """
    if ours is None:
        async with uow_factory() as uow:
            ours = await read_ours(uow, inputs, history)
    open_orders, days, known, history = ours.open_orders, ours.days, ours.known_orders, ours.history
    recorded = [s.fill for s in ours.stored_fills]
    # A working order that lives across days may be reported for each of them: each order once (numbers may
    # restart every day, so an order is its day and number).
    reported = {
        (r.trading_date, r.broker_order_number): r
        for day in days
        for r in await broker.get_orders(inputs.account_id, day)
    }
    broker_orders = list(reported.values())
    broker_fills = [f for day in days for f in await broker.get_fills(inputs.account_id, day)]
    broker_positions = await broker.get_positions(inputs.account_id)
    if not history.sorts_after(broker_fills):
        async with uow_factory() as uow:
            history = await load_position_history(uow, inputs.account_id, None)
    return plan_recovery(
        account_id=inputs.account_id,
        open_orders=open_orders,
        known_orders=known,
        recorded_fills=recorded,
        broker_orders=broker_orders,
        broker_fills=broker_fills,
        broker_positions=broker_positions,
        fill_identity=fill_identity,
        history=history,
        order_numbers_restart_daily=inputs.order_numbers_restart_daily,
    )


async def apply_plan(
    plan: RecoveryPlan,
    execution: Execution,
    uow_factory: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
    *,
    mode: Mode,
) -> None:
    """Apply every correction of `plan`; enter stop mode for what it cannot resolve; log the run."""
    ts_started = clock.now()
    account_id = execution.config.account_id
    by_key = {o.idempotency_key: o for o in execution.open_orders.values()}
    for action in plan.actions:
        order = by_key.get(action.order_key or "")
        match action.kind:
            case "adopt" if order is not None and action.report is not None:
                r = action.report
                accepted = OrderAccepted(r.broker_order_number, r.ts_accepted, r.venue_order_ref)
                await execution.apply_event(
                    order,
                    accepted,
                    "recovery_adopted",
                    "WARNING",
                    f"recovery: {order.symbol} order {action.detail}; adopted{_change(action)}",
                )
            case "not_placed" if order is not None:
                await execution.apply_event(
                    order,
                    OrderCanceled(clock.now(), f"not placed: {action.detail}"),
                    "recovery_not_placed",
                    "WARNING",
                    f"recovery: {order.symbol} order was never placed{_change(action)}",
                )
            case "fill" | "external_fill" if action.fill is not None:
                await execution.record_fill(action.fill, source="recovery")
            case "cancel" | "reject" if order is not None:
                current = execution.open_orders.get(order.id or -1)
                if current is not None and current.is_open:
                    event = (
                        OrderCanceled(clock.now(), f"recovery: {action.detail}")
                        if action.kind == "cancel"
                        else OrderRejected(clock.now(), f"recovery: {action.detail}")
                    )
                    await execution.apply_event(
                        current,
                        event,
                        f"recovery_{action.kind}",
                        "WARNING",
                        f"recovery: {current.symbol} order {current.broker_order_number}: "
                        f"{action.detail}{_change(action)}",
                    )
            case "external_order" | "external_holding":
                async with uow_factory() as uow:
                    await record_event(
                        uow,
                        notifier,
                        ts=clock.now(),
                        kind=action.kind,
                        severity="WARNING",
                        message=f"recovery: {action.detail}",
                        account_id=account_id,
                    )
                    await uow.commit()
    outcome, reasons = plan_outcome(plan)
    async with uow_factory() as uow:
        await uow.settlements.add_recovery_log(
            account_id, str(mode), False, outcome, plan_summary(plan), ts_started, clock.now()
        )
        await record_event(
            uow,
            notifier,
            ts=clock.now(),
            kind="recovery",
            severity="INFO" if not reasons else "ERROR",
            message=f"recovery {outcome.lower()}: {len(plan.actions)} correction(s)",
            payload=plan_summary(plan),
            account_id=account_id,
        )
        await uow.commit()
    if reasons:
        await execution.enter_stop_mode("recovery could not reconcile: " + "; ".join(reasons))


async def record_dry_run(
    plan: RecoveryPlan,
    uow_factory: UnitOfWorkFactory,
    account_id: str,
    mode: Mode,
    ts_started: datetime,
    ts_finished: datetime,
) -> None:
    """Log a run that only showed `plan` (``stockbot recover --dry-run``): one ``recovery_logs`` row with
    ``dry_run`` true and the outcome applying it would have; nothing else is written."""
    outcome, _ = plan_outcome(plan)
    async with uow_factory() as uow:
        await uow.settlements.add_recovery_log(
            account_id, str(mode), True, outcome, plan_summary(plan), ts_started, ts_finished
        )
        await uow.commit()


def plan_outcome(plan: RecoveryPlan) -> tuple[str, list[str]]:
    """Return the outcome of applying `plan` (CLEAN, CORRECTED or FAILED) and why it fails, if it does: what
    it cannot resolve, and each position that would still differ from the broker's."""
    reasons = list(plan.stop_reasons)
    for diff in plan.position_differences:
        reasons.append(
            f"{diff.symbol}: {plain(diff.ours_quantity)} shares from our fills, "
            f"{plain(diff.broker_quantity)} at the broker"
        )
    return ("FAILED" if reasons else ("CLEAN" if plan.is_clean else "CORRECTED")), reasons


def _change(action: Action) -> str:
    return f" ({action.before} → {action.after})" if action.before or action.after else ""


class ActionRow(TypedDict):
    """One action of a recovery plan as JSON-safe data."""

    kind: str
    detail: str
    order_key: str | None
    broker_order_number: str | None
    broker_fill_id: str | None
    before: str
    after: str


def action_rows(plan: RecoveryPlan) -> list[ActionRow]:
    """Return the plan's actions as JSON-safe rows, in plan order."""
    return [
        {
            "kind": a.kind,
            "detail": a.detail,
            "order_key": a.order_key,
            "broker_order_number": (
                a.report.broker_order_number if a.report else a.fill.broker_order_number if a.fill else None
            ),
            "broker_fill_id": a.fill.broker_fill_id if a.fill else None,
            "before": a.before,
            "after": a.after,
        }
        for a in plan.actions
    ]


def plan_summary(plan: RecoveryPlan) -> dict[str, object]:
    """Return the plan as JSON-safe data (``recover --json``, recovery_logs, events)."""
    return {
        "clean": plan.is_clean,
        "actions": action_rows(plan),
        "positions_after": {
            s: {"quantity": str(p.quantity), "avg_price": str(p.avg_price)}
            for s, p in sorted(plan.positions_after.items())
            if not p.is_flat
        },
        "position_differences": [
            {"symbol": d.symbol, "ours": str(d.ours_quantity), "broker": str(d.broker_quantity)}
            for d in plan.position_differences
        ],
        "stop_reasons": list(plan.stop_reasons),
    }
