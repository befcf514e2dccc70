"""`UpbitExchangeSimulator`: an Upbit-compatible REST + WebSocket server on loopback in front of a `SimBroker`.

The venue (replay, matching engine, journal) is the venue-neutral `SimBroker` replaying the Upbit market; this
class is only a protocol front. REST handlers (`rest_exchange`, `rest_quotes`) call the venue's methods and read
its `book`; the venue's prints and order events become ``trade``/``ticker`` and ``myOrder``/``myAsset`` frames
(`events`). REST and both WebSocket endpoints share one port, as on ``api.upbit.com``.

Time: the market is the venue's replay clock (order and trade times, candles, what may be shown); rate-limit
windows use the injected wall clock; WebSocket idle and keep-alive timing the event loop's.

Lockstep (in-process replays): with `after_broadcast`, every venue event (a print, a fill, a cancel) is followed
by ``await after_broadcast()``, so a client that waits until it has handled `data_frames_sent` frames keeps the
replay deterministic. Frames sent from inside a REST or WebSocket handler (an order's ``wait`` event, a
subscription's snapshot) are counted but not waited for there; the next venue event waits for them.

A cancel (``DELETE /v1/order``) is applied to the venue at once, but the order shows ``wait`` until the venue
delivers its confirmation before its next print; then the ``myOrder`` ``cancel`` event goes out and the order
shows ``cancel`` (the asynchronous cancel of §4.9). Fills racing a cancel are not simulated.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.broker.upbit_sim.auth import JwtGate, UpbitKey
from stock_manager.adapters.broker.upbit_sim.events import EventFeed
from stock_manager.adapters.broker.upbit_sim.faults import FaultLog, UpbitFaultKnobs
from stock_manager.adapters.broker.upbit_sim.limits import DEFAULT_LIMITS, RateGate
from stock_manager.adapters.broker.upbit_sim.market_view import MarketView
from stock_manager.adapters.broker.upbit_sim.render import OrderFacts, OrderIds
from stock_manager.adapters.broker.upbit_sim.ws import WsHub
from stock_manager.adapters.venues.upbit.calendar import MaintenanceWindow
from stock_manager.adapters.venues.upbit.replay import UpbitReplayMarket
from stock_manager.adapters.venues.upbit.rules import MAX_ORDER_KRW
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType
from stock_manager.service_layer.ports.broker import (
    BrokerOrderEvent,
    BrokerOrderReport,
    BrokerOrderState,
    CancelReport,
    FillReport,
)

#: The key pair `stockbot exchange-sim --venue upbit` accepts by default (printed when it starts).
_SIM_SECRET: Final = "SIMUPBITSECRETKEY00000000000000000000001"  # noqa: S105 - the simulator's published fake key
DEFAULT_KEY: Final = UpbitKey(access_key="SIMUPBITACCESSKEY000000000000000000000001", secret_key=_SIM_SECRET)
type Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class SimRecords:
    """What the server saw, for tests: requests per ``METHOD /path`` and the order bodies received."""

    requests_per_path: Counter[str] = field(default_factory=Counter)
    orders_received: list[dict[str, Any]] = field(default_factory=list)


class UpbitExchangeSimulator:
    """An Upbit API server (REST and WebSocket) on 127.0.0.1 in front of a `SimBroker` replaying Upbit.

    Parameters
    ----------
    venue : SimBroker
        The replaying exchange (``venue="upbit"``); every key maps onto its one account.
    keys : Sequence[UpbitKey]
        Key pairs accepted (default: `DEFAULT_KEY`).
    wall_clock : Clock
        Real time, for the per-second rate-limit windows and blocks.
    sleep : Callable[[float], Awaitable[None]]
        Real-time sleep (delayed events, periodic faults); `asyncio.sleep` by default.
    rate_limits : Mapping[str, int] | None
        Requests per second per group (default `limits.DEFAULT_LIMITS`: default 30, order 8, quotation groups
        10; the candle group is named ``candles``); None disables limiting (``Remaining-Req`` is still sent).
    block_after_429s, block_secs
        A key or IP answered 429 this many times in a row is blocked (418) for `block_secs`, doubled per repeat.
    faults : UpbitFaultKnobs | None
        Fault knobs, settable while running.
    fault_log : FaultLog | None
        Where injected faults are counted (and logged); in memory by default.
    after_broadcast : Callable[[], Awaitable[None]] | None
        Awaited after each venue event (lockstep; module docstring).
    host, port
        Where to listen (REST and WebSocket); port 0 picks a free one. Only loopback is meant.
    idle_timeout_secs, status_up_interval_secs : float
        WebSocket idle close (120 s) and the ``{"status":"UP"}`` repeat after a text ``PING`` (10 s).
    max_total_krw : Decimal
        Largest order value (``max_total``, 1,000,000,000 KRW).
    identifier_max_chars : int | None
        Longest ``identifier`` accepted (32; None: no limit) [U: a 32-character limit is reported by a third party;
        enforced so that our own identifiers, re-sends included, stay within it].
    lenient_query_hash : bool
        Also accept ``query_hash`` over the raw percent-encoded query.
    maintenance : Sequence[MaintenanceWindow]
        Windows in which orders are refused with 403 ``market_offline`` (venue time).

    Raises
    ------
    ConfigurationError
        Without keys, or for a venue that does not replay Upbit markets.
    """

    def __init__(
        self,
        venue: SimBroker,
        *,
        keys: Sequence[UpbitKey] = (DEFAULT_KEY,),
        wall_clock: Clock,
        sleep: Sleep = asyncio.sleep,
        rate_limits: Mapping[str, int] | None = DEFAULT_LIMITS,
        block_after_429s: int = 10,
        block_secs: float = 60.0,
        faults: UpbitFaultKnobs | None = None,
        fault_log: FaultLog | None = None,
        after_broadcast: Callable[[], Awaitable[None]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout_secs: float = 120.0,
        status_up_interval_secs: float = 10.0,
        max_total_krw: Decimal = MAX_ORDER_KRW,
        identifier_max_chars: int | None = 32,
        lenient_query_hash: bool = False,
        maintenance: Sequence[MaintenanceWindow] = (),
    ) -> None:
        if not keys:
            raise ConfigurationError("the Upbit simulator needs at least one key")
        self.venue = venue
        self.sleep = sleep
        self.faults = faults or UpbitFaultKnobs()
        self.fault_log = fault_log or FaultLog()
        self.after_broadcast = after_broadcast
        self.max_total_krw = max_total_krw
        self.identifier_max_chars = identifier_max_chars
        self.market = UpbitReplayMarket(venue.symbols, maintenance=maintenance)
        self._instruments = self.market.instruments()
        self.jwt_gate = JwtGate(keys, lenient_query_hash=lenient_query_hash)
        self.rate_gate = RateGate(
            wall_clock, None if rate_limits is None else dict(rate_limits), block_after_429s, block_secs
        )
        self.hub = WsHub(
            self.jwt_gate,
            self._snapshot,
            idle_timeout_secs=idle_timeout_secs,
            status_up_interval_secs=status_up_interval_secs,
        )
        self.market_view = MarketView(self.market)
        self.ids = OrderIds(venue.book, venue.replay_id)
        self.events = EventFeed(self, self._spawn)
        self.records = SimRecords()
        self.pending_cancels: set[str] = set()
        self.stopping = asyncio.Event()
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._subscribed = False
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.rest_base_url = ""

    # -- LIFECYCLE ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (REST and WebSocket on one port) and attach to the venue's prints and order events."""
        from stock_manager.adapters.broker.upbit_sim.rest import build_app

        if not self._subscribed:
            await self.venue.subscribe_quotes(list(self.venue.symbols), self._on_tick)
            await self.venue.subscribe_order_events(self._on_order_event)
            self._subscribed = True
        self.stopping.clear()
        runner = web.AppRunner(build_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.rest_base_url = f"http://{host}:{port}"
        self._running = True
        if self.faults.drop_ws_every_secs > 0:
            self._spawn(self._every(self.faults.drop_ws_every_secs, self.drop_ws_connections))

    async def stop(self) -> None:
        """Stop listening, close every connection and release hung requests; the venue is untouched."""
        self._running = False
        self.stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "UpbitExchangeSimulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ws_public_url(self) -> str:
        """Return ``ws://127.0.0.1:<port>/websocket/v1``."""
        return self.rest_base_url.replace("http://", "ws://") + "/websocket/v1"

    @property
    def ws_private_url(self) -> str:
        """Return ``ws://127.0.0.1:<port>/websocket/v1/private``."""
        return self.ws_public_url + "/private"

    @property
    def data_frames_sent(self) -> int:
        """Return the data frames (binary: ticker, trade, myOrder, myAsset) sent over all connections so far."""
        return self.hub.data_frames_sent

    # -- FAULT ACTIONS --------------------------------------------------------------------------------------

    def drop_ws_connections(self) -> int:
        """Abort every WebSocket connection now (close code 1006 at the client); return how many."""
        dropped = self.hub.drop_all()
        if dropped:
            self.fault_log.note("ws_dropped", connections=dropped)
        return dropped

    async def _every(self, interval_secs: float, action: Callable[[], int]) -> None:
        while self._running:
            await self.sleep(interval_secs)
            if self._running:
                action()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- VENUE EVENTS ---------------------------------------------------------------------------------------

    async def _on_tick(self, tick: Tick) -> None:
        if self._running:
            await self.events.on_tick(tick)
            await self._lockstep()

    async def _on_order_event(self, event: BrokerOrderEvent) -> None:
        if self._running and isinstance(event, FillReport | CancelReport):
            await self.events.on_order_event(event)
            await self._lockstep()

    async def _lockstep(self) -> None:
        if self.after_broadcast is not None:
            await self.after_broadcast()

    def _snapshot(self, kind: str, code: str) -> dict[str, Any] | None:
        if code not in self.venue.symbols:
            return None
        now = self.venue.clock.now()
        if kind == "ticker":
            return self.market_view.ticker_event(code, self.base_price(code), now, "SNAPSHOT")
        trade = self.market_view.last_trade(code)
        return None if trade is None else self.market_view.trade_event(trade, self.base_price(code), now, "SNAPSHOT")

    # -- FOR THE HANDLERS -----------------------------------------------------------------------------------

    def facts(self, report: BrokerOrderReport, *, upto_fill: str | None = None) -> OrderFacts:
        """Return the wire facts of `report` (with only its fills up to `upto_fill` when given)."""
        fills = [f for f in self.venue.book.fills() if f.broker_order_number == report.broker_order_number]
        if upto_fill is not None:
            fills = fills[: next(i for i, f in enumerate(fills) if f.broker_fill_id == upto_fill) + 1]
        return OrderFacts(
            report,
            fills,
            self.venue.book.order_amount_krw(report.broker_order_number),
            self.venue.book.commission_rate,
            pending_cancel=report.broker_order_number in self.pending_cancels,
        )

    def find(self, *, uuid: str | None = None, identifier: str | None = None) -> BrokerOrderReport | None:
        """Return the order with `uuid` or else `identifier`, or None."""
        if uuid is not None:
            number = self.ids.number_of(uuid)
            return self.venue.book.order(number) if number is not None else None
        return self.venue.book.order_by_client_id(identifier) if identifier else None

    def open_reports(self) -> list[BrokerOrderReport]:
        """Return the working orders and those whose cancel is not confirmed yet."""
        working = self.venue.book.working_orders()
        pending = [r for n in sorted(self.pending_cancels) if (r := self.venue.book.order(n)) is not None]
        return working + [r for r in pending if r not in working]

    def closed_reports(self) -> list[BrokerOrderReport]:
        """Return the finished orders (a pending cancel is not finished yet)."""
        return [
            r
            for r in self.venue.book.orders()
            if r.state is not BrokerOrderState.OPEN and r.broker_order_number not in self.pending_cancels
        ]

    async def cancel(self, order_number: str) -> None:
        """Cancel an order at the venue; its confirmation follows before the venue's next print."""
        report = self.venue.book.order(order_number)
        await self.venue.cancel_order(self.venue.account_id, order_number)
        if self.venue.finished and report is not None:  # no next print will ever deliver the confirmation
            await self.events.on_order_event(
                CancelReport(
                    self.venue.account_id,
                    order_number,
                    report.quantity - report.filled_quantity,
                    self.venue.clock.now(),
                    "canceled by request",
                    report.trading_date,
                )
            )
        else:
            self.pending_cancels.add(order_number)

    def accepts_orders(self) -> bool:
        """Return False during a maintenance window (venue time)."""
        now = self.venue.clock.now()
        return self.market.session(self.market.trading_date_of(now)).accepts(now, OrderType.LIMIT)

    def instrument(self, symbol: str) -> Instrument:
        """Return the instrument of a replayed market."""
        return self._instruments[symbol]

    def base_price(self, symbol: str) -> Decimal:
        """Return the current day's base price (previous close) of `symbol`."""
        quote = self.venue.book.day_quote(symbol)
        if quote is not None:
            return quote.base_price
        bar = self.market.previous_close(symbol, self.market.trading_date_of(self.venue.clock.now()))
        return bar.close if bar is not None else Decimal(0)

    def last_price(self, symbol: str) -> Decimal:
        """Return the last trade's price, or the base price before any."""
        trade = self.market_view.last_trade(symbol)
        return trade.tick.price if trade is not None else self.base_price(symbol)
