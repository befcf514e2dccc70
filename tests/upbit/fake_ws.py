"""A minimal Upbit-like WebSocket server on loopback for the session's specifications (real sockets).

It records each connection's handshake headers and the frames clients send, answers the text ``PING`` with a
binary ``{"status":"UP"}``, sends the scripted frames after each subscription request (binary, as Upbit does),
and lets a test push frames, drop the connection abruptly or refuse handshakes.
"""

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response


@dataclass
class FakeUpbitWs:
    """Loopback server; `url(path)` after `start`."""

    on_subscribe: list[str | bytes] = field(default_factory=list)  # frames sent after each subscription
    refuse_handshake_with: HTTPStatus | None = None
    handshakes: list[Headers] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    subscriptions: list[list[dict[str, Any]]] = field(default_factory=list)
    pings: int = 0
    connections: list[ServerConnection] = field(default_factory=list)
    subscribed: asyncio.Queue[list[dict[str, Any]]] = field(default_factory=asyncio.Queue)
    pinged: asyncio.Event = field(default_factory=asyncio.Event)
    server: Server | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1, any free port."""
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._process_request)

    def url(self, path: str = "/websocket/v1") -> str:
        """Return ``ws://127.0.0.1:<port><path>``."""
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}{path}"

    async def stop(self) -> None:
        """Close the server."""
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def send(self, frame: str | bytes) -> None:
        """Send `frame` on the newest connection (bytes → binary frame, str → text frame)."""
        await self.connections[-1].send(frame)

    def drop(self) -> None:
        """Drop the newest connection abruptly (no close frame)."""
        self.connections[-1].transport.abort()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes.append(request.headers)
        self.paths.append(request.path)
        if self.refuse_handshake_with is not None:
            return connection.respond(self.refuse_handshake_with, "refused\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        async for message in connection:
            if message == "PING":
                self.pings += 1
                self.pinged.set()
                await connection.send(b'{"status":"UP"}')
                continue
            request = json.loads(message)
            self.subscriptions.append(request)
            self.subscribed.put_nowait(request)
            for frame in self.on_subscribe:
                await connection.send(frame)
