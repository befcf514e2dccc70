"""The matching engine's order book: every accepted order by number, the working ones in time priority, the
client order ids used (single-use), and the numbering.

A collaborator of `MatchingEngine` (in `matching`), which decides what is accepted, filled and closed; the
book only keeps the orders and answers for them. Order numbers are 10-digit zero-padded (``"0000000001"``)
and never reused within a replay. The working list is shared with the engine's `AccountLedger`, which reads
the reservations of the working orders from it.
"""

from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.broker.sim.book import BookOrder
from stock_manager.adapters.broker.sim.order_rules import (
    ORDER_NUMBER_DIGITS,
    normalize_order_number,
    report_of,
    require_unused,
)
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState, CancelReport, OrderAck


class OrderBook:
    """The orders of one account on the simulated venue.

    Attributes
    ----------
    working : list[BookOrder]
        The orders that can still fill, in time priority (the engine matches prints against them in order).
    """

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.working: list[BookOrder] = []
        self._orders: dict[str, BookOrder] = {}
        self._client_ids: dict[str, str] = {}  # client order id → order number ("" when only burnt)
        self._next_number = 1

    def accept(self, order: BookOrder) -> OrderAck:
        """Number `order`, file it as working (last in time priority) and record its client order id."""
        order.number = str(self._next_number).zfill(ORDER_NUMBER_DIGITS)
        self._next_number += 1
        self._orders[order.number] = order
        self.working.append(order)
        if order.request.client_order_id is not None:
            self._client_ids[order.request.client_order_id] = order.number
        return OrderAck(broker_order_number=order.number, venue_order_ref="", ts_accepted=order.ts_accepted)

    def find(self, order_number: str) -> BookOrder | None:
        """Return the order numbered `order_number` (padded or not), or None."""
        return self._orders.get(normalize_order_number(order_number))

    def retire_filled(self, order: BookOrder) -> None:
        """Mark a working order FILLED and take it off the working list."""
        order.state = BrokerOrderState.FILLED
        self.working.remove(order)

    def close(self, order: BookOrder, ts: datetime, reason: str) -> CancelReport:
        """Cancel the remainder of a working order at `ts` and report the quantity that will never fill."""
        remaining = order.remaining
        order.state = BrokerOrderState.CANCELED
        self.working.remove(order)
        return CancelReport(
            account_id=self.account_id,
            broker_order_number=order.number,
            canceled_quantity=remaining,
            ts_event=ts,
            reason=reason,
            trading_date=order.trading_date,
        )

    # -- CLIENT ORDER IDS -----------------------------------------------------------------------------

    def require_unused(self, client_order_id: str | None) -> None:
        """Raise `OrderRejectedByBroker` when `client_order_id` was used before (None is never checked)."""
        require_unused(self._client_ids, client_order_id)

    def burn_client_order_id(self, client_order_id: str) -> None:
        """Mark a client order id as used although no order was accepted with it."""
        self._client_ids.setdefault(client_order_id, "")

    def client_order_id_used(self, client_order_id: str) -> bool:
        """Return True when `client_order_id` was used by an order or burnt."""
        return client_order_id in self._client_ids

    def order_by_client_id(self, client_order_id: str) -> BrokerOrderReport | None:
        """Return the order placed with `client_order_id`, or None (never placed, or the id only burnt)."""
        number = self._client_ids.get(client_order_id)
        return self.order(number) if number else None

    # -- REPORTS --------------------------------------------------------------------------------------

    def orders(self, trading_date: date | None = None) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` (all orders when None) in order-number order."""
        return [
            report_of(self.account_id, order)
            for order in self._orders.values()
            if trading_date is None or order.trading_date == trading_date
        ]

    def working_orders(self) -> list[BrokerOrderReport]:
        """Return the orders that can still fill, in time priority."""
        return [report_of(self.account_id, order) for order in self.working]

    def order(self, order_number: str) -> BrokerOrderReport | None:
        """Return one order's report, or None when the number is unknown."""
        order = self.find(order_number)
        return report_of(self.account_id, order) if order is not None else None

    def order_amount_krw(self, order_number: str) -> Decimal | None:
        """Return the KRW amount of a market buy by amount, or None (another order, or an unknown number)."""
        order = self.find(order_number)
        return order.amount_krw if order is not None else None
