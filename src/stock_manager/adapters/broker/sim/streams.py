"""The sim broker's event streams: quote handlers per symbol set, order-event handlers, and the cancel
confirmations held until the next print (a venue confirms a cancel asynchronously)."""

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import Tick
from stock_manager.service_layer.ports.broker import BrokerOrderEvent, OrderEventHandler, TickHandler


class EventStreams:
    """Who is told of prints and order events, in subscription order, one handler at a time."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self._symbols = symbols
        self._quote_handlers: list[tuple[frozenset[str], TickHandler]] = []
        self._order_handlers: list[OrderEventHandler] = []
        self._pending: list[BrokerOrderEvent] = []

    def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the prints of `symbols` to `handler`.

        Raises
        ------
        ConfigurationError
            If a symbol is not replayed.
        """
        unknown = sorted(set(symbols) - set(self._symbols))
        if unknown:
            raise ConfigurationError(f"symbols {unknown} are not part of this replay")
        self._quote_handlers.append((frozenset(symbols), handler))

    def subscribe_orders(self, handler: OrderEventHandler) -> None:
        """Deliver fill, cancel and expiry notices to `handler`."""
        self._order_handlers.append(handler)

    def hold(self, event: BrokerOrderEvent) -> None:
        """Keep `event` until the next `deliver_held` (before the next print)."""
        self._pending.append(event)

    async def emit(self, event: BrokerOrderEvent) -> None:
        """Deliver an order event to every order handler, awaiting each."""
        for handler in self._order_handlers:
            await handler(event)

    async def deliver_held(self) -> None:
        """Deliver the events held so far, in order."""
        while self._pending:
            await self.emit(self._pending.pop(0))

    async def quote(self, tick: Tick) -> None:
        """Deliver a print to the quote handlers subscribed to its symbol."""
        for symbols, handler in self._quote_handlers:
            if tick.symbol in symbols:
                await handler(tick)
