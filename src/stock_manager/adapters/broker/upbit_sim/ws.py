"""The simulated Upbit WebSocket endpoints: ``/websocket/v1`` (ticker, trade; orderbook and candles accepted but
never streamed) and ``/websocket/v1/private`` (``myOrder``, ``myAsset``), on the REST port.

Rules (../reference/upbit-openapi.md §2.4, §5, §9 pitfalls 8–10, 14):

* The private endpoint needs ``Authorization: Bearer <jwt>`` on the handshake (a token without hash claims);
  a bad or missing one gets an ``INVALID_AUTH`` error frame and the socket is closed.
* A request is a JSON array ``[{ticket}, {type…}, …, {format}?]``: ``NO_TICKET`` without a ticket, ``NO_TYPE``
  without a type, ``NO_CODES`` for a public type without codes, ``WRONG_FORMAT`` for codes on ``myAsset``, an
  unknown format or malformed JSON, ``INVALID_PARAM`` for a type the endpoint does not serve. Snapshot flags are
  read in snake_case and camelCase; ``KRW-BTC.5`` depth suffixes are accepted. Each request **replaces** the
  connection's subscription set; ``[{ticket}, {"method": "LIST_SUBSCRIPTIONS"}]`` lists it.
* Ticker and trade subscriptions get one SNAPSHOT message per code first (unless ``is_only_realtime``), then
  REALTIME ones; private streams send nothing until something happens.
* Data frames are **binary** (UTF-8 JSON), in the DEFAULT, SIMPLE or ``*_LIST`` format of the connection. Error
  frames, list answers and ``{"status":"UP"}`` are text frames [U: their opcode is undocumented].
* Keep-alive: protocol pings are answered with pongs; the text ``PING`` is answered ``{"status":"UP"}``, which is
  then repeated every `status_up_interval_secs`. A connection with no traffic either way for `idle_timeout_secs`
  (120 s) is closed. Message rate limits (5/s, 100/min) are not enforced.
"""

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import WSMsgType, web

from stock_manager.adapters.broker.upbit_sim.auth import JwtGate
from stock_manager.adapters.broker.upbit_sim.wire import UpbitApiError, dumps

PUBLIC_TYPES: Final = frozenset({"ticker", "trade", "orderbook"})
PRIVATE_TYPES: Final = frozenset({"myOrder", "myAsset"})
FORMATS: Final = frozenset({"DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"})
#: SIMPLE abbreviations of the keys the simulator sends (§5.3).
SIMPLE: Final[dict[str, str]] = {
    "type": "ty",
    "code": "cd",
    "timestamp": "tms",
    "stream_type": "st",
    "opening_price": "op",
    "high_price": "hp",
    "low_price": "lp",
    "trade_price": "tp",
    "prev_closing_price": "pcp",
    "change": "c",
    "change_price": "cp",
    "signed_change_price": "scp",
    "change_rate": "cr",
    "signed_change_rate": "scr",
    "trade_volume": "tv",
    "acc_trade_volume": "atv",
    "acc_trade_volume_24h": "atv24h",
    "acc_trade_price": "atp",
    "acc_trade_price_24h": "atp24h",
    "trade_timestamp": "ttms",
    "ask_bid": "ab",
    "acc_ask_volume": "aav",
    "acc_bid_volume": "abv",
    "highest_52_week_price": "h52wp",
    "highest_52_week_date": "h52wdt",
    "lowest_52_week_price": "l52wp",
    "lowest_52_week_date": "l52wdt",
    "market_state": "ms",
    "market_warning": "mw",
    "sequential_id": "sid",
    "uuid": "uid",
    "order_type": "ot",
    "state": "s",
    "trade_uuid": "tuid",
    "price": "p",
    "avg_price": "ap",
    "volume": "v",
    "remaining_volume": "rv",
    "executed_volume": "ev",
    "trades_count": "tc",
    "reserved_fee": "rsf",
    "remaining_fee": "rmf",
    "paid_fee": "pf",
    "locked": "l",
    "executed_funds": "ef",
    "time_in_force": "tif",
    "trade_fee": "tf",
    "is_maker": "im",
    "identifier": "id",
    "smp_type": "smpt",
    "prevented_volume": "pv",
    "prevented_locked": "pl",
    "order_timestamp": "otms",
    "asset_uuid": "astuid",
    "assets": "ast",
    "asset_timestamp": "asttms",
    "currency": "cu",
    "balance": "b",
}
#: Trade messages abbreviate their date and time differently from tickers.
SIMPLE_TRADE: Final = {"trade_date": "td", "trade_time": "ttm"}
SIMPLE_TICKER: Final = {"trade_date": "tdt", "trade_time": "ttm"}

type Snapshot = Callable[[str, str], dict[str, Any] | None]


def simple(message: dict[str, Any]) -> dict[str, Any]:
    """Return `message` with its keys abbreviated (SIMPLE format)."""
    extra = SIMPLE_TRADE if message.get("type") == "trade" else SIMPLE_TICKER
    out = {}
    for key, value in message.items():
        if isinstance(value, list):
            value = [simple(v) if isinstance(v, dict) else v for v in value]
        out[extra.get(key) or SIMPLE.get(key, key)] = value
    return out


@dataclass(eq=False)
class WsSession:
    """One connection: its endpoint, subscriptions (type → codes; empty = every market) and format."""

    ws: web.WebSocketResponse
    private: bool
    transport: asyncio.Transport | None
    subscriptions: dict[str, frozenset[str]] = field(default_factory=dict)
    requested: list[dict[str, Any]] = field(default_factory=list)
    message_format: str = "DEFAULT"
    last_activity: float = 0.0
    status_task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WsHub:
    """Sessions, subscriptions, keep-alive and frame delivery.

    Parameters
    ----------
    jwt_gate : JwtGate
        Authenticates private handshakes.
    snapshot : Callable[[str, str], dict | None]
        Returns the SNAPSHOT message of (type, code), or None when there is nothing to show yet.
    idle_timeout_secs : float
        Close a connection after this long without traffic in either direction (120 s at Upbit).
    status_up_interval_secs : float
        Repeat ``{"status":"UP"}`` this often after a text ``PING`` (about 10 s at Upbit).
    """

    def __init__(
        self,
        jwt_gate: JwtGate,
        snapshot: Snapshot,
        *,
        idle_timeout_secs: float = 120.0,
        status_up_interval_secs: float = 10.0,
    ) -> None:
        self._gate = jwt_gate
        self._snapshot = snapshot
        self.idle_timeout_secs = idle_timeout_secs
        self.status_up_interval_secs = status_up_interval_secs
        self.sessions: list[WsSession] = []
        self.data_frames_sent = 0
        self.connections_opened = 0
        self.idle_closes = 0

    # -- ENDPOINTS ------------------------------------------------------------------------------------------

    async def public_endpoint(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /websocket/v1``."""
        return await self._serve(request, private=False)

    async def private_endpoint(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /websocket/v1/private``."""
        return await self._serve(request, private=True)

    async def _serve(self, request: web.Request, *, private: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        session = WsSession(ws, private, request.transport, last_activity=loop.time())
        if private:
            try:
                self._gate.authenticate_handshake(request.headers.get("Authorization"))
            except UpbitApiError:
                await self._error(session, "INVALID_AUTH", "인증 정보가 올바르지 않습니다.")
                await ws.close()
                return ws
        self.sessions.append(session)
        self.connections_opened += 1
        try:
            await self._read(session, loop)
        finally:
            if session.status_task is not None:
                session.status_task.cancel()
            if session in self.sessions:
                self.sessions.remove(session)
        return ws

    async def _read(self, session: WsSession, loop: asyncio.AbstractEventLoop) -> None:
        ws = session.ws
        while not ws.closed:
            remaining = session.last_activity + self.idle_timeout_secs - loop.time()
            if remaining <= 0:
                self.idle_closes += 1
                await ws.close()
                return
            try:
                message = await ws.receive(timeout=remaining)
            except TimeoutError:
                continue
            session.last_activity = loop.time()
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == WSMsgType.TEXT:
                await self._on_text(session, message.data)
            elif message.type == WSMsgType.BINARY:
                await self._on_text(session, message.data.decode("utf-8", errors="replace"))
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    # -- REQUESTS -------------------------------------------------------------------------------------------

    async def _on_text(self, session: WsSession, text: str) -> None:
        if text.strip() == "PING":
            await self._send(session, '{"status":"UP"}')
            if session.status_task is None:
                session.status_task = asyncio.create_task(self._status_up(session))
            return
        try:
            request = json.loads(text)
        except ValueError:
            await self._error(session, "WRONG_FORMAT", "요청 형식이 올바르지 않습니다.")
            return
        if not isinstance(request, list) or not all(isinstance(item, dict) for item in request):
            await self._error(session, "WRONG_FORMAT", "요청 형식이 올바르지 않습니다.")
            return
        ticket = next((item["ticket"] for item in request if "ticket" in item), None)
        if not ticket:
            await self._error(session, "NO_TICKET", "ticket이 없습니다.")
            return
        message_format = next((item["format"] for item in request if "format" in item), session.message_format)
        if message_format not in FORMATS:
            await self._error(session, "WRONG_FORMAT", f"format {message_format} is not valid")
            return
        session.message_format = message_format
        if any(item.get("method") == "LIST_SUBSCRIPTIONS" for item in request):
            await self._send(
                session, dumps({"method": "LIST_SUBSCRIPTIONS", "result": session.requested, "ticket": ticket})
            )
            return
        types = [item for item in request if "type" in item]
        if not types:
            await self._error(session, "NO_TYPE", "type이 없습니다.")
            return
        try:
            subscriptions, requested, snapshots = self._parse_types(session, types)
        except UpbitApiError as e:
            await self._error(session, str(e.name), e.message)
            return
        session.subscriptions, session.requested = subscriptions, requested
        for kind, code in snapshots:
            snapshot = self._snapshot(kind, code)
            if snapshot is not None:
                await self.send_data(session, {**snapshot, "stream_type": "SNAPSHOT"})

    def _parse_types(
        self, session: WsSession, types: list[dict[str, Any]]
    ) -> tuple[dict[str, frozenset[str]], list[dict[str, Any]], list[tuple[str, str]]]:
        allowed = PRIVATE_TYPES if session.private else PUBLIC_TYPES
        subscriptions: dict[str, frozenset[str]] = {}
        requested: list[dict[str, Any]] = []
        snapshots: list[tuple[str, str]] = []
        for item in types:
            kind = item["type"]
            if kind not in allowed and not (not session.private and str(kind).startswith("candle.")):
                raise UpbitApiError(400, "INVALID_PARAM", f"type {kind} is not served here")
            codes = item.get("codes")
            if kind == "myAsset" and codes:
                raise UpbitApiError(400, "WRONG_FORMAT", "myAsset takes no codes")
            if kind not in PRIVATE_TYPES and not codes:
                raise UpbitApiError(400, "NO_CODES", "codes가 없습니다.")
            if codes is not None and not (isinstance(codes, list) and all(isinstance(c, str) for c in codes)):
                raise UpbitApiError(400, "WRONG_FORMAT", "codes must be a list of market codes")
            markets = frozenset(code.upper().partition(".")[0] for code in codes or ())
            only_snapshot = bool(item.get("is_only_snapshot", item.get("isOnlySnapshot", False)))
            only_realtime = bool(item.get("is_only_realtime", item.get("isOnlyRealtime", False)))
            if not only_snapshot:
                subscriptions[kind] = markets
            if kind in ("ticker", "trade") and not only_realtime:
                snapshots.extend((kind, market) for market in sorted(markets))
            requested.append({"type": kind, **({"codes": sorted(markets)} if markets else {})})
        return subscriptions, requested, snapshots

    async def _status_up(self, session: WsSession) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not session.ws.closed:
                await asyncio.sleep(self.status_up_interval_secs)
                await self._send(session, '{"status":"UP"}')

    # -- DELIVERY -------------------------------------------------------------------------------------------

    def subscribers(self, kind: str, code: str) -> list[WsSession]:
        """Return the sessions subscribed to `kind` for market `code` (an empty code set means every market)."""
        return [
            s
            for s in self.sessions
            if kind in s.subscriptions and (not s.subscriptions[kind] or code in s.subscriptions[kind])
        ]

    async def broadcast(self, kind: str, code: str, message: dict[str, Any]) -> int:
        """Send a data message to every subscriber of (`kind`, `code`); return the frames sent."""
        sent = 0
        for session in self.subscribers(kind, code):
            sent += await self.send_data(session, message)
        return sent

    async def send_data(self, session: WsSession, message: dict[str, Any]) -> int:
        """Send one data message as a binary frame in the session's format; return 1 if sent, 0 if it failed."""
        body: Any = simple(message) if session.message_format.startswith("SIMPLE") else message
        if session.message_format.endswith("_LIST"):
            body = [body]
        try:
            async with session.lock:
                await session.ws.send_bytes(dumps(body).encode("utf-8"))
        except (ConnectionError, RuntimeError):
            return 0
        session.last_activity = asyncio.get_running_loop().time()
        self.data_frames_sent += 1
        return 1

    async def _send(self, session: WsSession, text: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            async with session.lock:
                await session.ws.send_str(text)
            session.last_activity = asyncio.get_running_loop().time()

    async def _error(self, session: WsSession, name: str, message: str) -> None:
        await self._send(session, dumps({"error": {"name": name, "message": message}}))

    def drop_all(self) -> int:
        """Abort every connection at the TCP level (the client sees close code 1006); return how many."""
        dropped = 0
        for session in list(self.sessions):
            if session.transport is not None and not session.transport.is_closing():
                session.transport.abort()
                dropped += 1
        return dropped

    async def close_all(self) -> None:
        """Close every connection (the server is stopping)."""
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.ws.close()
