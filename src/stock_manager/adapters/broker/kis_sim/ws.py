"""The simulated KIS real-time WebSocket server (KIS reference §5).

Rules modelled:

* Any path is accepted. Every subscribe/unsubscribe message must carry an approval key in its header;
  the first valid one binds the session to its app key and stays good for that session after its 24 h
  (KIS checks it only when a session subscribes). A second live session of the same app key
  gets ``OPSP8996 ALREADY IN USE appkey`` (rt_cd ``"9"``) and is then closed [?: whether KIS closes it is
  not documented].
* Registrations are (tr_id, tr_key) pairs, at most 41 per session (``OPSP0008 MAX SUBSCRIBE OVER``); a
  duplicate gets ``OPSP0002 ALREADY IN SUBSCRIBE``. Every ack carries the session's AES key and IV (fresh
  per session), ``encrypt`` ``"Y"`` on the notice channel. Subscriptions die with the connection.
* TRs: H0STCNT0 (trades, any code; codes outside the replay simply never trade), H0STASP0 (accepted,
  but the simulator has no order book to send), and the notice channel of the mode (H0STCNI0 real,
  H0STCNI9 paper; tr_key = HTS id; notices go to the HTS id of the account that placed the order).
* PINGPONG is sent every ``pingpong_interval_secs``; a text echo, a pong or a ping frame are all
  tolerated as replies (the server does not drop a silent client).

Error codes the reference leaves open ([?]): invalid approval key ``OPSP8993``/"INVALID APPROVAL KEY",
malformed JSON ``OPSP8994``, unknown or other-environment TR ``OPSP0011``, unsubscribe of an unknown key
``OPSP0003``, all with rt_cd ``"9"`` except the per-registration ones (``"1"``).
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from stock_manager.adapters.broker.kis_sim.auth import Gateway, KisCredential
from stock_manager.adapters.broker.kis_sim.frames import (
    NOTICE_TR,
    ORDERBOOK_TR,
    TRADE_TR,
    SessionCipher,
    data_frame,
    pingpong,
    system_message,
)
from stock_manager.adapters.broker.kis_sim.wire import KisMode
from stock_manager.domain.clock import Clock

log = logging.getLogger(__name__)

MAX_REGISTRATIONS = 41
type Sleep = Callable[[float], Awaitable[None]]


@dataclass(eq=False)
class WsSession:
    """One client connection: its cipher, its app key once bound, and its registrations."""

    conn: ServerConnection
    cipher: SessionCipher
    credential: KisCredential | None = None
    approval_key: str = ""
    subscriptions: set[tuple[str, str]] = field(default_factory=set)
    pongs_received: int = 0


class WsHub:
    """The WebSocket side: sessions, subscriptions, heartbeats and frame delivery.

    Parameters
    ----------
    gateway : Gateway
        Approval keys and credentials.
    mode : KisMode
        Selects the notice TR (H0STCNI0 real, H0STCNI9 paper).
    wall_clock, sleep
        Real time for PINGPONG timestamps and its interval.
    pingpong_interval_secs : float | None
        Heartbeat period; None sends none.
    max_registrations : int
        Registrations per session (41 at KIS).
    """

    def __init__(
        self,
        gateway: Gateway,
        mode: KisMode,
        wall_clock: Clock,
        sleep: Sleep,
        *,
        pingpong_interval_secs: float | None,
        max_registrations: int = MAX_REGISTRATIONS,
    ) -> None:
        self._gateway = gateway
        self._mode: KisMode = mode
        self._clock = wall_clock
        self._sleep = sleep
        self._interval = pingpong_interval_secs
        self._max = max_registrations
        self._server: Server | None = None
        self.sessions: list[WsSession] = []
        self.data_frames_sent = 0
        self.sessions_opened = 0
        self.sessions_refused = 0
        self.url = ""

    @property
    def notice_tr(self) -> str:
        """Return the fill-notice TR id of this mode."""
        return NOTICE_TR[self._mode]

    async def start(self, host: str, port: int) -> str:
        """Listen on `host`:`port` (0 picks a free port); return the ``ws://`` URL."""
        self._server = await serve(self._serve, host, port, ping_interval=None, max_size=2**20, compression=None)
        bound = self._server.sockets[0].getsockname()
        self.url = f"ws://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        """Close every session and stop listening."""
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        self._server = None

    def drop_all(self) -> int:
        """Abort every connection at the TCP level (the client sees close code 1006); return how many."""
        dropped = 0
        for session in list(self.sessions):
            transport = getattr(session.conn, "transport", None)
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    # -- delivery -------------------------------------------------------------------------------------

    def has_subscribers(self, tr_id: str, tr_key: str) -> bool:
        """Return True when any session is registered for (`tr_id`, `tr_key`)."""
        return any((tr_id, tr_key) in session.subscriptions for session in self.sessions)

    async def send_records(self, tr_id: str, tr_key: str, records: list[list[str]], *, encrypted: bool) -> int:
        """Send one data frame of `records` to every session registered for (`tr_id`, `tr_key`).

        Returns
        -------
        int
            Frames actually sent (each counts in `data_frames_sent`).
        """
        sent = 0
        for session in list(self.sessions):
            if (tr_id, tr_key) not in session.subscriptions:
                continue
            frame = data_frame(tr_id, records, encrypted_with=session.cipher if encrypted else None)
            try:
                await session.conn.send(frame)
            except ConnectionClosed:
                continue
            sent += 1
            self.data_frames_sent += 1
        return sent

    # -- sessions -------------------------------------------------------------------------------------

    async def _serve(self, conn: ServerConnection) -> None:
        session = WsSession(conn=conn, cipher=SessionCipher.fresh())
        self.sessions.append(session)
        self.sessions_opened += 1
        heartbeat = asyncio.create_task(self._heartbeat(session)) if self._interval else None
        try:
            async for message in conn:
                if isinstance(message, bytes):
                    continue
                if not await self._on_message(session, message):
                    break
        except ConnectionClosed:
            pass
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            session.subscriptions.clear()
            if session in self.sessions:
                self.sessions.remove(session)

    async def _heartbeat(self, session: WsSession) -> None:
        assert self._interval is not None
        with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
            while True:
                await self._sleep(self._interval)
                await session.conn.send(pingpong(self._clock.now()))

    async def _on_message(self, session: WsSession, text: str) -> bool:
        # Returns False when the session must end.
        try:
            message = json.loads(text)
            header: dict[str, Any] = message["header"]
        except (ValueError, KeyError, TypeError):
            await self._reply(session, "", "", "9", "OPSP8994", "JSON PARSING ERROR : invalid json format")
            return True
        if header.get("tr_id") == "PINGPONG":
            session.pongs_received += 1
            return True
        try:
            body_input: dict[str, Any] = message["body"]["input"]
            tr_id, tr_key = str(body_input["tr_id"]), str(body_input["tr_key"])
        except (KeyError, TypeError):
            await self._reply(session, "", "", "9", "OPSP8994", "JSON PARSING ERROR : input not found")
            return True
        approval_key = str(header.get("approval_key") or "")
        if session.credential is not None and approval_key == session.approval_key:
            owner: KisCredential | None = session.credential  # checked at binding; valid for the session
        else:
            owner = self._gateway.approval_owner(approval_key)
        if owner is None:
            await self._reply(session, tr_id, tr_key, "9", "OPSP8993", "INVALID APPROVAL KEY")
            return True
        if session.credential is None:
            if any(
                s is not session and s.credential is not None and s.credential.app_key == owner.app_key
                for s in self.sessions
            ):
                self.sessions_refused += 1
                await self._reply(session, "(null)", "", "9", "OPSP8996", "ALREADY IN USE appkey")
                await session.conn.close()
                return False
            session.credential, session.approval_key = owner, approval_key
        elif session.credential.app_key != owner.app_key:
            await self._reply(session, tr_id, tr_key, "9", "OPSP8993", "INVALID APPROVAL KEY")
            return True
        if tr_id not in (TRADE_TR, ORDERBOOK_TR, self.notice_tr):
            await self._reply(session, tr_id, tr_key, "9", "OPSP0011", "invalid tr_id")
            return True
        tr_type = str(header.get("tr_type", ""))
        key = (tr_id, tr_key)
        encrypt = "Y" if tr_id == self.notice_tr else "N"
        if tr_type == "1":
            if key in session.subscriptions:
                await self._reply(session, tr_id, tr_key, "1", "OPSP0002", "ALREADY IN SUBSCRIBE", encrypt)
            elif len(session.subscriptions) >= self._max:
                await self._reply(session, tr_id, tr_key, "1", "OPSP0008", "MAX SUBSCRIBE OVER", encrypt)
            else:
                session.subscriptions.add(key)
                await self._reply(
                    session,
                    tr_id,
                    tr_key,
                    "0",
                    "OPSP0000",
                    "SUBSCRIBE SUCCESS",
                    encrypt,
                    output=session.cipher.ack_output(),
                )
        elif tr_type == "2":
            if key in session.subscriptions:
                session.subscriptions.discard(key)
                await self._reply(session, tr_id, tr_key, "0", "OPSP0001", "UNSUBSCRIBE SUCCESS", encrypt)
            else:
                await self._reply(session, tr_id, tr_key, "9", "OPSP0003", "UNSUBSCRIBE ERROR(not found!)", encrypt)
        else:
            await self._reply(session, tr_id, tr_key, "9", "OPSP8994", "JSON PARSING ERROR : invalid tr_type")
        return True

    async def _reply(
        self,
        session: WsSession,
        tr_id: str,
        tr_key: str,
        rt_cd: str,
        msg_cd: str,
        msg1: str,
        encrypt: str = "N",
        *,
        output: dict[str, str] | None = None,
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            await session.conn.send(system_message(tr_id, tr_key, rt_cd, msg_cd, msg1, encrypt=encrypt, output=output))
