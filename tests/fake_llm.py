"""A local fake of a language model's HTTP API on loopback, for the real ``openai`` and ``anthropic`` SDKs.

It speaks OpenAI's chat completions (``POST /v1/chat/completions``) and Anthropic's messages
(``POST /v1/messages``), records every request, and answers from a script of `Reply` values (then from
`default`): a JSON text, an HTTP error with headers (a 429 with ``Retry-After``), or a delay longer than the
client's timeout. Each answer reports token counts (`Reply.input_tokens`, `Reply.output_tokens`). It runs an
aiohttp server on its own event loop in a background thread, like `tests.fake_slack.FakeSlack`.

    with FakeLlm() as llm:
        llm.script(Reply('{"summary": "ok", "observations": []}'))
        ... OpenAiCompatibleChat(base_url=llm.openai_url, ...) or AnthropicChat(base_url=llm.anthropic_url, ...)
"""

import asyncio
import contextlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODEL = "fake-model-1"


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: `content` with HTTP 200, or `status` with `error` and `headers`; after `delay_secs`."""

    content: str = ""
    status: int = 200
    error: str = "scripted error"
    headers: dict[str, str] = field(default_factory=dict)
    delay_secs: float = 0.0
    input_tokens: int = 120
    output_tokens: int = 40


@dataclass(frozen=True, slots=True)
class LlmRequest:
    """One request received: the API (``openai`` or ``anthropic``), its JSON body and its headers (names in lower
    case)."""

    api: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def text(self) -> str:
        """Return every message's text and the system prompt, joined (what the model was shown)."""
        parts = [str(self.body.get("system") or "")]
        parts += [str(m.get("content")) for m in self.body.get("messages", [])]
        return "\n".join(parts)


@dataclass
class FakeLlm:
    """The fake server; use as a context manager (``with FakeLlm() as llm:``)."""

    default: Reply = field(default_factory=lambda: Reply('{"summary": "a quiet day", "observations": []}'))
    requests: list[LlmRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    @property
    def openai_url(self) -> str:
        """Return the base URL for the ``openai`` SDK (``AI_BASE_URL`` with ``AI_PROVIDER=openai``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        """Return the base URL for the ``anthropic`` SDK (``AI_BASE_URL`` with ``AI_PROVIDER=anthropic``)."""
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order (then `default`)."""
        with self._lock:
            self._script.extend(replies)

    # -- LIFECYCLE -------------------------------------------------------------------------------------

    def __enter__(self) -> "FakeLlm":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-llm", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake language model did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        assert self._thread is not None
        self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main(ready))
        self._loop.close()

    async def _main(self, ready: threading.Event) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._stop = asyncio.Event()
        ready.set()
        await self._stop.wait()
        await self._runner.cleanup()

    # -- HANDLERS --------------------------------------------------------------------------------------

    def _next(self, api: str, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(LlmRequest(api, body, headers))
            return self._script.popleft() if self._script else self.default

    async def _answer(self, reply: Reply, ok: dict[str, Any], error: dict[str, Any]) -> web.Response:
        if reply.delay_secs:  # a slow model; the server's stop ends the wait
            assert self._stop is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), reply.delay_secs)
        if reply.status != 200:
            return web.json_response(error, status=reply.status, headers=reply.headers)
        return web.json_response(ok, headers=reply.headers)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        reply = self._next("openai", body, {k.lower(): v for k, v in request.headers.items()})
        ok = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply.content}}
            ],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }
        error = {"error": {"message": reply.error, "type": "fake_error", "code": str(reply.status)}}
        return await self._answer(reply, ok, error)

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        reply = self._next("anthropic", body, {k.lower(): v for k, v in request.headers.items()})
        ok = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "content": [{"type": "text", "text": reply.content}],
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }
        error = {"type": "error", "error": {"type": "fake_error", "message": reply.error}}
        return await self._answer(reply, ok, error)


def proposal(params: dict[str, Any], rationale: str = "a smaller step") -> str:
    """Return a proposal answer's JSON text."""
    return json.dumps({"params": params, "rationale": rationale})
