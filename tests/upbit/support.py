"""Helpers of the Upbit adapter specifications: samples, a config, a scripted REST venue and a fake time."""

import asyncio
import json
import warnings
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
from pydantic import SecretStr

from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.ratelimit import BlockHandler, UpbitRateLimiter
from stock_manager.adapters.broker.upbit.rest import UpbitRestClient

SAMPLES = Path(__file__).resolve().parent.parent / "upbit_samples"
ACCESS_KEY = "AKtestAccessKey0123456789abcdefghijklmno"  # 40 characters, like Upbit's
SECRET_KEY = "SKtestSecretKey9876543210zyxwvutsrqponml"
FAST_RATES = {
    group: 1000.0
    for group in (
        "default",
        "order",
        "order-test",
        "order-cancel-all",
        "market",
        "candle",
        "trade",
        "ticker",
        "orderbook",
    )
}
DEFAULT_REMAINING = "group=default; min=1800; sec=29"


def sample(name: str) -> Any:
    """Return a JSON sample file's content."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def order_sample(title_start: str) -> dict[str, Any]:
    """Return the order object of ``rest_orders.json`` whose title starts with `title_start`."""
    orders = sample("rest_orders.json")
    matches = [value for title, value in orders.items() if title.startswith(title_start)]
    assert len(matches) == 1, f"{title_start!r} matches {len(matches)} samples"
    return matches[0]


def error_sample(name: str | int) -> tuple[int, Any]:
    """Return (status, body) of the first ``rest_errors.json`` entry whose error name is `name`."""
    for entry in sample("rest_errors.json"):
        body = entry.get("body")
        if body is not None and body["error"]["name"] == name:
            return entry["status"], body
    raise KeyError(name)


def ws_frames(name: str) -> list[dict[str, Any]]:
    """Return the wrapper lines of a ``.jsonl`` WebSocket sample (``_dir``, ``_note``, ``msg``/``msg_text``), with
    JSON numbers as Decimal (as the session decodes them)."""
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line, parse_float=Decimal) for line in lines if line.strip()]


def ws_message(name: str, note_start: str) -> dict[str, Any]:
    """Return the ``msg`` of the frame of `name` whose note starts with `note_start` (numbers as Decimal)."""
    return json.loads(ws_message_text(name, note_start), parse_float=Decimal)


def ws_message_text(name: str, note_start: str) -> str:
    """Return the ``msg`` of the frame of `name` whose note starts with `note_start`, as the exact JSON text of the
    sample (so JSON numbers go on the wire digit for digit)."""
    lines = [
        line
        for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines()
        if json.loads(line).get("_note", "").startswith(note_start) and '"msg": ' in line
    ]
    assert len(lines) == 1, f"{note_start!r} matches {len(lines)} frames"
    text = lines[0][lines[0].index('"msg": ') + len('"msg": ') :].rstrip()
    assert text.endswith("}}") or text.endswith("]}")
    return text[:-1]  # the wrapper's closing brace


def config(**overrides: Any) -> UpbitConfig:
    """Return a config towards loopback URLs with fast rates and short back-offs, plus `overrides`."""
    values: dict[str, Any] = {
        "access_key": SecretStr(ACCESS_KEY),
        "secret_key": SecretStr(SECRET_KEY),
        "rest_base_url": "http://127.0.0.1:9",
        "ws_public_url": "ws://127.0.0.1:9/websocket/v1",
        "ws_private_url": "ws://127.0.0.1:9/websocket/v1/private",
        "rates_per_sec": FAST_RATES,
        "reconnect_initial_secs": 0.01,
        "reconnect_max_secs": 0.02,
    }
    values.update(overrides)
    return UpbitConfig(**values)


class FakeTime:
    """Monotonic seconds, a wall clock and an async sleep that only moves them (no real waiting)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.start_utc = datetime(2025, 8, 9, 7, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self.t

    def now(self) -> datetime:
        """Return the fake wall time, aware UTC."""
        return self.start_utc + timedelta(seconds=self.t - 1000.0)

    async def sleep(self, secs: float) -> None:
        """Record `secs` and advance time by it; yield to the loop once."""
        self.slept.append(secs)
        self.t += max(0.0, secs)
        await asyncio.sleep(0)


type Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(body: Any, status: int = 200, *, remaining: str = DEFAULT_REMAINING, **headers: str) -> httpx.Response:
    """Return a JSON answer with a ``Remaining-Req`` header."""
    return httpx.Response(status, json=body, headers={"Remaining-Req": remaining, **headers})


def fail(
    status: int, body: Any = None, *, text: str | None = None, remaining: str = DEFAULT_REMAINING, **headers: str
) -> httpx.Response:
    """Return an error answer: a JSON `body` or a raw `text` page."""
    if text is not None:
        return httpx.Response(status, text=text, headers={"Remaining-Req": remaining, **headers})
    return httpx.Response(status, json=body, headers={"Remaining-Req": remaining, **headers})


class FakeUpbit:
    """A scripted Upbit REST venue: answers queued per (method, path), every request recorded."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: dict[tuple[str, str], deque[Answer]] = defaultdict(deque)

    def on(self, method: str, path: str, *answers: Answer) -> "FakeUpbit":
        """Queue `answers` for the next requests of (method, path); the last one repeats."""
        self._answers[(method.upper(), path)].extend(answers)
        return self

    def transport(self) -> httpx.MockTransport:
        """Return a transport serving the script."""
        return httpx.MockTransport(self._handle)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        """Return the recorded requests of (method, path)."""
        return [r for r in self.requests if r.method == method.upper() and r.url.path == path]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        queue = self._answers.get((request.method, request.url.path))
        if not queue:
            return fail(500, text=f"no scripted answer for {request.method} {request.url.path}")
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer


def claims(request: httpx.Request) -> dict[str, Any]:
    """Return the verified JWT claims of a request's ``Authorization: Bearer`` header."""
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return decode_token(token)


def decode_token(token: str, algorithms: tuple[str, ...] = ("HS256", "HS512")) -> dict[str, Any]:
    """Return the claims of `token`, verified with the test secret and one of `algorithms`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # Upbit's secrets are 40 characters
        return jwt.decode(token, SECRET_KEY, algorithms=list(algorithms))


def decoded_query(request: httpx.Request) -> str:
    """Return the request's query string percent-decoded (what Upbit hashes)."""
    return unquote(request.url.query.decode("ascii"))


def query_pairs(request: httpx.Request) -> list[tuple[str, str]]:
    """Return the request's query as decoded (key, value) pairs, in order."""
    return list(httpx.QueryParams(request.url.query.decode("ascii")).multi_items())


def rest_client(
    fake: FakeUpbit, time: FakeTime, *, on_blocked: BlockHandler | None = None, **overrides: Any
) -> UpbitRestClient:
    """Return an `UpbitRestClient` on `fake`'s transport whose limiter and retries run on `time`."""
    settings = config(**overrides)
    limiter = UpbitRateLimiter(settings, clock=time, monotonic=time.monotonic, sleep=time.sleep, on_blocked=on_blocked)
    return UpbitRestClient(settings, limiter=limiter, transport=fake.transport(), sleep=time.sleep)
