"""The sim broker's commands: place an order (by quantity, or a market buy by KRW amount), burn a client order
id, cancel. Each accepted command is journaled and fsync-ed before it is acknowledged, so a rebuild after a
crash re-runs it (`recovery`).

A collaborator of `SimBroker` (in `broker`): it changes the matching engine at the replay clock's time and
holds each cancel confirmation until the next print (a venue confirms a cancel asynchronously).
"""

from decimal import Decimal

from stock_manager.adapters.broker.sim.journaling import ReplayJournal
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.broker.sim.records import encode_request, number
from stock_manager.adapters.broker.sim.streams import EventStreams
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.service_layer.ports.broker import OrderAck, OrderRequest


class VenueOrders:
    """The `Broker` port's order commands of the sim broker, plus the venue-only ones its fronts need."""

    def __init__(
        self, *, engine: MatchingEngine, journal: ReplayJournal, streams: EventStreams, clock: FixedClock
    ) -> None:
        self._engine = engine
        self._journal = journal
        self._streams = streams
        self._clock = clock

    def place(self, request: OrderRequest) -> OrderAck:
        """Accept an order now, or refuse it and burn its client order id (both journaled)."""
        try:
            ack = self._engine.submit(request, self._clock.now())
        except OrderRejectedByBroker:
            self._burn_refused(request.client_order_id)
            raise
        self._journal.write(
            self._journal.record("place", order_number=ack.broker_order_number, request=encode_request(request)),
            sync=True,
        )
        return ack

    def place_amount_buy(
        self, account_id: str, symbol: str, amount_krw: Decimal, client_order_id: str | None
    ) -> OrderAck:
        """Accept a market buy spending `amount_krw` now, or refuse it and burn its client order id."""
        try:
            ack = self._engine.submit_amount_buy(account_id, symbol, amount_krw, self._clock.now(), client_order_id)
        except OrderRejectedByBroker:
            self._burn_refused(client_order_id)
            raise
        self._journal.write(
            self._journal.record(
                "place_amount",
                order_number=ack.broker_order_number,
                account_id=account_id,
                symbol=symbol,
                amount_krw=number(amount_krw),
                client_order_id=client_order_id,
            ),
            sync=True,
        )
        return ack

    def burn(self, client_order_id: str) -> None:
        """Mark `client_order_id` used without an order (a front refused the order before the engine saw it)."""
        if self._engine.client_order_id_used(client_order_id):
            return
        self._engine.burn_client_order_id(client_order_id)
        self._journal.write(self._journal.record("burn", client_order_id=client_order_id), sync=True)

    def cancel(self, broker_order_number: str) -> None:
        """Cancel the remainder of an order now; its `CancelReport` is delivered before the next print."""
        report = self._engine.cancel(broker_order_number, self._clock.now())
        self._journal.write(self._journal.record("cancel", order_number=report.broker_order_number), sync=True)
        self._streams.hold(report)

    def _burn_refused(self, client_order_id: str | None) -> None:
        if client_order_id is not None:
            self.burn(client_order_id)
