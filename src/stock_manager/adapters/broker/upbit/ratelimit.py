"""Client-side pacing per Upbit rate-limit group, corrected by the venue's answers; 429 back-off; 418 blocks.

Source: upbit-openapi.md §6 (groups, per-second windows, ``Remaining-Req``, 429 then 418 with a growing block;
"on 429 stop the whole group"), §7 (418/429 bodies unconfirmed) and §9 pitfalls 11, 16, 17.

Every request passes `UpbitRateLimiter.acquire(group, priority)` before it is sent:

1. while a 418 block lasts, *every* request is refused at once with `UpbitBlocked` (a `FatalBrokerError`);
2. a group that Upbit said was spent (``sec=0``) or that answered 429 waits until its resume time;
3. an aiolimiter bucket per group spaces requests 1/rate apart (no burst), so the venue rarely says no;
4. within a group, orders and cancels go before reads (a priority gate in front of the bucket).

After every answer, `observe` reads ``Remaining-Req: group=default; min=1800; sec=29`` leniently (``min`` is
ignored, §9 pitfall 17): ``sec=0`` holds that group back for `EXHAUSTED_WAIT_SECS` (the server's second
boundary is unknown, so a whole second). A 429 holds the group back exponentially (capped) and is returned as
`UpbitRateLimited`; a 418 starts a block whose length is taken from ``Retry-After`` or the body when they state
one, else the configured default doubled on each repeat, and the ``on_blocked`` hook is awaited so the
integrator can alert and stop trading.
"""

import asyncio
import heapq
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import IntEnum
from typing import Final

import structlog
from aiolimiter import AsyncLimiter

from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.errors import UpbitBlocked, UpbitRateLimited
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.clock import Clock

log = structlog.get_logger(__name__)

type Sleep = Callable[[float], Awaitable[None]]
type Monotonic = Callable[[], float]

#: How long a group is held back after ``sec=0`` (the rest of Upbit's current one-second window, at most).
EXHAUSTED_WAIT_SECS: Final = 1.0
#: 429s in a row one read waits out (each after the group's back-off): "not now" uses up no try meant for failures.
RATE_LIMITED_READ_TRIES: Final = 8
#: Group names as the ``Remaining-Req`` header spells them → the names used here (§6: real header ``candles``).
GROUP_ALIASES: Final = {"candles": "candle"}
_HEADER_PAIR = re.compile(r"([A-Za-z_]+)\s*=\s*([^;,\s]+)")
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|s\b|minutes?|mins?|m\b|hours?|h\b|초|분|시간)", re.IGNORECASE
)
_UNIT_SECS: Final = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "초": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "분": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "시간": 3600.0,
}


class Priority(IntEnum):
    """Who goes first when requests of one group queue: smaller is more urgent."""

    ORDER = 0  # order creation and cancels
    READ = 1  # everything else


@dataclass(frozen=True, slots=True)
class RemainingReq:
    """A parsed ``Remaining-Req`` header: the group and the requests left in the current second (None if absent)."""

    group: str
    sec: int | None


@dataclass(frozen=True, slots=True)
class BlockNotice:
    """What the ``on_blocked`` hook receives when Upbit answers 418.

    Attributes
    ----------
    until_utc : datetime
        Aware UTC time the block is expected to end; no request is sent before it.
    duration_secs : float
        Length of the block, seconds.
    offence : int
        1 for the first block, 2 for a repeat (one following within ``block_forget_secs``), and so on.
    stated_by_upbit : bool
        True when the length came from ``Retry-After`` or the body, False when it is the configured default.
    """

    until_utc: datetime
    duration_secs: float
    offence: int
    stated_by_upbit: bool


type BlockHandler = Callable[[BlockNotice], Awaitable[None]]


def parse_remaining_req(value: str | None) -> RemainingReq | None:
    """Return the group and ``sec`` of a ``Remaining-Req`` header, or None when it names no group.

    Parsing is lenient: pairs may be separated by ``;`` or ``,``, spaces are ignored, a non-numeric ``sec`` is
    read as absent, and the group is lower-cased and mapped through `GROUP_ALIASES` (``candles`` → ``candle``).
    """
    if not value:
        return None
    fields = {key.lower(): val for key, val in _HEADER_PAIR.findall(value)}
    group = fields.get("group", "").strip().lower()
    if not group:
        return None
    sec_text = fields.get("sec", "")
    return RemainingReq(group=GROUP_ALIASES.get(group, group), sec=int(sec_text) if sec_text.isdigit() else None)


def parse_block_duration_secs(headers: Mapping[str, str], text: str, *, now_utc: datetime) -> float | None:
    """Return the block length a 418 answer states, seconds, or None when it states none.

    ``Retry-After`` (seconds or an HTTP date) wins; otherwise the first "<number> <unit>" in the body
    (``60 seconds``, ``10 min``, ``1시간``, …) is used. The format is unconfirmed (§11), hence the leniency.
    """
    retry_after = (headers.get("retry-after") or "").strip()
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(retry_after) - now_utc).total_seconds()
            except (TypeError, ValueError):
                seconds = -1.0
        if seconds > 0:
            return seconds
    if match := _DURATION.search(text or ""):
        return float(match.group(1)) * _UNIT_SECS[match.group(2).lower()]
    return None


class _PriorityGate:
    """One holder at a time; the most urgent waiter is admitted next (FIFO within a priority)."""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()

    async def enter(self, priority: Priority) -> None:
        if not self._busy and not self._waiters:
            self._busy = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._sequence), future))
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.leave()  # the gate was handed to us as we were cancelled: pass it on
            raise

    def leave(self) -> None:
        while self._waiters:
            *_, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # hand the gate over; _busy stays True
                return
        self._busy = False


class _Group:
    def __init__(self, rate_per_sec: float) -> None:
        self.bucket = AsyncLimiter(1, 1.0 / rate_per_sec)
        self.gate = _PriorityGate()
        self.resume_at = 0.0  # monotonic seconds
        self.rate_limited_in_a_row = 0


class UpbitRateLimiter:
    """Paces requests per group and obeys what Upbit says about them (see the module docstring).

    Parameters
    ----------
    config : UpbitConfig
        Rates per group, 429 back-off bounds and 418 block lengths.
    clock : Clock
        Wall clock, for the block's end time in messages and notices.
    monotonic : Callable[[], float]
        Monotonic seconds (default `time.monotonic`); resume times are measured with it.
    sleep : Callable[[float], Awaitable[None]]
        Async sleep used to wait for a group's resume time (default `asyncio.sleep`).
    on_blocked : Callable[[BlockNotice], Awaitable[None]] | None
        Awaited once per 418 answer, before the error is raised; exceptions it raises are logged, not
        propagated.
    """

    def __init__(
        self,
        config: UpbitConfig,
        *,
        clock: Clock,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_blocked: BlockHandler | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.on_blocked = on_blocked
        self._groups: dict[str, _Group] = {}
        self._blocked_until = 0.0  # monotonic
        self._blocked_until_utc: datetime | None = None
        self._offences = 0

    # -- BEFORE A REQUEST --------------------------------------------------------------------------------

    async def acquire(self, group: str, priority: Priority = Priority.READ) -> None:
        """Wait until a request of `group` may be sent; the caller sends it at once.

        Raises
        ------
        UpbitBlocked
            While a 418 block lasts (also when it starts during the wait); nothing may be sent.
        """
        state = self._group(group)
        await state.gate.enter(priority)
        try:
            while True:
                self._raise_if_blocked()
                wait_secs = state.resume_at - self._monotonic()
                if wait_secs <= 0:
                    break
                await self._sleep(wait_secs)
            await state.bucket.acquire()
            self._raise_if_blocked()
        finally:
            state.gate.leave()

    @property
    def blocked_until_utc(self) -> datetime | None:
        """Return the end of the current 418 block (aware UTC), or None when not blocked."""
        return self._blocked_until_utc if self._monotonic() < self._blocked_until else None

    def resume_in_secs(self, group: str) -> float:
        """Return how long `group` is still held back by ``sec=0`` or 429, seconds (0 when free to go)."""
        return max(0.0, self._group(group).resume_at - self._monotonic())

    # -- AFTER AN ANSWER ---------------------------------------------------------------------------------

    async def observe(
        self, group: str, status: int, headers: Mapping[str, str], text: str, *, what: str
    ) -> UpbitRateLimited | UpbitBlocked | None:
        """Learn from one answer of a request of `group`; return the error to raise for 429/418, else None.

        Parameters
        ----------
        group : str
            The group the request was paced in.
        status : int
            HTTP status of the answer.
        headers : Mapping[str, str]
            Response headers (case-insensitive mapping, e.g. ``httpx.Headers``).
        text : str
            Body text (418 bodies may state the block length).
        what : str
            The call, for messages, e.g. ``"GET /v1/accounts"``.
        """
        now = self._monotonic()
        remaining = parse_remaining_req(headers.get("remaining-req"))
        state = self._group(group)
        if remaining is not None and remaining.sec == 0:
            for name in {group, remaining.group}:
                held = self._group(name)
                held.resume_at = max(held.resume_at, now + EXHAUSTED_WAIT_SECS)
        if status == 418:
            return await self._start_block(headers, text, what=what)
        if status == 429:
            state.rate_limited_in_a_row += 1
            backoff_secs = min(
                self._config.rate_limited_backoff_max_secs,
                self._config.rate_limited_backoff_initial_secs * 2 ** (state.rate_limited_in_a_row - 1),
            )
            state.resume_at = max(state.resume_at, now + backoff_secs)
            log.warning(
                "upbit_rate_limited",
                group=group,
                what=what,
                in_a_row=state.rate_limited_in_a_row,
                backoff_secs=backoff_secs,
            )
            return UpbitRateLimited(
                f"Upbit {what}: HTTP 429 (group {group!r} over its limit); the group is held back {backoff_secs:g} s",
                group=group,
                retry_after_secs=backoff_secs,
            )
        state.rate_limited_in_a_row = 0
        return None

    async def _start_block(self, headers: Mapping[str, str], text: str, *, what: str) -> UpbitBlocked:
        now, now_utc = self._monotonic(), self._clock.now()
        if self._blocked_until and now - self._blocked_until > self._config.block_forget_secs:
            self._offences = 0
        self._offences += 1
        stated = parse_block_duration_secs(headers, text, now_utc=now_utc)
        default_secs = min(self._config.block_max_secs, self._config.block_default_secs * 2 ** (self._offences - 1))
        duration_secs = stated if stated is not None else default_secs
        self._blocked_until = max(self._blocked_until, now + duration_secs)
        until_utc = now_utc + timedelta(seconds=self._blocked_until - now)
        self._blocked_until_utc = until_utc
        notice = BlockNotice(
            until_utc=until_utc, duration_secs=duration_secs, offence=self._offences, stated_by_upbit=stated is not None
        )
        log.error(
            "upbit_blocked",
            what=what,
            until_utc=until_utc.isoformat(),
            duration_secs=duration_secs,
            offence=self._offences,
            stated_by_upbit=stated is not None,
        )
        if self.on_blocked is not None:
            try:
                await self.on_blocked(notice)
            except Exception as e:
                log.error("upbit_block_hook_failed", error=mask(f"{type(e).__name__}: {e}"))
        return self._blocked_error(f"Upbit {what}: HTTP 418")

    def _raise_if_blocked(self) -> None:
        if self._monotonic() < self._blocked_until:
            raise self._blocked_error("Upbit request not sent")

    def _blocked_error(self, prefix: str) -> UpbitBlocked:
        until_utc = self._blocked_until_utc or self._clock.now()
        duration_secs = max(0.0, self._blocked_until - self._monotonic())
        return UpbitBlocked(
            f"{prefix}: Upbit blocks this IP/account until {until_utc.astimezone(UTC).isoformat(timespec='seconds')} "
            f"(offence {self._offences}, {duration_secs:.0f} s left); nothing is sent until then",
            until_utc=until_utc,
            duration_secs=duration_secs,
        )

    def _group(self, name: str) -> _Group:
        state = self._groups.get(name)
        if state is None:
            state = self._groups[name] = _Group(self._config.rate_per_sec(name))
        return state


# -- REQUEST CLASSIFICATION -------------------------------------------------------------------------------

_QUOTATION_GROUPS: Final = (
    ("/v1/market/", "market"),
    ("/v1/candles/", "candle"),
    ("/v1/trades/", "trade"),
    ("/v1/ticker", "ticker"),
    ("/v1/orderbook", "orderbook"),
)


def request_group(method: str, path: str) -> str:
    """Return the ``Remaining-Req`` group of a request (§6): ``order`` for ``POST /v1/orders`` and
    ``/v1/orders/cancel_and_new``, ``order-test``, ``order-cancel-all`` for ``DELETE /v1/orders/open``, the
    quotation groups by path, else ``default``."""
    method, path = method.upper(), path.rstrip("/")
    if method == "POST" and path in {"/v1/orders", "/v1/orders/cancel_and_new"}:
        return "order"
    if method == "POST" and path == "/v1/orders/test":
        return "order-test"
    if method == "DELETE" and path == "/v1/orders/open":
        return "order-cancel-all"
    for prefix, group in _QUOTATION_GROUPS:
        if path.startswith(prefix):
            return group
    return "default"


def request_priority(method: str, path: str) -> Priority:
    """Return `Priority.ORDER` for order creation and every cancel (POST/DELETE under ``/v1/order``), else READ."""
    return Priority.ORDER if method.upper() in {"POST", "DELETE"} and path.startswith("/v1/order") else Priority.READ
