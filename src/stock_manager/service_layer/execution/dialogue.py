"""The broker-facing half of execution: an order whose outcome is unknown resolved by inquiry, cancelling
working orders, and the way back from the venue (fill, cancel and reject notices, a resumed stream).
"""

from stock_manager.domain.errors import OrderRejectedByBroker, StockbotError
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.model import Intent
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderRejected
from stock_manager.service_layer.execution.fills import FillRecorder
from stock_manager.service_layer.execution.ledger import OrderLedger
from stock_manager.service_layer.execution.safety import Safety
from stock_manager.service_layer.execution.state import ExecutionPorts, ExecutionState
from stock_manager.service_layer.ports.broker import (
    BrokerOrderEvent,
    CancelReport,
    FillReport,
    RejectReport,
    StreamResumed,
)
from stock_manager.service_layer.reconciliation import claims_order


class BrokerDialogue:
    """Unknown outcomes resolved, working orders cancelled, venue notices applied (see module docstring)."""

    def __init__(
        self, state: ExecutionState, ports: ExecutionPorts, ledger: OrderLedger, fills: FillRecorder, safety: Safety
    ) -> None:
        self._state = state
        self._ports = ports
        self._ledger = ledger
        self._fills = fills
        self._safety = safety

    async def resolve_unknown(self, order: Order) -> None:
        """Find an order whose send had no clear answer among the venue's orders of its day (the caller holds
        the lock): adopt the one match, mark it not placed when there is none, stop trading when several
        match. Matched by our client order id where the venue keeps one, else by shape."""
        state, ports = self._state, self._ports
        try:
            reports = await ports.broker.get_orders(state.account_id, order.trading_date)
        except Exception as e:
            await self._safety.enter_stop_mode(f"could not resolve order {order.idempotency_key}: {e}")
            return
        async with ports.uow() as uow:
            ours = await uow.orders.list_for_date(state.account_id, order.trading_date)
        known = {normalize_order_number(o.broker_order_number) for o in ours if o.broker_order_number}
        matches = [
            r for r in reports if normalize_order_number(r.broker_order_number) not in known and claims_order(order, r)
        ]
        if len(matches) == 1:
            r = matches[0]
            ports.metrics.order_accepted(order.side.value, order.quantity)
            await self._ledger.apply_event_locked(
                order,
                OrderAccepted(r.broker_order_number, r.ts_accepted, r.venue_order_ref),
                "order_adopted",
                "WARNING",
                f"{order.symbol} order found at the broker as {r.broker_order_number}; adopted",
            )
        elif not matches:
            state.book.note_failed_order(order.symbol, ports.clock.now())
            not_placed = OrderCanceled(ports.clock.now(), "not placed: no matching order at the broker")
            await self._ledger.apply_event_locked(
                order, not_placed, "order_not_placed", "WARNING", f"{order.symbol} order never reached the broker"
            )
        else:
            await self._safety.enter_stop_mode(f"{len(matches)} broker orders match order {order.idempotency_key}")

    async def cancel_open_orders(self, reason: str, *, intent: Intent | None = None) -> int:
        """Ask the venue to cancel every working order (of `intent`, if given); return how many are cancelled or
        being cancelled: the venue took this request, or refused it because it had taken an earlier one (ours,
        e.g. the close's, cut short by the kill switch, or the order is cancelled in our records after the
        refusal).

        NEW orders the venue never acknowledged are left for recovery: cancelling needs a venue number.
        """
        state = self._state
        asked = 0
        for order in list(state.open_orders.values()):
            if intent is not None and order.intent is not intent:
                continue
            if order.broker_order_number is None or order.id is None:
                continue
            try:
                await self._ports.broker.cancel_order(
                    state.account_id, order.broker_order_number, order.venue_order_ref
                )
                state.cancels_taken.add(order.id)
                asked += 1
            except OrderRejectedByBroker as e:
                await self._ledger.note(order, "cancel_rejected", "WARNING", f"{order.symbol} cancel refused: {e}")
                await self._fills.sync_from_broker(order, reason)
                after = await self._ledger.find(order.broker_order_number, order.trading_date)
                if order.id in state.cancels_taken or (after is not None and after.status is OrderStatus.CANCELED):
                    asked += 1
                continue
            except StockbotError as e:  # a broker failure: the next order is still tried
                await self._ledger.note(order, "cancel_failed", "ERROR", f"{order.symbol} cancel failed: {e}")
            # Whatever became of the cancel, the venue's state and executions of the order are taken in
            # (at the close the exchange has expired it: its fills must not wait for another session).
            await self._fills.sync_from_broker(order, reason)
        return asked

    async def on_broker_event(self, event: BrokerOrderEvent) -> None:
        """Apply one fill, cancel or reject notice from the venue (idempotent)."""
        if isinstance(event, CancelReport) and not await self._fills.settle_before_close(event.broker_order_number):
            return  # left working in our records: the next reconciliation takes its state and fills together
        dated = await self._fills.on_its_order_day(event.fill) if isinstance(event, FillReport) else None
        async with self._state.lock:
            match event:
                case FillReport():
                    if dated is not None and not await self._fills.already_covered(dated):
                        try:
                            await self._fills.record_fill_locked(dated, source="notice")
                            self._state.notice_refs.add(dated.broker_fill_id)
                        except (StockbotError, ValueError) as e:
                            await self._safety.enter_stop_mode(
                                f"fill notice {dated.broker_fill_id} does not fit our records: {e}"
                            )
                case CancelReport():
                    order = await self._ledger.find(event.broker_order_number, event.trading_date)
                    if order is not None and order.is_open:
                        await self._ledger.apply_event_locked(
                            order,
                            OrderCanceled(event.ts_event, event.reason),
                            "order_canceled",
                            "INFO",
                            f"{order.symbol} order {order.broker_order_number}: {event.reason}",
                        )
                case RejectReport():
                    order = await self._ledger.find(event.broker_order_number, event.trading_date)
                    if order is not None:
                        self._state.book.note_failed_order(order.symbol, event.ts_event)
                    if order is not None and order.is_open:
                        await self._ledger.apply_event_locked(
                            order,
                            OrderRejected(event.ts_event, event.reason, event.code),
                            "order_rejected",
                            "WARNING",
                            f"{order.symbol} rejected: {event.reason}",
                        )
                case StreamResumed():
                    pass  # handled below, outside the lock: it reads the venue
        if isinstance(event, StreamResumed):
            await self._fills.reconcile_open_orders(f"order stream resumed after {event.gap_secs:.1f} s")
        await self._safety.check_daily_loss()
