"""The venue's events as Upbit WebSocket messages: each print as ``trade`` and ``ticker``; each order change as
``myOrder`` (``wait`` when accepted, ``trade`` per fill followed by ``done`` when it completes the order,
``cancel``) followed by ``myAsset`` with the balances.

Fault knobs act here: ``duplicate_my_order_events`` sends each ``trade`` event twice; ``my_order_delay_secs``
sends them late (from a task; a delayed event is not waited for by the lockstep).
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stock_manager.adapters.broker.upbit_sim.render import my_asset_event, my_order_event
from stock_manager.domain.market import Tick
from stock_manager.service_layer.ports.broker import BrokerOrderState, CancelReport, FillReport

if TYPE_CHECKING:
    from stock_manager.adapters.broker.upbit_sim.server import UpbitExchangeSimulator


class EventFeed:
    """Turns venue events into frames for the subscribed sessions (see the module docstring)."""

    def __init__(self, sim: "UpbitExchangeSimulator", spawn: Callable[[Awaitable[None]], None]) -> None:
        self._sim = sim
        self._spawn = spawn
        self.my_order_events: list[dict[str, Any]] = []  # every myOrder event sent (for tests)

    async def on_tick(self, tick: Tick) -> None:
        """Publish one print as the market's trade and ticker."""
        sim = self._sim
        trade = sim.market_view.observe(tick)
        base = sim.base_price(tick.symbol)
        now = sim.venue.clock.now()
        if sim.hub.subscribers("trade", tick.symbol):
            await sim.hub.broadcast("trade", tick.symbol, sim.market_view.trade_event(trade, base, now, "REALTIME"))
        if sim.hub.subscribers("ticker", tick.symbol):
            await sim.hub.broadcast(
                "ticker", tick.symbol, sim.market_view.ticker_event(tick.symbol, base, now, "REALTIME")
            )

    async def order_accepted(self, order_number: str) -> None:
        """Send the ``wait`` event of a new order, then the balances."""
        await self._order_event(order_number, "wait", self._sim.venue.clock.now())
        await self._assets()

    async def on_order_event(self, event: FillReport | CancelReport) -> None:
        """Send the ``myOrder`` events of a fill or a cancel, then the balances."""
        sim = self._sim
        if isinstance(event, FillReport):
            fill = event.fill
            report = sim.venue.book.order(fill.broker_order_number)
            if report is None:
                return
            copies = 2 if sim.faults.duplicate_my_order_events else 1
            if sim.faults.take_lost_my_order_event():
                sim.fault_log.note("lost_my_order_event", order=fill.broker_order_number)
                copies = 0
            elif copies > 1:
                sim.fault_log.note("duplicate_my_order_event", order=fill.broker_order_number)
            message = self._message(fill.broker_order_number, "trade", fill.ts_filled, fill_id=fill.broker_fill_id)
            delay = sim.faults.my_order_delay_secs
            if copies and delay > 0:
                sim.fault_log.note("delayed_my_order_event", order=fill.broker_order_number, delay_secs=delay)
                self._spawn(self._later(delay, message, copies))
            else:
                for _ in range(copies):
                    await self._send_my_order(message)
            if report.state is BrokerOrderState.FILLED:
                await self._order_event(fill.broker_order_number, "done", fill.ts_filled)
        else:
            sim.pending_cancels.discard(event.broker_order_number)
            await self._order_event(event.broker_order_number, "cancel", event.ts_event)
        await self._assets()

    async def _order_event(self, order_number: str, state: str, ts: datetime) -> None:
        await self._send_my_order(self._message(order_number, state, ts))

    def _message(self, order_number: str, state: str, ts: datetime, *, fill_id: str | None = None) -> dict[str, Any]:
        sim = self._sim
        report = sim.venue.book.order(order_number)
        assert report is not None
        facts = sim.facts(report, upto_fill=fill_id)
        fill = next((f for f in facts.fills if f.broker_fill_id == fill_id), None) if fill_id else None
        return my_order_event(facts, sim.ids, state, ts, fill=fill)

    async def _send_my_order(self, message: dict[str, Any]) -> None:
        self.my_order_events.append(message)
        await self._sim.hub.broadcast("myOrder", message["code"], message)

    async def _later(self, delay: float, message: dict[str, Any], copies: int) -> None:
        await self._sim.sleep(delay)
        for _ in range(copies):
            await self._send_my_order(message)

    async def _assets(self) -> None:
        sim = self._sim
        if sim.hub.subscribers("myAsset", ""):
            await sim.hub.broadcast(
                "myAsset", "", my_asset_event(sim.venue.book, sim.venue.clock.now(), str(uuid.uuid4()))
            )
