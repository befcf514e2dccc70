"""`KisExchangeSimulator`: a KIS-compatible REST + WebSocket server on loopback in front of a `SimBroker`.

The venue (replay, matching engine, journal) is the walking skeleton's `SimBroker`; this class is only a
protocol front. REST handlers call the venue's methods; the venue's print and order-event handlers are
turned into H0STCNT0 frames and encrypted H0STCNI0/H0STCNI9 notices for the subscribed sessions.

Time: the market is the venue's replay clock (order times, dates, notices); tokens, approval keys, rate
limits and heartbeats use the injected wall clock and sleep.

Lockstep (in-process ``--mode sim`` only): with `after_broadcast`, every venue event (a print, a fill, a
cancel) is followed by ``await after_broadcast()``, so a client that waits until it has handled
`data_frames_sent` frames keeps the replay deterministic. Frames sent from inside a REST handler (the
acceptance notice of an order) are counted but not waited for there (the client is blocked on that very
request); the next venue event waits for them.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from stock_manager.adapters.broker.kis_sim.auth import Gateway, KisCredential
from stock_manager.adapters.broker.kis_sim.faults import FaultKnobs, FaultLog
from stock_manager.adapters.broker.kis_sim.frames import TRADE_TR, Notice, TradeRecorder
from stock_manager.adapters.broker.kis_sim.ledger import Ledger, OrderMeta
from stock_manager.adapters.broker.kis_sim.notices import NoticeRelay, build_notice
from stock_manager.adapters.broker.kis_sim.wire import KisMode
from stock_manager.adapters.broker.kis_sim.ws import MAX_REGISTRATIONS, Sleep, WsHub
from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.marketdata import previous_close, symbol_info
from stock_manager.adapters.venues.krx.rules import tick_size
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import Tick
from stock_manager.domain.model import InstrumentKind, OrderType
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import BrokerOrderEvent, BrokerOrderReport, CancelReport, FillReport

log = logging.getLogger(__name__)

#: Requests per second per app key (reference §6.1).
DEFAULT_RATE_LIMITS: dict[KisMode, float] = {"real": 20.0, "paper": 2.0}
#: Rows per page (reference §3.3): daily orders 100 real / 15 paper, balance 50 / 20, revisable orders 50.
DEFAULT_PAGE_SIZES: dict[KisMode, dict[str, int]] = {
    "real": {"daily_ccld": 100, "balance": 50, "psbl_rvsecncl": 50},
    "paper": {"daily_ccld": 15, "balance": 20, "psbl_rvsecncl": 50},
}
BY_MODE = "by-mode"

#: The credential `stockbot exchange-sim` accepts by default (printed when it starts).
DEFAULT_CREDENTIAL = KisCredential(
    app_key="PSSIMULATORAPPKEY0000000000000000001",
    app_secret="SIMSECRET" + "0" * 171,
    account="50000000-01",
    hts_id="simhts",
)


@dataclass(slots=True)
class ReceivedOrder:
    """An order or revise/cancel request as the server received it (for tests)."""

    tr_id: str
    body: dict[str, Any]
    ts_wall: datetime
    outcome: str = ""  # "accepted <ODNO>", "rejected <msg_cd>", "error <msg_cd>"


@dataclass(slots=True)
class SimRecords:
    """What the server saw, for tests: requests per TR id and path, orders, and notices sent (plain)."""

    requests_per_tr: Counter[str] = field(default_factory=Counter)
    requests_per_path: Counter[str] = field(default_factory=Counter)
    orders_received: list[ReceivedOrder] = field(default_factory=list)
    notices_sent: list[list[str]] = field(default_factory=list)
    hashkeys_issued: int = 0


class KisExchangeSimulator:
    """A KIS Open API server (REST and WebSocket) on 127.0.0.1 in front of a `SimBroker`.

    Parameters
    ----------
    venue : SimBroker
        The replaying exchange; its one account is what every credential's account maps onto.
    mode : "real" | "paper"
        Which environment to play: TR ids (V prefix on paper), message codes, page sizes, rate limit,
        notice TR (H0STCNI0 / H0STCNI9), ODNO padding in order responses (paper unpadded).
    credentials : Sequence[KisCredential]
        App keys accepted (default: `DEFAULT_CREDENTIAL`).
    wall_clock : Clock
        Real time for tokens, approval keys, rate limits and PINGPONG.
    sleep : Callable[[float], Awaitable[None]]
        Real-time sleep (heartbeats, delayed notices); `asyncio.sleep` by default.
    rate_limit_per_sec : float | None | "by-mode"
        Requests per second per app key (20 real, 2 paper by default); None disables the limit.
    faults : FaultKnobs | None
        Fault knobs, settable while running (`faults` attribute); the periodic ones and the token gate are
        read when the simulator starts.
    fault_log : FaultLog | None
        Where every injected fault is counted (and logged); a fresh in-memory one by default.
    after_broadcast : Callable[[], Awaitable[None]] | None
        Awaited after each venue event (lockstep; see the module docstring).
    host, rest_port, ws_port
        Where to listen; port 0 picks a free port. Only loopback is meant.
    pingpong_interval_secs : float | None
        PINGPONG period (KIS ~100 s [U]); None sends none.
    max_registrations : int
        WebSocket registrations per session (41).
    page_sizes : dict[str, int] | None
        Overrides of the rows per page (keys ``daily_ccld``, ``balance``, ``psbl_rvsecncl``).

    Raises
    ------
    ConfigurationError
        For an unknown mode or no credentials.
    """

    def __init__(
        self,
        venue: SimBroker,
        *,
        mode: KisMode = "paper",
        credentials: Sequence[KisCredential] = (DEFAULT_CREDENTIAL,),
        wall_clock: Clock,
        sleep: Sleep = asyncio.sleep,
        rate_limit_per_sec: float | str | None = BY_MODE,
        faults: FaultKnobs | None = None,
        fault_log: FaultLog | None = None,
        after_broadcast: Callable[[], Awaitable[None]] | None = None,
        host: str = "127.0.0.1",
        rest_port: int = 0,
        ws_port: int = 0,
        pingpong_interval_secs: float | None = 100.0,
        max_registrations: int = MAX_REGISTRATIONS,
        page_sizes: dict[str, int] | None = None,
    ) -> None:
        if mode not in ("real", "paper"):
            raise ConfigurationError(f"the KIS simulator mode must be 'real' or 'paper', was {mode!r}")
        if not credentials:
            raise ConfigurationError("the KIS simulator needs at least one credential")
        rate = DEFAULT_RATE_LIMITS[mode] if rate_limit_per_sec == BY_MODE else rate_limit_per_sec
        self.venue = venue
        self.mode: KisMode = mode
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.faults = faults or FaultKnobs()
        self.fault_log = fault_log or FaultLog()
        self.after_broadcast = after_broadcast
        self.gateway = Gateway(mode, list(credentials), wall_clock, float(rate) if rate is not None else None)
        self.hub = WsHub(
            self.gateway,
            mode,
            wall_clock,
            sleep,
            pingpong_interval_secs=pingpong_interval_secs,
            max_registrations=max_registrations,
        )
        self.ledger = Ledger()
        self.records = SimRecords()
        self.page_sizes = {**DEFAULT_PAGE_SIZES[mode], **(page_sizes or {})}
        self.trades = TradeRecorder()
        self._notices = NoticeRelay(self)
        self._host, self._rest_port, self._ws_port = host, rest_port, ws_port
        self._runner: web.AppRunner | None = None
        self._subscribed = False
        self._running = False
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.rest_base_url = ""

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on REST and WebSocket ports and attach to the venue's prints and order events."""
        from stock_manager.adapters.broker.kis_sim.rest import build_app

        if not self._subscribed:
            await self.venue.subscribe_quotes(list(self.venue.symbols), self._on_tick)
            await self.venue.subscribe_order_events(self._on_order_event)
            self._subscribed = True
        self.stopping.clear()
        runner = web.AppRunner(build_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._rest_port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.rest_base_url = f"http://{host}:{port}"
        await self.hub.start(self._host, self._ws_port)
        self._running = True
        self.gateway.token_gate = timedelta(seconds=self.faults.token_gate_secs)
        if self.faults.drop_ws_every_secs > 0:
            self.spawn(self._every(self.faults.drop_ws_every_secs, self.drop_ws_connections))
        if self.faults.expire_tokens_every_secs > 0:
            self.spawn(self._every(self.faults.expire_tokens_every_secs, self.expire_tokens))

    async def stop(self) -> None:
        """Stop listening, close every connection and release hung requests; the venue is untouched."""
        self._running = False
        self.stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await self.hub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "KisExchangeSimulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        """Return the ``ws://127.0.0.1:<port>`` URL (any path is accepted)."""
        return self.hub.url

    @property
    def data_frames_sent(self) -> int:
        """Return the data frames (types 0 and 1) sent over all WebSocket sessions so far."""
        return self.hub.data_frames_sent

    @property
    def tokens_issued(self) -> int:
        """Return how many distinct access tokens were issued (a token returned again counts once)."""
        return self.gateway.issued_count

    # -- fault actions --------------------------------------------------------------------------------

    def drop_ws_connections(self) -> int:
        """Abort every WebSocket connection now (close code 1006 at the client); return how many."""
        dropped = self.hub.drop_all()
        if dropped:
            self.fault_log.note("ws_dropped", connections=dropped, ts=self.wall_clock.now())
        return dropped

    def expire_tokens(self) -> int:
        """Expire every access token now; the next REST call with one gets EGW00123. Return how many."""
        expired = self.gateway.expire_tokens()
        if expired:
            self.fault_log.note("tokens_expired", tokens=expired, ts=self.wall_clock.now())
        return expired

    async def _every(self, interval_secs: float, action: Callable[[], int]) -> None:
        # A periodic fault, on the wall clock, for as long as the simulator runs.
        while self._running:
            await self.sleep(interval_secs)
            if self._running:
                action()

    # -- venue events -> frames -----------------------------------------------------------------------

    async def _on_tick(self, tick: Tick) -> None:
        if not self._running:
            return
        quote = self.venue.book.day_quote(tick.symbol)
        if quote is None or quote.limits is None:  # every KRX instrument has a band
            return
        kind = self.venue_kind(tick.symbol)
        if self.hub.has_subscribers(TRADE_TR, tick.symbol):
            previous = previous_close(tick.symbol, kst_date(tick.ts_event))
            record = self.trades.record(
                tick,
                quote.base_price,
                quote.limits,
                tick_size(tick.price, kind),
                previous.volume if previous is not None else None,
            )
            await self.hub.send_records(TRADE_TR, tick.symbol, [record], encrypted=False)
        else:
            self.trades.observe(tick)
        await self._lockstep()

    async def _on_order_event(self, event: BrokerOrderEvent) -> None:
        if not self._running:
            return
        self.ledger.changed()
        if isinstance(event, FillReport):
            await self._notices.fill(event)
        elif isinstance(event, CancelReport):
            await self._notices.cancel(event)
        await self._lockstep()

    async def _lockstep(self) -> None:
        if self.after_broadcast is not None:
            await self.after_broadcast()

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run `coro` in the background until it ends or the simulator stops."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- helpers for the handlers ---------------------------------------------------------------------

    def venue_kind(self, symbol: str) -> InstrumentKind:
        """Return the tick table of `symbol` (STOCK when the master does not say)."""
        try:
            return symbol_info(symbol).kind or InstrumentKind.STOCK
        except ConfigurationError:
            return InstrumentKind.STOCK

    def symbol_name(self, symbol: str) -> str:
        """Return the Korean name of `symbol` from the bundled master, or the code."""
        try:
            return symbol_info(symbol).name
        except ConfigurationError:
            return symbol

    def notice(self, meta: OrderMeta, report: BrokerOrderReport, **event: Any) -> Notice:
        """Return the 26-field notice of an event of `meta`'s order (`event`: as `notices.build_notice`)."""
        return build_notice(meta, report, symbol_name=self.symbol_name(report.symbol), **event)

    async def send_notice(self, credential: KisCredential, notice: Notice) -> int:
        """Encrypt and send `notice` to the sessions registered for `credential`'s HTS id; return frames sent."""
        fields = notice.fields()
        self.records.notices_sent.append(fields)
        return await self.hub.send_records(self.hub.notice_tr, credential.hts_id, [fields], encrypted=True)

    def meta_for(self, number: str) -> OrderMeta:
        """Return the KIS-side facts of venue order `number`, recreated for an order placed before a restart
        (first credential, ``ORD_DVSN`` from its type)."""
        meta = self.ledger.orders.get(number)
        if meta is None:
            report = self.venue.book.order(number)
            market = report is not None and report.order_type is OrderType.MARKET
            meta = OrderMeta(number, self.gateway.credentials[0], "01" if market else "00")
            self.ledger.orders[number] = meta
        return meta
