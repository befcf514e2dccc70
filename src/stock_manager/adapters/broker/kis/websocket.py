"""The one KIS WebSocket session of an app key: subscriptions, acks, PINGPONG, reconnects.

Source: ../reference/kis-openapi.md §5.1 (one session per app key, 41 registrations across all TRs,
subscriptions lost on disconnect, pace subscribe messages), §5.2 (subscribe message), §5.3 (acks carry the
key/iv; OPSP codes), §5.5 (PINGPONG: echo the text frame verbatim; no client keepalive pings), §5.6 (new key/iv
with every ack; keep them per tr_id) and §8 pitfalls 7, 8 and 10.

Data frames are handed to `on_data` one at a time, in arrival order; after each frame's handling finished
(a multi-record frame once; a malformed frame too, it was handled by being skipped) the optional
`on_frame_handled` hook is called.
"""

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from stock_manager.adapters.broker.kis.auth import Sleep
from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.ws_frames import DataFrame, SystemMessage, parse_system_message, split_data_frame
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, TemporaryBrokerError

log = structlog.get_logger(__name__)

type Registration = tuple[str, str]  # (tr_id, tr_key)
type DataHandler = Callable[[DataFrame, int], Awaitable[None]]  # (frame, connection number)
type ResumeHandler = Callable[[float], Awaitable[None]]  # gap in seconds
type ApprovalKeySource = Callable[[bool], Awaitable[str]]  # renew? -> approval key

#: Ack codes that mean the registration stands (ALREADY IN SUBSCRIBE is benign).
REGISTERED_CODES = frozenset({"OPSP0000", "OPSP0002"})
ALREADY_IN_USE = "OPSP8996"
MAX_SUBSCRIBE_OVER = "OPSP0008"


@dataclass(frozen=True, slots=True)
class SessionTuning:
    """Timing of the session, seconds: subscribe pacing, connect timeout, reconnect back-off bounds."""

    pacing_secs: float = 0.05
    open_timeout_secs: float = 10.0
    reconnect_initial_secs: float = 1.0
    reconnect_max_secs: float = 60.0


class KisWebSocketSession:
    """One WebSocket session multiplexing every registration of an app key.

    Parameters
    ----------
    url : str
        The WebSocket URL (any path is accepted by KIS; the URL is used as given).
    approval_key : Callable[[bool], Awaitable[str]]
        Returns the approval key; called with True to force a new one after a refusal.
    on_data : Callable[[DataFrame, int], Awaitable[None]]
        Handles one data frame (with the connection number, for duplicate detection per connection).
    on_resumed : Callable[[float], Awaitable[None]]
        Called after a reconnect once the `resume_tr_id` registration is acknowledged again, with the gap.
    clock : Clock
        Wall clock (gap lengths).
    sleep : Callable[[float], Awaitable[None]]
        Async sleep (pacing, back-off).
    masker : Masker
        Masks secrets in log lines.
    max_registrations : int
        Registration budget of the session (KIS: 41).
    tuning : SessionTuning
        Pacing, timeouts and back-off.
    rng : random.Random | None
        Jitter source (seedable for tests).
    """

    def __init__(
        self,
        *,
        url: str,
        approval_key: ApprovalKeySource,
        on_data: DataHandler,
        on_resumed: ResumeHandler,
        clock: Clock,
        sleep: Sleep,
        masker: Masker,
        max_registrations: int,
        tuning: SessionTuning | None = None,
        rng: random.Random | None = None,
        on_frame_handled: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._on_frame_handled = on_frame_handled
        self._approval_key = approval_key
        self._on_data = on_data
        self._on_resumed = on_resumed
        self._clock = clock
        self._sleep = sleep
        self._masker = masker
        self._max = max_registrations
        self._tuning = tuning or SessionTuning()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography  # nosec B311
        self._registrations: dict[Registration, None] = {}
        self._keys: dict[str, tuple[str, str]] = {}
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()
        self._closing = False
        self._renew_key = False
        self._current_key = ""
        self._resume_gap_secs: float | None = None
        self.resume_tr_id: str | None = None
        self.connections = 0  # successful connects so far
        self.pings_answered = 0

    # -- PUBLIC -----------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return True while a connection is open."""
        return self._ws is not None

    @property
    def registrations(self) -> list[Registration]:
        """Return every (tr_id, tr_key) registered, in registration order."""
        return list(self._registrations)

    def cipher_keys(self, tr_id: str) -> tuple[str, str] | None:
        """Return the (key, iv) of the last ack of `tr_id` on any connection, or None before one."""
        return self._keys.get(tr_id)

    async def subscribe(self, registrations: list[Registration]) -> None:
        """Register (tr_id, tr_key) pairs: sent now when connected (the first call connects), and again after
        every reconnect. Pairs already registered are ignored.

        Raises
        ------
        ConfigurationError
            If the session's budget (41 at KIS) would be exceeded; nothing of this call is registered.
        TemporaryBrokerError
            If the first connection cannot be opened (the pairs stay registered for the next try).
        """
        new = [r for r in dict.fromkeys(registrations) if r not in self._registrations]
        if len(self._registrations) + len(new) > self._max:
            raise ConfigurationError(
                f"KIS allows {self._max} WebSocket registrations per session (trade prices, order book and fill "
                f"notices together); {len(self._registrations)} are in use and {len(new)} more were asked"
            )
        for registration in new:
            self._registrations[registration] = None
        if self._task is None:
            await self._start()
        elif self._ws is not None and new:
            await self._send_registrations(self._ws, new)

    async def close(self) -> None:
        """Close the session for good."""
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

    async def _start(self) -> None:
        async with self._start_lock:
            if self._task is not None:
                return
            try:
                ws = await self._connect()
            except (OSError, TimeoutError, InvalidHandshake) as e:
                raise TemporaryBrokerError(
                    f"cannot open the KIS WebSocket {self._url}: {type(e).__name__}: {self._masker(e)}"
                ) from None
            self._task = asyncio.create_task(self._run(ws), name="kis-websocket")

    async def _connect(self) -> ClientConnection:
        key = await self._approval_key(self._renew_key)
        self._renew_key = False
        try:
            ws = await connect(
                self._url,
                ping_interval=None,
                open_timeout=self._tuning.open_timeout_secs,
                max_size=2**22,
                compression=None,
            )
        except InvalidStatus:
            self._renew_key = True  # a refused handshake: try a new approval key next time
            raise
        self._ws = ws
        self.connections += 1
        self._current_key = key
        log.info("kis_ws_connected", connection=self.connections, registrations=len(self._registrations))
        await self._send_registrations(ws, list(self._registrations))
        return ws

    async def _send_registrations(self, ws: ClientConnection, registrations: list[Registration]) -> None:
        async with self._send_lock:
            for index, (tr_id, tr_key) in enumerate(registrations):
                if index and self._tuning.pacing_secs > 0:
                    await self._sleep(self._tuning.pacing_secs)
                message = {
                    "header": {
                        "approval_key": self._current_key,
                        "custtype": "P",
                        "tr_type": "1",
                        "content-type": "utf-8",
                    },
                    "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
                }
                try:
                    await ws.send(json.dumps(message))
                except ConnectionClosed:
                    return  # the reader reconnects and sends every registration again

    async def _run(self, ws: ClientConnection) -> None:
        while not self._closing:
            await self._read(ws)
            self._ws = None
            if self._closing:
                return
            gap_started = self._clock.now()
            ws = await self._reconnect()
            self._resume_gap_secs = (self._clock.now() - gap_started).total_seconds()
            if self.resume_tr_id is None or not any(r[0] == self.resume_tr_id for r in self._registrations):
                await self._resumed()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", errors="replace")
                await self._on_message(ws, text)
        except ConnectionClosed as e:
            log.warning("kis_ws_closed", code=e.rcvd.code if e.rcvd else None, connection=self.connections)
        except Exception as e:  # never let a bug in a frame path end the session: reconnect instead
            log.error("kis_ws_reader_failed", error=f"{type(e).__name__}: {self._masker(e)}")
            await ws.close()
        else:
            log.warning("kis_ws_closed", code=ws.close_code, connection=self.connections)

    async def _reconnect(self) -> ClientConnection:
        attempt = 0
        while True:
            delay = min(self._tuning.reconnect_max_secs, self._tuning.reconnect_initial_secs * 2**attempt)
            await self._sleep(delay * (0.5 + self._rng.random() / 2))
            attempt += 1
            try:
                return await self._connect()
            except Exception as e:  # any failure: back off and try again (the daemon alerts on the gap)
                log.warning("kis_ws_reconnect_failed", attempt=attempt, error=f"{type(e).__name__}: {self._masker(e)}")

    async def _resumed(self) -> None:
        gap, self._resume_gap_secs = self._resume_gap_secs, None
        if gap is None:
            return
        log.warning("kis_ws_resumed", gap_secs=round(gap, 3), connection=self.connections)
        try:
            await self._on_resumed(gap)
        except Exception as e:
            log.error("kis_ws_resume_handler_failed", error=f"{type(e).__name__}: {self._masker(e)}")

    # -- FRAMES -------------------------------------------------------------------------------------------

    async def _on_message(self, ws: ClientConnection, text: str) -> None:
        try:
            frame = split_data_frame(text)
        except ValueError as e:
            log.warning("kis_ws_malformed_frame", reason=str(e), frame=self._masker(text[:120]))
            self._count_handled()
            return
        if frame is not None:
            try:
                await self._on_data(frame, self.connections)
            except Exception as e:
                log.warning(
                    "kis_ws_frame_skipped",
                    tr_id=frame.tr_id,
                    error=f"{type(e).__name__}: {self._masker(e)}",
                    frame=self._masker(text[:120]) if not frame.encrypted else "",
                )
            self._count_handled()
            return
        try:
            message = parse_system_message(text)
        except ValueError as e:
            log.warning("kis_ws_malformed_message", reason=str(e), frame=self._masker(text[:120]))
            return
        if message.is_pingpong:
            await ws.send(text)
            self.pings_answered += 1
            return
        await self._on_system(ws, message)

    async def _on_system(self, ws: ClientConnection, message: SystemMessage) -> None:
        if message.key and message.iv and message.rt_cd == "0":
            self._keys[message.tr_id] = (message.key, message.iv)
        if message.msg_cd in REGISTERED_CODES:
            log.info("kis_ws_registered", tr_id=message.tr_id, msg=message.msg1)
            if message.tr_id == self.resume_tr_id:
                await self._resumed()
            return
        if message.rt_cd == "0":
            log.info("kis_ws_system_message", tr_id=message.tr_id, msg_cd=message.msg_cd, msg=message.msg1)
            return
        if message.msg_cd == MAX_SUBSCRIBE_OVER:
            log.error("kis_ws_registration_refused", tr_id=message.tr_id, msg_cd=message.msg_cd, msg=message.msg1)
            return
        if message.msg_cd == ALREADY_IN_USE or "APPROVAL" in message.msg1.upper() or message.rt_cd == "9":
            # Another session holds the app key, or the approval key was refused: reconnect with back-off
            # (and a new approval key when the key was the problem).
            self._renew_key = message.msg_cd != ALREADY_IN_USE
            log.error("kis_ws_session_refused", msg_cd=message.msg_cd, msg=message.msg1)
            await ws.close()
            return
        log.warning(
            "kis_ws_error_message", tr_id=message.tr_id, rt_cd=message.rt_cd, msg_cd=message.msg_cd, msg=message.msg1
        )

    def _count_handled(self) -> None:
        if self._on_frame_handled is not None:
            self._on_frame_handled()
