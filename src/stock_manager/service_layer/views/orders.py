"""Read-only views of orders for a dashboard: a search with filters, and one order's timeline (NEW → SENT → …)
from its own per-state times and the events of its decision (``events`` rows sharing its correlation id)."""

from dataclasses import dataclass
from datetime import datetime

from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.service_layer.ports.history import HistoryFactory, OrderFilter
from stock_manager.service_layer.ports.records import EventRecord
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class OrderSearch:
    """The orders found (newest first) for the latest daemon's account, and what the filters may choose from."""

    account_id: str | None
    orders: list[Order]
    strategies: list[str]
    where: OrderFilter


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One step of an order's life: a status reached (`status` set) or an event of its decision.

    Attributes
    ----------
    ts : datetime
        Aware UTC time (market time in sim).
    label : str
        The status (``NEW``, ``SENT``, …) or the event's kind (``order_created``, ``fill``, …).
    detail : str
        The reason, the status reason, or the event's message.
    """

    ts: datetime
    label: str
    detail: str
    severity: str = "INFO"
    status: OrderStatus | None = None


@dataclass(frozen=True, slots=True)
class OrderTimeline:
    """One order with its steps, oldest first."""

    order: Order
    steps: list[TimelineStep]
    events: list[EventRecord]


async def search_orders(
    uow_factory: UnitOfWorkFactory, history: HistoryFactory, where: OrderFilter, venue: str | None = None
) -> OrderSearch:
    """Return the latest daemon's orders (of `venue` when given) matching `where` (none when no daemon ran)."""
    async with uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, venue)
    if daemon is None:
        return OrderSearch(None, [], [], where)
    async with history() as h:
        found = await h.orders(daemon.account_id, where)
        strategies = await h.strategies(daemon.account_id)
    return OrderSearch(daemon.account_id, found, strategies, where)


async def order_timeline(
    uow_factory: UnitOfWorkFactory, history: HistoryFactory, order_id: int
) -> OrderTimeline | None:
    """Return the order's timeline, or None when no order of an account a daemon has run has this id."""
    async with uow_factory() as uow:
        accounts = {d.account_id for d in await uow.control.list_daemon_states()}
        order = await uow.orders.get(order_id)
    if order is None or order.account_id not in accounts:
        return None
    async with history() as h:
        events = await h.events_for(order.correlation_id)
    return OrderTimeline(order, timeline_steps(order, events), events)


def timeline_steps(order: Order, events: list[EventRecord]) -> list[TimelineStep]:
    """Return the order's status steps (from its per-state times) and its decision's events, in time order
    (a status before an event at the same time)."""
    statuses = [
        (order.ts_created, OrderStatus.NEW, order.reason),
        (
            order.ts_sent,
            OrderStatus.SENT,
            f"broker order {order.broker_order_number}" if order.broker_order_number else "",
        ),
        (order.ts_partial, OrderStatus.PARTIAL, ""),
        (order.ts_filled, OrderStatus.FILLED, ""),
        (order.ts_canceled, OrderStatus.CANCELED, order.status_reason),
        (order.ts_rejected, OrderStatus.REJECTED, order.status_reason),
    ]
    steps = [TimelineStep(ts, status.value, detail, status=status) for ts, status, detail in statuses if ts]
    steps += [TimelineStep(e.ts_event, e.kind, e.message, e.severity) for e in events]
    return sorted(steps, key=lambda s: (s.ts, _STAGE.get(s.label, len(_STAGE))))


#: Order of steps recorded at the same time (a replay's market time often is): each status, then the event
#: recording it; a fill's event before the FILLED it completes.
_STAGE = {
    name: rank
    for rank, name in enumerate(
        ("NEW", "order_created", "SENT", "order_sent", "fill", "PARTIAL", "FILLED", "CANCELED", "REJECTED")
    )
}
