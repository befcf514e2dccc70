"""A local fake of the Slack Web API on loopback, for slack-sdk's real `WebClient` to talk to.

It implements what the notifier calls — ``auth.test``, ``chat.postMessage`` and the files upload v2 flow
(``files.getUploadURLExternal``, a POST to the returned upload URL, ``files.completeUploadExternal``) —
records every request, and has knobs for an outage: HTTP 500, ``ratelimited`` with Retry-After, slow
(hanging) responses, or a base URL nobody listens on (connection refused). It runs an aiohttp server on its
own event loop in a background thread, so both sync and async tests (and subprocesses) can use it.
"""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

TOKEN = "xoxb-111-222-fakeslacktoken"


@dataclass(frozen=True, slots=True)
class SlackRequest:
    """One request the fake received: the API method (or ``upload``), its fields and raw body."""

    method: str
    fields: dict[str, Any]
    body: bytes
    authorization: str
    accepted: bool = True  # False when the fake answered with an outage


@dataclass(slots=True)
class Outage:
    """How the fake misbehaves: ``none``, ``error500``, ``ratelimited`` or ``hang``."""

    mode: str = "none"
    retry_after_secs: int = 1
    hang_secs: float = 30.0


@dataclass
class FakeSlack:
    """The fake server; use as a context manager (``with FakeSlack() as slack:``)."""

    token: str = TOKEN
    requests: list[SlackRequest] = field(default_factory=list)
    outage: Outage = field(default_factory=Outage)
    in_flight: int = 0
    uploads: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self.port = 0

    # -- LIFECYCLE -----------------------------------------------------------------------------------

    def __enter__(self) -> "FakeSlack":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Slack server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._release_hangs)
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        """Return the Web API root to give slack-sdk (``http://127.0.0.1:<port>/api/``)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def set_outage(self, mode: str, **knobs: Any) -> None:
        """Misbehave from now on (``none`` to stop); a change releases requests hanging so far, which are then
        answered as the new mode says."""
        self.outage = Outage(mode, **knobs)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release_hangs)

    # -- WHAT WAS RECEIVED ---------------------------------------------------------------------------

    def calls(self, method: str) -> list[SlackRequest]:
        """Return the requests to `method`, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Return the fields of every accepted ``chat.postMessage`` (to `channel`, if given)."""
        return [
            r.fields
            for r in self.calls("chat.postMessage")
            if r.accepted and (channel is None or r.fields.get("channel") == channel)
        ]

    def completed_uploads(self) -> list[dict[str, Any]]:
        """Return the fields of every ``files.completeUploadExternal`` (``files`` parsed)."""
        return [
            r.fields | {"files": json.loads(r.fields["files"])}
            for r in self.calls("files.completeUploadExternal")
            if r.accepted
        ]

    def all_text(self) -> str:
        """Return every request body the fake received, decoded, concatenated (to search for secrets)."""
        with self._lock:
            return "\n".join(
                r.body.decode("utf-8", "replace") + " " + json.dumps(r.fields, ensure_ascii=False)
                for r in self.requests
            )

    def wait_for(self, condition: Callable[["FakeSlack"], bool], timeout_secs: float = 10.0) -> None:
        """Block until `condition(self)` holds (the notifier works in its own thread)."""
        deadline = time.monotonic() + timeout_secs
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Slack: condition not met within {timeout_secs} s; got {self.requests}")
            time.sleep(0.02)

    async def until(self, condition: Callable[["FakeSlack"], bool], timeout_secs: float = 10.0) -> None:
        """`wait_for` without blocking the test's event loop."""
        deadline = time.monotonic() + timeout_secs
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Slack: condition not met within {timeout_secs} s; got {self.requests}")
            await asyncio.sleep(0.02)

    # -- SERVER --------------------------------------------------------------------------------------

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _release_hangs(self) -> None:
        assert self._release is not None
        self._release.set()
        self._release = asyncio.Event()

    async def _fields(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        body = await request.read()
        fields: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and body:
            fields.update(json.loads(body))
        elif body and request.content_type == "application/x-www-form-urlencoded":
            fields.update(parse_qsl(body.decode("utf-8")))
        return fields, body

    async def _misbehave(self) -> web.Response | None:
        outage = self.outage
        if outage.mode == "hang":
            assert self._release is not None
            release = self._release
            self.in_flight += 1
            try:
                await asyncio.wait_for(release.wait(), outage.hang_secs)
            except TimeoutError:
                return web.json_response({"ok": False, "error": "fake_timeout"}, status=504)
            finally:
                self.in_flight -= 1
            return await self._misbehave()  # released: answer as the fake behaves now (slowly, but answered)
        if outage.mode == "error500":
            return web.Response(status=500, text="internal error")
        if outage.mode == "ratelimited":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(outage.retry_after_secs)}
            )
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields, body = await self._fields(request)
        failure = await self._misbehave()
        with self._lock:
            self.requests.append(
                SlackRequest(method, fields, body, request.headers.get("Authorization", ""), accepted=failure is None)
            )
        if failure is not None:
            return failure
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        match method:
            case "auth.test":
                return web.json_response({"ok": True, "user_id": "U0FAKEBOT", "team_id": "T0FAKE", "bot_id": "B0FAKE"})
            case "chat.postMessage":
                if not str(fields.get("channel", "")).startswith(("C", "G", "D")):
                    return web.json_response({"ok": False, "error": "channel_not_found"})
                return web.json_response({"ok": True, "channel": fields["channel"], "ts": f"{time.time():.6f}"})
            case "files.getUploadURLExternal":
                file_id = f"F{len(self.requests):08d}"
                return web.json_response(
                    {"ok": True, "file_id": file_id, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
                )
            case "files.completeUploadExternal":
                files = json.loads(fields.get("files", "[]"))
                return web.json_response(
                    {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
                )
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.requests.append(SlackRequest("upload", {"file_id": request.match_info["file_id"]}, body, ""))
            self.uploads[request.match_info["file_id"]] = body
        return web.Response(text=f"OK - {len(body)}")


def refused_base_url() -> str:
    """Return a loopback Web API root where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"
