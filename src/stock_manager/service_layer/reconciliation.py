"""Reconciliation as pure functions: (our orders and fills, the broker's) → a plan of corrections.

Spec 001 §10: DB open orders → broker order states → the broker wins, each difference recorded. A NEW
order without a broker number is matched to the broker's orders of its day: by our client order id where
the venue keeps one, else by symbol, side, quantity, limit price and acceptance time; exactly one match is
adopted, none means it was never placed, more than one is ambiguous and stops trading. Shares the broker
holds in a symbol this daemon holds none of (bought by hand on an earlier day) are labelled external and
left alone; any other difference between positions and holdings stops trading. The plan is applied by
`recovery.apply_plan` or only printed (``stockbot recover --dry-run``).
"""

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.domain.errors import DuplicateFill, InvalidTransition
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.fills import Fill
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderEvent, OrderFilled, OrderRejected
from stock_manager.domain.positions import Position, positions_from_fills
from stock_manager.service_layer.events import plain
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState, BrokerPosition
from stock_manager.service_layer.ports.venue import FillIdentity
from stock_manager.service_layer.position_history import PositionHistory

#: How long after our NEW row the broker's acceptance of the same order may come.
ADOPTION_WINDOW = timedelta(minutes=2)


#: A broker order number without leading zeros (venues pad them differently: "11774" = "0000011774").
strip_number = normalize_order_number


@dataclass(frozen=True, slots=True)
class Action:
    """One correction; `kind` names it and `detail` says why, for people.

    `before` and `after` are the state it changes, as people read it, before and after it is applied (in
    plan order, as `recovery.apply_plan` applies them): the order's status and filled quantity, and for a
    fill the symbol's position, e.g. ``"SENT 0/32"`` → ``"FILLED 32/32; 005930 32 @ 61300"``.
    """

    kind: str  # adopt | not_placed | fill | cancel | reject | external_order | external_fill | external_holding
    # | ambiguous
    detail: str
    order_key: str | None = None
    report: BrokerOrderReport | None = None
    fill: Fill | None = None
    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class PositionDifference:
    """A symbol whose position recomputed from fills differs from the broker's holding."""

    symbol: str
    ours_quantity: Decimal
    broker_quantity: Decimal
    ours_avg_price: Decimal
    broker_avg_price: Decimal


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    """Everything a restart would change, and what it cannot resolve."""

    actions: tuple[Action, ...]
    positions_after: Mapping[str, Position]
    position_differences: tuple[PositionDifference, ...]
    stop_reasons: tuple[str, ...] = field(default=())

    @property
    def is_clean(self) -> bool:
        """Return True when nothing differs between the database and the broker."""
        return not self.actions and not self.position_differences


def plan_recovery(
    *,
    account_id: str,
    open_orders: Sequence[Order],
    known_orders: Sequence[Order],
    recorded_fills: Sequence[Fill],
    broker_orders: Sequence[BrokerOrderReport],
    broker_fills: Sequence[Fill],
    broker_positions: Sequence[BrokerPosition],
    fill_identity: FillIdentity,
    history: PositionHistory | None = None,
    order_numbers_restart_daily: bool = True,
) -> RecoveryPlan:
    """Compare the database with the broker and return the corrections, without changing anything.

    Parameters
    ----------
    open_orders : Sequence[Order]
        Our NEW, SENT and PARTIAL orders.
    known_orders : Sequence[Order]
        Every order of ours on the days the broker reports cover (to tell ours from external ones).
    recorded_fills : Sequence[Fill]
        The fills in the database of the days the broker reports cover (at least; every fill of the account
        when `history` is None, since positions are then folded from them).
    broker_orders, broker_fills : Sequence
        The broker's orders and executions of the days in question.
    broker_positions : Sequence[BrokerPosition]
        The broker's holdings now.
    fill_identity : FillIdentity
        How the venue's executions are identified (what is missing of an order, and under which id).
    history : PositionHistory | None
        Every recorded fill of the account, positions folded from a checkpoint (see `position_history`);
        each missed fill of the plan must have executed after its checkpoint (`PositionHistory.sorts_after`).
    order_numbers_restart_daily : bool
        True where the venue's order numbers restart each trading day (an order is its day and number, and
        fills its own day); False where a number is never reused (an order working across days is its number
        alone, and its fills may be of later days: `recorded_fills` must then hold every fill of the open orders).

    Raises
    ------
    ValueError
        If a missed fill executed before `history`'s checkpoint.
    """
    actions: list[Action] = []
    stops: list[str] = []

    def order_key(day: date, number: str) -> tuple[date | None, str]:
        return (day if order_numbers_restart_daily else None, strip_number(number))

    recorded_by_order: dict[tuple[date | None, str], list[Fill]] = {}
    for fill in recorded_fills:
        recorded_by_order.setdefault(order_key(fill.trading_date, fill.broker_order_number), []).append(fill)
    ours = {strip_number(o.broker_order_number) for o in known_orders if o.broker_order_number}
    by_number = {strip_number(r.broker_order_number): r for r in broker_orders}
    fills_by_number: dict[str, list[Fill]] = {}
    for fill in broker_fills:
        fills_by_number.setdefault(strip_number(fill.broker_order_number), []).append(fill)

    # NEW orders the broker never acknowledged to us: adopt the one match, or mark not placed.
    unclaimed = [r for r in broker_orders if strip_number(r.broker_order_number) not in ours]
    claims: dict[str, list[Order]] = {}
    contested: set[str] = set()  # candidates of an ambiguous match: maybe ours, so never labelled external
    for order in (o for o in open_orders if o.broker_order_number is None):
        matches = [r for r in unclaimed if claims_order(order, r)]
        if len(matches) > 1:
            stops.append(f"{len(matches)} broker orders match {order.idempotency_key}; refusing to guess")
            actions.append(Action("ambiguous", stops[-1], order.idempotency_key))
            contested.update(strip_number(r.broker_order_number) for r in matches)
        elif matches:
            claims.setdefault(strip_number(matches[0].broker_order_number), []).append(order)
        else:
            actions.append(
                Action("not_placed", "no order of this shape at the broker: it never reached it", order.idempotency_key)
            )
    adopted: dict[str, Order] = {}
    for number, orders in claims.items():
        if len(orders) > 1:
            stops.append(f"broker order {number} matches {len(orders)} of our orders; refusing to guess")
            actions.extend(Action("ambiguous", stops[-1], o.idempotency_key) for o in orders)
            contested.add(number)
            continue
        adopted[number] = orders[0]
        actions.append(
            Action(
                "adopt",
                f"found at the broker as {by_number[number].broker_order_number}",
                orders[0].idempotency_key,
                report=by_number[number],
            )
        )
        ours.add(number)

    # Our working orders: fills we missed, then the broker's final state.
    tracked = [(o, strip_number(o.broker_order_number)) for o in open_orders if o.broker_order_number]
    tracked += [(o, n) for n, o in adopted.items()]
    for order, number in tracked:
        report = by_number.get(number)
        missing, surplus = _missing(
            fill_identity,
            account_id,
            recorded_by_order.get(order_key(order.trading_date, number), []),
            fills_by_number.get(number, []),
        )
        if surplus:
            stops.append(f"order {order.broker_order_number}: {surplus} more recorded than the broker executed")
        actions.extend(
            Action("fill", f"missed fill {f.quantity} @ {f.price}", order.idempotency_key, fill=f) for f in missing
        )
        if report is None:
            actions.append(Action("cancel", "the broker has no such order on its day: expired", order.idempotency_key))
        elif report.state is BrokerOrderState.CANCELED:
            actions.append(Action("cancel", "cancelled or expired at the broker", order.idempotency_key, report=report))
        elif report.state is BrokerOrderState.REJECTED:
            actions.append(Action("reject", "rejected at the broker", order.idempotency_key, report=report))

    # Orders and fills the daemon never made (placed by hand in HTS/MTS): labelled, never adopted.
    for report in broker_orders:
        if strip_number(report.broker_order_number) not in ours | contested:
            actions.append(
                Action(
                    "external_order",
                    f"{report.side} {report.quantity} {report.symbol} "
                    f"({report.broker_order_number}) was not placed by this daemon",
                    report=report,
                )
            )
            number = strip_number(report.broker_order_number)
            missing, _ = _missing(
                fill_identity,
                account_id,
                recorded_by_order.get(order_key(report.trading_date, number), []),
                fills_by_number.get(number, []),
            )
            actions.extend(
                Action("external_fill", f"execution of external order {report.broker_order_number}", fill=f)
                for f in missing
            )

    new_fills = [a.fill for a in actions if a.fill is not None]
    if history is None:
        positions_before = positions_from_fills(account_id, recorded_fills)
        positions_after = positions_from_fills(account_id, [*recorded_fills, *new_fills])
    else:
        positions_before, positions_after = history.positions(), history.positions(new_fills)
    differences = []
    maybe_ours = {r.symbol for r in broker_orders if strip_number(r.broker_order_number) in contested}
    for diff in _position_differences(positions_after, broker_positions):
        if diff.ours_quantity == 0 and diff.broker_quantity > 0 and diff.symbol not in maybe_ours:
            # Shares this daemon never held: bought by hand before the days the broker's orders cover.
            actions.append(
                Action(
                    "external_holding",
                    f"{plain(diff.broker_quantity)} {diff.symbol} @ "
                    f"{plain(diff.broker_avg_price)} at the broker were not bought by this daemon",
                )
            )
        else:
            differences.append(diff)
    described = describe_changes(account_id, actions, open_orders, positions_before)
    return RecoveryPlan(described, positions_after, tuple(differences), tuple(stops))


def describe_changes(
    account_id: str, actions: Sequence[Action], open_orders: Sequence[Order], positions: Mapping[str, Position]
) -> tuple[Action, ...]:
    """Return `actions` with their `before` and `after`: each applied in turn to copies of our open orders
    and of `positions` (the positions before recovery), the way `recovery.apply_plan` applies them."""
    orders = {o.idempotency_key: copy.deepcopy(o) for o in open_orders}
    held = dict(positions)
    described: list[Action] = []
    for action in actions:
        order = orders.get(action.order_key or "")
        before = _order_state(order) if order is not None else "-"
        event: OrderEvent | None = None
        match action.kind:
            case "adopt" if action.report is not None:
                r = action.report
                event = OrderAccepted(r.broker_order_number, r.ts_accepted, r.venue_order_ref)
            case "not_placed":
                event = OrderCanceled(_event_ts(action), "not placed")
            case "cancel" if order is not None and order.is_open:
                event = OrderCanceled(_event_ts(action), action.detail)
            case "reject" if order is not None and order.is_open:
                event = OrderRejected(_event_ts(action), action.detail)
            case "fill" | "external_fill" if action.fill is not None:
                event = OrderFilled(action.fill) if order is not None else None
        after = before
        if order is not None and event is not None:
            try:
                order.apply(event)
                after = _order_state(order)
            except (InvalidTransition, DuplicateFill) as e:
                after = f"{before} (cannot apply: {e})"
        if action.kind in ("external_order", "external_holding"):
            after = "reported, not adopted"
        elif action.kind == "ambiguous":
            after = f"{before}, trading stopped"
        if action.fill is not None:
            symbol = action.fill.symbol
            position = held.get(symbol) or Position(account_id, symbol)
            held[symbol] = position.apply_fill(action.fill)
            before = _joined(before, _position_state(position))
            after = _joined(after, _position_state(held[symbol]))
        described.append(replace(action, before=before, after=after))
    return tuple(described)


def _event_ts(action: Action) -> datetime:
    """Return a time for an order event the plan only describes (the broker's acceptance, else the epoch)."""
    return action.report.ts_accepted if action.report is not None else datetime(1970, 1, 1, tzinfo=UTC)


def _order_state(order: Order) -> str:
    return f"{order.status.value} {plain(order.filled_quantity)}/{plain(order.quantity)}"


def _position_state(position: Position) -> str:
    if position.is_flat:
        return f"{position.symbol} flat"
    return f"{position.symbol} {plain(position.quantity)} @ {plain(position.avg_price)}"


def _joined(first: str, second: str) -> str:
    return second if first == "-" else f"{first}; {second}"


def _missing(
    fill_identity: FillIdentity, account_id: str, recorded: Sequence[Fill], at_broker: Sequence[Fill]
) -> tuple[tuple[Fill, ...], Decimal]:
    # The broker's executions of one order beyond ours (under the venue's identity), and any surplus of ours.
    ordered = sorted(at_broker, key=lambda f: f.ts_filled)  # stable: the broker's order within one second
    found = fill_identity.missing(account_id, recorded, ordered)
    return found.fills, found.surplus_quantity


def claims_order(order: Order, report: BrokerOrderReport) -> bool:
    """Return True when `report` is `order` at the broker: the same client order id where both carry one,
    else the same shape (`same_shape`)."""
    if order.client_order_id is not None and report.client_order_id is not None:
        return report.client_order_id == order.client_order_id
    return same_shape(order, report)


def same_shape(order: Order, report: BrokerOrderReport) -> bool:
    """Return True when `report` could be `order` at the broker: same symbol, side, quantity, type and limit,
    accepted no earlier than one second before our row was created (venue times may have whole seconds) and
    within `ADOPTION_WINDOW` after it."""
    return (
        report.symbol == order.symbol
        and report.side is order.side
        and report.quantity == order.quantity
        and report.limit_price == order.limit_price
        and report.order_type is order.order_type
        and order.ts_created - timedelta(seconds=1) <= report.ts_accepted <= order.ts_created + ADOPTION_WINDOW
    )


def _position_differences(
    ours: Mapping[str, Position], broker: Iterable[BrokerPosition]
) -> Iterable[PositionDifference]:
    theirs = {p.symbol: p for p in broker if p.quantity != 0}
    for symbol in sorted(set(theirs) | {s for s, p in ours.items() if not p.is_flat}):
        mine = ours.get(symbol)
        other = theirs.get(symbol)
        mine_qty = mine.quantity if mine else Decimal(0)
        other_qty = other.quantity if other else Decimal(0)
        if mine_qty != other_qty:
            yield PositionDifference(
                symbol,
                mine_qty,
                other_qty,
                mine.avg_price if mine else Decimal(0),
                other.avg_price if other else Decimal(0),
            )
