"""The broker-facing half of `Execution`: an order whose outcome is unknown resolved by inquiry, cancelling
working orders, and the way back from the broker (fill, cancel and reject notices, a resumed stream).

A mixin: it works on the `Execution` it is part of (its units of work, broker, clock, lock and in-memory
orders); it is never used alone.
"""

from typing import TYPE_CHECKING

from stock_manager.domain.clock import kst_date
from stock_manager.domain.errors import OrderRejectedByBroker, StockbotError
from stock_manager.domain.model import Intent
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderRejected
from stock_manager.service_layer.broker_port import (
    BrokerOrderEvent,
    CancelReport,
    FillReport,
    RejectReport,
    StreamResumed,
)
from stock_manager.service_layer.reconciliation import same_shape, strip_number

if TYPE_CHECKING:
    from stock_manager.service_layer.execution import Execution


class BrokerDialogue:
    """Unknown outcomes resolved, working orders cancelled, broker notices applied (see module doc)."""

    async def _resolve_unknown(self: "Execution", order: Order) -> None:
        # KIS has no client order id: find our order among the broker's orders of the day by its shape.
        try:
            reports = await self._broker.get_orders(self.config.account_id, order.trading_date)
        except Exception as e:
            await self.enter_stop_mode(f"could not resolve order {order.idempotency_key}: {e}")
            return
        async with self._uow() as uow:
            ours = await uow.orders.list_for_date(self.config.account_id, order.trading_date)
        known = {strip_number(o.broker_order_number) for o in ours if o.broker_order_number}
        matches = [r for r in reports if strip_number(r.broker_order_number) not in known and same_shape(order, r)]
        if len(matches) == 1:
            r = matches[0]
            self._metrics.order_accepted(order.side.value, order.quantity)
            await self._apply_event(order, OrderAccepted(r.broker_order_number, r.ts_accepted, r.broker_branch),
                              "order_adopted", "WARNING", f"{order.symbol} order found at the broker as "
                              f"{r.broker_order_number}; adopted")
        elif not matches:
            self.book.note_failed_order(order.symbol, self._clock.now())
            not_placed = OrderCanceled(self._clock.now(), "not placed: no matching order at the broker")
            await self._apply_event(order, not_placed, "order_not_placed", "WARNING",
                                   f"{order.symbol} order never reached the broker")
        else:
            await self.enter_stop_mode(f"{len(matches)} broker orders match order {order.idempotency_key}")

    async def cancel_open_orders(self: "Execution", reason: str, *, intent: Intent | None = None) -> int:
        """Ask the broker to cancel every working order (of `intent`, if given); return how many are cancelled or
        being cancelled: the broker took this request, or refused it because it had taken an earlier one (ours,
        e.g. the close's, cut short by the kill switch, or the order is cancelled in our records after the
        refusal).

        NEW orders the broker never acknowledged are left for recovery: cancelling needs a broker number.
        """
        asked = 0
        for order in list(self.open_orders.values()):
            if intent is not None and order.intent is not intent:
                continue
            if order.broker_order_number is None or order.id is None:
                continue
            try:
                await self._broker.cancel_order(self.config.account_id, order.broker_order_number, order.broker_branch)
                self._cancels_taken.add(order.id)
                asked += 1
            except OrderRejectedByBroker as e:
                await self._note(order, "cancel_rejected", "WARNING", f"{order.symbol} cancel refused: {e}")
                await self.sync_from_broker(order, reason)
                after = await self._find(order.broker_order_number, order.trading_date)
                if order.id in self._cancels_taken or (after is not None and after.status is OrderStatus.CANCELED):
                    asked += 1
                continue
            except StockbotError as e:  # a broker failure: the next order is still tried
                await self._note(order, "cancel_failed", "ERROR", f"{order.symbol} cancel failed: {e}")
            # Whatever became of the cancel, the broker's state and executions of the order are taken in
            # (at the close the exchange has expired it: its fills must not wait for another session).
            await self.sync_from_broker(order, reason)
        return asked

    async def on_broker_event(self: "Execution", event: BrokerOrderEvent) -> None:
        """Apply one fill, cancel or reject notice from the broker (idempotent)."""
        if isinstance(event, CancelReport) and not await self.settle_before_close(event.broker_order_number):
            return  # left working in our records: the next reconciliation takes its state and fills together
        dated = await self._on_its_order_day(event.fill) if isinstance(event, FillReport) else None
        async with self._lock:
            match event:
                case FillReport():
                    if dated is None or await self._already_covered(dated):
                        pass
                    else:
                        fill = dated
                        try:
                            await self._record_fill(fill, source="notice")
                            self._notice_refs.add(fill.broker_fill_id)
                        except (StockbotError, ValueError) as e:
                            await self._stop_locked(f"fill notice {fill.broker_fill_id} does not fit our records: {e}")
                case CancelReport():
                    order = await self._find(event.broker_order_number, kst_date(event.ts_event))
                    if order is not None and order.is_open:
                        await self._apply_event(order, OrderCanceled(event.ts_event, event.reason), "order_canceled",
                                          "INFO", f"{order.symbol} order {order.broker_order_number}: {event.reason}")
                case RejectReport():
                    order = await self._find(event.broker_order_number, kst_date(event.ts_event))
                    if order is not None:
                        self.book.note_failed_order(order.symbol, event.ts_event)
                    if order is not None and order.is_open:
                        await self._apply_event(order, OrderRejected(event.ts_event, event.reason, event.code),
                                          "order_rejected", "WARNING", f"{order.symbol} rejected: {event.reason}")
                case StreamResumed():
                    pass  # handled below, outside the lock: it reads the broker
        if isinstance(event, StreamResumed):
            await self.reconcile_open_orders(f"order stream resumed after {event.gap_secs:.1f} s")
        await self.check_daily_loss()
