"""The Upbit adapter's two WebSocket streams as the port's events: public ``trade`` messages → `Tick`s, private
``myOrder`` messages → `FillReport` / `CancelReport`, a reconnect → `StreamResumed`.

Source: ../reference/upbit-openapi.md §5 and §9 pitfalls 8–10 (binary frames, keep-alive, resubscribe after a
reconnect, a new request replaces the set — all handled by `UpbitWebSocket`).

* Trades are subscribed ``is_only_realtime``: the snapshot would repeat a trade already delivered.
* ``myOrder``: ``trade`` → a fill (id = the trade uuid, fee = ``trade_fee``), each trade uuid delivered once per
  stream (a duplicate event is dropped and counted); ``cancel`` → a cancel report, except for a market buy by
  amount that spent its amount (it is filled; its ``cancel`` only refunds the dust); ``wait``, ``watch``,
  ``done`` and ``prevented`` carry nothing the port needs.
* Every data message handled, whatever its type, is reported to ``on_frame_handled`` (the in-process
  simulator's lockstep counts them).
* A session refused for good (``INVALID_AUTH``) awaits ``on_fatal``.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog

from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.reports import event_cancel, event_fill, is_spent_market_buy
from stock_manager.adapters.broker.upbit.websocket import Subscription, UpbitWebSocket
from stock_manager.adapters.broker.upbit.ws_messages import MyOrderEvent, TradeEvent, UpbitEvent
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.clock import Clock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import FatalBrokerError
from stock_manager.domain.market import Tick
from stock_manager.service_layer.ports.broker import (
    BrokerOrderEvent,
    FillReport,
    OrderEventHandler,
    StreamResumed,
    TickHandler,
)

log = structlog.get_logger(__name__)

#: Trade uuids remembered per stream to drop duplicate ``trade`` events.
REMEMBERED_TRADES: Final = 10_000
type FatalHandler = Callable[[FatalBrokerError], Awaitable[None]]


class UpbitStreams:
    """The public and the private WebSocket session of one adapter, opened on first subscription.

    Parameters
    ----------
    config : UpbitConfig
        URLs, keys and keep-alive timing.
    account_id : str
        The account the order events belong to.
    clock : Clock
        Wall clock (the time of `StreamResumed`).
    cost_model : CostModel
        The fee of a ``trade`` event without ``trade_fee``.
    on_frame_handled : Callable[[], None] | None
        Called after every data message was handled.
    on_fatal : Callable[[FatalBrokerError], Awaitable[None]] | None
        Awaited when a session is refused for good.
    ws_options : dict
        Extra `UpbitWebSocket` options (``sleep``, timing) for tests.
    """

    def __init__(
        self,
        config: UpbitConfig,
        *,
        account_id: str,
        clock: Clock,
        cost_model: CostModel,
        on_frame_handled: Callable[[], None] | None = None,
        on_fatal: FatalHandler | None = None,
        **ws_options: Any,
    ) -> None:
        self._config = config
        self._account_id = account_id
        self._clock = clock
        self._costs = cost_model
        self._on_frame_handled = on_frame_handled
        self._on_fatal = on_fatal
        self._ws_options = ws_options
        self._quote_handlers: list[tuple[frozenset[str], TickHandler]] = []
        self._order_handlers: list[OrderEventHandler] = []
        self._trades_seen: deque[str] = deque(maxlen=REMEMBERED_TRADES)
        self.public: UpbitWebSocket | None = None
        self.private: UpbitWebSocket | None = None
        self.duplicates_dropped = 0
        self._lock = asyncio.Lock()

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the trades of `symbols` to `handler` (the public session's set is the union of all asked)."""
        async with self._lock:
            self._quote_handlers.append((frozenset(symbols), handler))
            codes = tuple(sorted({s for symbols_, _ in self._quote_handlers for s in symbols_}))
            subscriptions = [Subscription("trade", codes, is_only_realtime=True)]
            if self.public is None:
                self.public = UpbitWebSocket.public(
                    self._config, subscriptions, on_event=self._on_public, on_fatal=self._fatal, **self._ws_options
                )
                await self.public.start()
            else:
                await self.public.subscribe(subscriptions)

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver fills, cancels and `StreamResumed` of every market to `handler`."""
        async with self._lock:
            self._order_handlers.append(handler)
            if self.private is None:
                self.private = UpbitWebSocket.private(
                    self._config,
                    [Subscription("myOrder")],
                    on_event=self._on_private,
                    on_resumed=self._resumed,
                    on_fatal=self._fatal,
                    **self._ws_options,
                )
                await self.private.start()

    async def close(self) -> None:
        """Close both sessions."""
        for session in (self.public, self.private):
            if session is not None:
                await session.close()

    async def _on_public(self, event: UpbitEvent) -> None:
        try:
            if isinstance(event, TradeEvent):
                tick = Tick(event.market, event.trade_price, event.trade_volume, event.traded_at)
                for symbols, handler in list(self._quote_handlers):
                    if event.market in symbols:
                        await handler(tick)
        finally:
            self._handled()

    async def _on_private(self, event: UpbitEvent) -> None:
        try:
            if isinstance(event, MyOrderEvent):
                await self._my_order(event)
        finally:
            self._handled()

    async def _my_order(self, event: MyOrderEvent) -> None:
        report: BrokerOrderEvent | None = None
        if event.is_fill:
            fill = event_fill(event, self._costs)
            if fill is None:
                log.warning("upbit_fill_event_unusable", order=event.uuid, trade=event.trade_uuid)
                return
            if fill.broker_fill_id in self._trades_seen:
                self.duplicates_dropped += 1
                log.info("upbit_duplicate_fill_dropped", order=event.uuid, trade=fill.broker_fill_id)
                return
            self._trades_seen.append(fill.broker_fill_id)
            report = FillReport(self._account_id, fill)
        elif event.state == "cancel" and not is_spent_market_buy(event):
            report = event_cancel(self._account_id, event)
        if report is not None:
            await self._emit(report)

    async def _resumed(self, gap_secs: float) -> None:
        await self._emit(StreamResumed(self._account_id, self._clock.now(), gap_secs))

    async def _emit(self, event: BrokerOrderEvent) -> None:
        for handler in list(self._order_handlers):
            try:
                await handler(event)
            except Exception as e:  # one handler's failure must not keep the event from the others
                log.error(
                    "upbit_order_event_handler_failed",
                    event_type=type(event).__name__,
                    error=mask(f"{type(e).__name__}: {e}"),
                )

    async def _fatal(self, error: FatalBrokerError) -> None:
        if self._on_fatal is not None:
            await self._on_fatal(error)

    def _handled(self) -> None:
        if self._on_frame_handled is not None:
            self._on_frame_handled()
