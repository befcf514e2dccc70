"""One Upbit WebSocket connection (public or private) kept alive: subscription, keep-alive, reconnects.

Source: upbit-openapi.md §1 and §2.4 (private endpoint ``/websocket/v1/private`` with ``Authorization: Bearer
<jwt>`` on the handshake), §5.1 (data arrives as *binary* frames of UTF-8 JSON; idle timeout 120 s; keep alive
with the text ``PING``, answered by ``{"status":"UP"}``), §5.2 (the request array, see `ws_subscription`), §5.4
(error frames) and §9 pitfalls 8, 9, 10 and 14.

The session sends the text ``PING`` whenever it has sent nothing for ``ping_interval_secs`` and lets the
websockets library ping at the protocol level too (a missing pong within ``pong_timeout_secs`` closes the
connection, so a dead socket is noticed even on a silent private stream). After any disconnect it reconnects
with jittered exponential back-off, sends the full subscription again (a new connection starts with none) and
awaits ``on_resumed(gap_secs)`` so the caller can resynchronise by REST. Events are handed to ``on_event`` one
at a time, in arrival order. ``INVALID_AUTH`` (or a 401/403 handshake) awaits ``on_fatal`` and ends the session.
"""

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from stock_manager.adapters.broker.upbit.auth import UpbitAuth
from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.parsers import UpbitParseError
from stock_manager.adapters.broker.upbit.ws_messages import UpbitEvent, parse_ws_message
from stock_manager.adapters.broker.upbit.ws_subscription import FORMATS, Subscription, subscription_request
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError

log = structlog.get_logger(__name__)

type EventHandler = Callable[[UpbitEvent], Awaitable[None]]
type ResumeHandler = Callable[[float], Awaitable[None]]  # gap, seconds
type FatalHandler = Callable[[FatalBrokerError], Awaitable[None]]
type Sleep = Callable[[float], Awaitable[None]]

FATAL_ERROR_NAMES: Final = frozenset({"INVALID_AUTH"})
KEEPALIVE_TEXT: Final = "PING"


class UpbitWebSocket:
    """A self-healing WebSocket session carrying one subscription set.

    Parameters
    ----------
    url : str
        ``wss://api.upbit.com/websocket/v1`` (public) or ``…/websocket/v1/private``.
    subscriptions : Sequence[Subscription]
        The set to (re)send on every connection.
    on_event : Callable[[UpbitEvent], Awaitable[None]]
        Awaited for each data message, one at a time, in arrival order; its exceptions are logged.
    on_resumed : Callable[[float], Awaitable[None]] | None
        Awaited after a reconnect has resubscribed, with the gap in seconds.
    on_fatal : Callable[[FatalBrokerError], Awaitable[None]] | None
        Awaited when Upbit refuses the credentials (``INVALID_AUTH`` frame, 401/403 handshake); the session ends.
    authorization : Callable[[], str] | None
        Returns the ``Authorization`` header value for each handshake (a fresh token); None for public data.
    message_format : str
        ``"DEFAULT"`` or ``"SIMPLE"`` (both are parsed).
    ping_interval_secs : float
        Send ``PING`` after this long without sending; also the protocol ping interval. Below 120 s.
    pong_timeout_secs, open_timeout_secs : float
        Protocol pong and handshake limits.
    reconnect_initial_secs, reconnect_max_secs : float
        Back-off bounds between reconnect attempts (jittered between half and the full delay).
    sleep : Callable[[float], Awaitable[None]]
        Async sleep of the reconnect back-off.
    monotonic : Callable[[], float]
        Monotonic seconds, for gap lengths.
    """

    def __init__(
        self,
        url: str,
        subscriptions: Sequence[Subscription],
        *,
        on_event: EventHandler,
        on_resumed: ResumeHandler | None = None,
        on_fatal: FatalHandler | None = None,
        authorization: Callable[[], str] | None = None,
        message_format: str = "DEFAULT",
        ping_interval_secs: float = 30.0,
        pong_timeout_secs: float = 10.0,
        open_timeout_secs: float = 10.0,
        reconnect_initial_secs: float = 1.0,
        reconnect_max_secs: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if message_format not in FORMATS:
            raise ValueError(f"message_format must be one of {sorted(FORMATS)}, was {message_format!r}")
        self.url = url
        self._subscriptions = list(subscriptions)
        self._on_event, self._on_resumed, self._on_fatal = on_event, on_resumed, on_fatal
        self._authorization = authorization
        self._format = message_format
        self._ping_interval_secs, self._pong_timeout_secs = ping_interval_secs, pong_timeout_secs
        self._open_timeout_secs = open_timeout_secs
        self._reconnect_initial_secs, self._reconnect_max_secs = reconnect_initial_secs, reconnect_max_secs
        self._sleep, self._monotonic = sleep, monotonic
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography  # nosec B311
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._last_sent = 0.0  # event-loop time of the last frame sent
        self._closing = False
        self.fatal_error: FatalBrokerError | None = None
        self.connections = 0
        self.pings_sent = 0
        self.status_up_received = 0
        self.events_handled = 0

    @classmethod
    def public(
        cls, config: UpbitConfig, subscriptions: Sequence[Subscription], *, on_event: EventHandler, **options: Any
    ) -> "UpbitWebSocket":
        """Return a session on `config`'s public endpoint with its keep-alive and back-off settings (`options`,
        e.g. ``on_resumed``, ``sleep`` or ``ping_interval_secs``, override or add to them)."""
        return cls(config.ws_public_url, subscriptions, on_event=on_event, **{**_timing(config), **options})

    @classmethod
    def private(
        cls,
        config: UpbitConfig,
        subscriptions: Sequence[Subscription],
        *,
        on_event: EventHandler,
        auth: UpbitAuth | None = None,
        **options: Any,
    ) -> "UpbitWebSocket":
        """Return a session on `config`'s private endpoint, authorised with a fresh token per handshake (§2.4)."""
        auth = auth or UpbitAuth(config.access_key, config.secret_key, algorithm=config.jwt_algorithm)
        return cls(
            config.ws_private_url,
            subscriptions,
            on_event=on_event,
            authorization=auth.websocket_authorization,
            **{**_timing(config), **options},
        )

    # -- PUBLIC -------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return True while a connection is open."""
        return self._ws is not None

    async def start(self) -> None:
        """Open the first connection, send the subscription and start reading in the background.

        Raises
        ------
        FatalBrokerError
            If the handshake is refused with 401/403 (credentials).
        TemporaryBrokerError
            If the first connection cannot be opened otherwise.
        """
        if self._task is not None:
            return
        try:
            ws = await self._connect()
        except InvalidStatus as e:
            if e.response.status_code in (401, 403):
                raise FatalBrokerError(
                    f"Upbit WebSocket {self.url}: handshake refused with HTTP {e.response.status_code}"
                ) from None
            raise TemporaryBrokerError(mask(f"cannot open the Upbit WebSocket {self.url}: {e}")) from None
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise TemporaryBrokerError(
                mask(f"cannot open the Upbit WebSocket {self.url}: {type(e).__name__}: {e}")
            ) from None
        self._task = asyncio.create_task(self._run(ws), name="upbit-websocket")

    async def subscribe(self, subscriptions: Sequence[Subscription]) -> None:
        """Replace the subscription set; sent now when connected, and on every reconnect (§5.2: a new request
        replaces the previous set)."""
        self._subscriptions = list(subscriptions)
        if self._ws is not None:
            await self._send_subscription(self._ws)

    async def wait_stopped(self) -> None:
        """Return once the session has ended on its own (after ``on_fatal``) or through `close`."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def close(self) -> None:
        """End the session for good."""
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # the task logged its own errors
                await self._task
            self._task = None

    # -- CONNECTION ---------------------------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        headers = {"Authorization": self._authorization()} if self._authorization else None
        ws = await connect(
            self.url,
            additional_headers=headers,
            open_timeout=self._open_timeout_secs,
            ping_interval=self._ping_interval_secs,
            ping_timeout=self._pong_timeout_secs,
            max_size=2**22,
        )
        self._ws = ws
        self.connections += 1
        log.info(
            "upbit_ws_connected",
            url=self.url,
            connection=self.connections,
            subscriptions=[s.type for s in self._subscriptions],
        )
        await self._send_subscription(ws)
        return ws

    async def _send_subscription(self, ws: ClientConnection) -> None:
        request = subscription_request(str(uuid.uuid4()), self._subscriptions, message_format=self._format)
        await self._send(ws, json.dumps(request))

    async def _send(self, ws: ClientConnection, text: str) -> None:
        async with self._send_lock:
            try:
                await ws.send(text)
            except ConnectionClosed:
                return  # the reader notices and reconnects
            self._last_sent = asyncio.get_running_loop().time()

    async def _run(self, ws: ClientConnection) -> None:
        while True:
            await self._serve(ws)
            self._ws = None
            if self._closing or self.fatal_error is not None:
                return
            gap_started = self._monotonic()
            reconnected = await self._reconnect()
            if reconnected is None:
                return
            ws = reconnected
            gap_secs = self._monotonic() - gap_started
            log.warning("upbit_ws_resumed", url=self.url, gap_secs=round(gap_secs, 3), connection=self.connections)
            if self._on_resumed is not None:
                try:
                    await self._on_resumed(gap_secs)
                except Exception as e:
                    log.error("upbit_ws_resume_handler_failed", error=mask(f"{type(e).__name__}: {e}"))

    async def _serve(self, ws: ClientConnection) -> None:
        keepalive = asyncio.create_task(self._keepalive(ws), name="upbit-websocket-keepalive")
        try:
            async for frame in ws:
                await self._on_frame(ws, frame)
        except ConnectionClosed as e:
            log.warning(
                "upbit_ws_closed", url=self.url, code=e.rcvd.code if e.rcvd else None, connection=self.connections
            )
        except Exception as e:  # a bug in a frame path must not end the session: reconnect instead
            log.error("upbit_ws_reader_failed", error=mask(f"{type(e).__name__}: {e}"))
            await ws.close()
        else:
            log.warning("upbit_ws_closed", url=self.url, code=ws.close_code, connection=self.connections)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _keepalive(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle_secs = loop.time() - self._last_sent
            if idle_secs < self._ping_interval_secs:
                await asyncio.sleep(self._ping_interval_secs - idle_secs)
                continue
            await self._send(ws, KEEPALIVE_TEXT)
            self.pings_sent += 1

    async def _reconnect(self) -> ClientConnection | None:
        attempt = 0
        while not self._closing:
            delay_secs = min(self._reconnect_max_secs, self._reconnect_initial_secs * 2**attempt)
            await self._sleep(delay_secs * (0.5 + self._rng.random() / 2))
            attempt += 1
            if self._closing:
                return None
            try:
                return await self._connect()
            except InvalidStatus as e:
                if e.response.status_code in (401, 403):
                    await self._fatal(f"handshake refused with HTTP {e.response.status_code}")
                    return None
                log.warning("upbit_ws_reconnect_failed", attempt=attempt, error=mask(str(e)))
            except Exception as e:  # any other failure: back off and try again (the caller alerts on the gap)
                log.warning("upbit_ws_reconnect_failed", attempt=attempt, error=mask(f"{type(e).__name__}: {e}"))
        return None

    # -- FRAMES -------------------------------------------------------------------------------------------

    async def _on_frame(self, ws: ClientConnection, frame: str | bytes) -> None:
        try:
            text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
            decoded = json.loads(text, parse_float=Decimal)
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError
            log.warning("upbit_ws_malformed_frame", error=str(e), frame=mask(repr(frame))[:120])
            return
        for message in decoded if isinstance(decoded, list) else [decoded]:  # *_LIST formats carry arrays
            if isinstance(message, Mapping):
                await self._on_message(ws, message)

    async def _on_message(self, ws: ClientConnection, message: Mapping[str, Any]) -> None:
        if "status" in message and "type" not in message and "ty" not in message:
            self.status_up_received += 1  # {"status":"UP"}: the answer to PING
            return
        if isinstance(error := message.get("error"), Mapping):
            name, text = str(error.get("name", "")), str(error.get("message", ""))
            if name in FATAL_ERROR_NAMES:
                await self._fatal(f"{name}: {text}")
                await ws.close()
            else:
                log.error("upbit_ws_error_frame", url=self.url, name=name, message=mask(text))
            return
        if "method" in message:
            log.info("upbit_ws_method_answer", method=str(message.get("method")), result=mask(str(message))[:300])
            return
        try:
            event = parse_ws_message(message)
        except UpbitParseError as e:
            log.warning("upbit_ws_unparsable_message", error=str(e), type=str(message.get("type", message.get("ty"))))
            return
        if event is None:
            return
        try:
            await self._on_event(event)
        except Exception as e:
            log.error(
                "upbit_ws_handler_failed", event_type=type(event).__name__, error=mask(f"{type(e).__name__}: {e}")
            )
        self.events_handled += 1

    async def _fatal(self, detail: str) -> None:
        self.fatal_error = FatalBrokerError(mask(f"Upbit WebSocket {self.url}: {detail}; the session ended"))
        log.error("upbit_ws_fatal", url=self.url, error=str(self.fatal_error))
        if self._on_fatal is not None:
            try:
                await self._on_fatal(self.fatal_error)
            except Exception as e:
                log.error("upbit_ws_fatal_handler_failed", error=mask(f"{type(e).__name__}: {e}"))


def _timing(config: UpbitConfig) -> dict[str, float]:
    return {
        "ping_interval_secs": config.ping_interval_secs,
        "pong_timeout_secs": config.pong_timeout_secs,
        "open_timeout_secs": config.ws_open_timeout_secs,
        "reconnect_initial_secs": config.reconnect_initial_secs,
        "reconnect_max_secs": config.reconnect_max_secs,
    }
