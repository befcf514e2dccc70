"""The order ledger: finding our orders, and writing one order change with its event in one transaction.

Every other part of execution changes an order through `OrderLedger.apply_event` (or `apply_event_locked`
when it already holds the lock); memory is replaced only after the commit.
"""

import copy
from datetime import date

from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.orders import Order, OrderEvent
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution.state import ExecutionPorts, ExecutionState


class OrderLedger:
    """Reads and writes of our orders for one account (see module docstring)."""

    def __init__(self, state: ExecutionState, ports: ExecutionPorts) -> None:
        self._state = state
        self._ports = ports

    async def find(self, broker_order_number: str, day: date | None = None) -> Order | None:
        """Return our order with this venue number (of trading date `day`, when given and the venue's numbers
        restart each day: only that day's order), from memory or the database; None when there is none.

        Where numbers never repeat, the number alone is the order: one that works across days (GTC) fills on
        later days than its own.
        """
        if not self._ports.venue.order_numbers_restart_daily:
            day = None
        number = normalize_order_number(broker_order_number)
        for order in self._state.open_orders.values():
            if (
                order.broker_order_number
                and normalize_order_number(order.broker_order_number) == number
                and day in (None, order.trading_date)
            ):
                return order
        async with self._ports.uow() as uow:
            return await uow.orders.get_by_broker_number(self._state.account_id, broker_order_number, day)

    async def apply_event(self, order: Order, event: OrderEvent, kind: str, severity: str, message: str) -> None:
        """Apply a broker event to `order`, persist it with an event row, then update memory (serialised)."""
        async with self._state.lock:
            await self.apply_event_locked(order, event, kind, severity, message)

    async def apply_event_locked(self, order: Order, event: OrderEvent, kind: str, severity: str, message: str) -> None:
        """As `apply_event`, for a caller that holds the lock; the newest in-memory copy is the one changed."""
        order = self._state.open_orders.get(order.id or -1, order)
        updated = copy.deepcopy(order)
        updated.apply(event)
        now = self._ports.clock.now()
        async with self._ports.uow() as uow:
            await uow.orders.update(updated, now)
            await record_event(
                uow,
                self._ports.notifier,
                ts=now,
                kind=kind,
                severity=severity,
                message=message,
                payload={
                    "order_id": updated.id,
                    "status": updated.status.value,
                    "broker_order_number": updated.broker_order_number,
                },
                correlation_id=updated.correlation_id,
                account_id=self._state.account_id,
            )
            await uow.commit()
        self._state.remember(updated)

    async def note(self, order: Order, kind: str, severity: str, message: str) -> None:
        """Record an event about `order` that changes nothing else."""
        async with self._ports.uow() as uow:
            await record_event(
                uow,
                self._ports.notifier,
                ts=self._ports.clock.now(),
                kind=kind,
                severity=severity,
                message=message,
                payload={"order_id": order.id},
                correlation_id=order.correlation_id,
                account_id=self._state.account_id,
            )
            await uow.commit()
