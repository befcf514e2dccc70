"""A minimal KIS-like WebSocket server on loopback for the session's specifications (real sockets).

It acknowledges every subscription with a key/iv (fresh per connection), records what clients sent, and lets
a test push frames to the current connection, drop it, or refuse approval keys.
"""

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve


@dataclass
class FakeKisWs:
    """Loopback server; `url` after `start`."""

    received: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    refused_keys: set[str] = field(default_factory=set)
    server: Server | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Listen on 127.0.0.1, any free port."""
        self.server = await serve(self._handle, "127.0.0.1", 0)

    @property
    def url(self) -> str:
        """Return ``ws://127.0.0.1:<port>``."""
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close the server."""
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def current(self) -> ServerConnection:
        """Return the newest connection."""
        return self.connections[-1]

    async def send(self, text: str) -> None:
        """Send `text` to the newest connection."""
        await self.current.send(text)

    async def drop(self) -> None:
        """Drop the newest connection abruptly."""
        self.current.transport.abort()

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        key, iv = secrets.token_hex(16), secrets.token_hex(8)
        async for text in connection:
            self.texts.append(str(text))
            message = json.loads(text)
            if "body" not in message:
                continue  # a PINGPONG echo
            self.received.append(message)
            tr_id = message["body"]["input"]["tr_id"]
            tr_key = message["body"]["input"]["tr_key"]
            if message["header"]["approval_key"] in self.refused_keys:
                await connection.send(
                    json.dumps(
                        {
                            "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"},
                            "body": {"rt_cd": "9", "msg_cd": "OPSP0011", "msg1": "invalid approval : NOT FOUND"},
                        }
                    )
                )
                continue
            self.keys[tr_id] = (key, iv)
            await connection.send(
                json.dumps(
                    {
                        "header": {
                            "tr_id": tr_id,
                            "tr_key": tr_key,
                            "encrypt": "Y" if tr_id.startswith("H0STCNI") else "N",
                        },
                        "body": {
                            "rt_cd": "0",
                            "msg_cd": "OPSP0000",
                            "msg1": "SUBSCRIBE SUCCESS",
                            "output": {"iv": iv, "key": key},
                        },
                    }
                )
            )
            self.subscribed.set()
