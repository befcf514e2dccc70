"""The simulator's rate limits: per-group, per-second request counts with ``Remaining-Req`` on every answer, 429
on overflow, and a 418 block after repeated 429s whose length grows on each repeat.

Source: ../reference/upbit-openapi.md §6 (groups and limits: Exchange groups per key ("pocket"), Quotation
groups per IP; ``Remaining-Req: group=<name>; min=<n>; sec=<n>`` where ``sec`` is what is left of the current
second; 429 when over; 418 with a block period that grows when 429s are ignored) and §11 (429/418 bodies are
unconfirmed). Choices for the [U] points: 429 answers the plain text ``Too many API requests.`` (what pyupbit
expects); 418 answers plain text naming the block length in seconds and a ``Retry-After`` header; ``min`` is
a fixed 1800; the header names the candle group ``candles``, as real answers do [R]. A request refused by 429
or 418 still counts against its second. Windows are calendar seconds of the injected wall clock.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from stock_manager.domain.clock import Clock

#: Requests per second per group (§6); ``order`` is 8/s in the reference pages (12/s per a later notice).
DEFAULT_LIMITS: Final[Mapping[str, int]] = {
    "default": 30,
    "order": 8,
    "order-test": 8,
    "market": 10,
    "candles": 10,
    "trade": 10,
    "ticker": 10,
    "orderbook": 10,
}
EXCHANGE_GROUPS: Final = frozenset({"default", "order", "order-test", "order-cancel-all"})
MINUTE_FIELD: Final = 1800
TOO_MANY: Final = "Too many API requests."


def request_group(method: str, path: str) -> str:
    """Return the ``Remaining-Req`` group of a request (§6)."""
    method, path = method.upper(), path.rstrip("/")
    if method == "POST" and path in {"/v1/orders", "/v1/orders/cancel_and_new"}:
        return "order"
    if method == "POST" and path == "/v1/orders/test":
        return "order-test"
    if method == "DELETE" and path == "/v1/orders/open":
        return "order-cancel-all"
    for prefix, group in (
        ("/v1/market/", "market"),
        ("/v1/candles/", "candles"),
        ("/v1/trades/", "trade"),
        ("/v1/ticker", "ticker"),
        ("/v1/orderbook", "orderbook"),
    ):
        if path.startswith(prefix):
            return group
    return "default"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the limiter says of one request: the header to send, and 429/418 when refused."""

    header: str
    status: int | None = None  # None: go on; 429 or 418: answer that
    block_secs: float = 0.0


@dataclass(slots=True)
class _Bucket:
    second: int = -1
    count: int = 0


@dataclass(slots=True)
class RateGate:
    """Counts requests per (group, pocket) and second.

    Attributes
    ----------
    limits : Mapping[str, int] | None
        Requests per second per group (groups not listed are unlimited; ``order-cancel-all`` is 1 per 2 s:
        give it 1 to keep it per second); None disables limiting (the header is still sent).
    block_after_429s : int
        Consecutive 429s of one pocket that start a block (0: never block).
    block_secs : float
        Length of a first block; doubled on each repeat.
    """

    clock: Clock
    limits: Mapping[str, int] | None = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    block_after_429s: int = 10
    block_secs: float = 60.0
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _in_a_row: dict[str, int] = field(default_factory=dict)
    _blocked_until: dict[str, float] = field(default_factory=dict)
    _blocks: dict[str, int] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)  # answers by status (429, 418)

    def check(self, group: str, pocket: str) -> Verdict:
        """Count one request of `group` for `pocket` (an access key, or the caller's IP for quotation groups)."""
        now = self.clock.now().timestamp()
        limit = None if self.limits is None else self.limits.get(group)
        bucket = self._buckets.setdefault((group, pocket), _Bucket())
        second = math.floor(now)
        if bucket.second != second:
            bucket.second, bucket.count = second, 0
        bucket.count += 1
        left = max(0, limit - bucket.count) if limit is not None else MINUTE_FIELD
        header = f"group={group}; min={MINUTE_FIELD}; sec={left}"
        blocked_for = self._blocked_until.get(pocket, 0.0) - now
        if blocked_for > 0:
            return self._refuse(Verdict(header, 418, blocked_for))
        if limit is None or bucket.count <= limit:
            self._in_a_row[pocket] = 0
            return Verdict(header)
        return self.too_many(header, pocket)

    def too_many(self, header: str, pocket: str) -> Verdict:
        """Return the verdict of a 429 for `pocket` (a block instead once 429s came `block_after_429s` in a row)."""
        self._in_a_row[pocket] = self._in_a_row.get(pocket, 0) + 1
        if self.block_after_429s and self._in_a_row[pocket] >= self.block_after_429s:
            return self.block(header, pocket)
        return self._refuse(Verdict(header, 429))

    def block(self, header: str, pocket: str, secs: float | None = None) -> Verdict:
        """Start (or extend) a block of `pocket`; its length doubles with each block unless `secs` is given."""
        self._blocks[pocket] = self._blocks.get(pocket, 0) + 1
        length = secs if secs is not None else self.block_secs * 2 ** (self._blocks[pocket] - 1)
        now = self.clock.now().timestamp()
        self._blocked_until[pocket] = max(self._blocked_until.get(pocket, 0.0), now + length)
        self._in_a_row[pocket] = 0
        return self._refuse(Verdict(header, 418, self._blocked_until[pocket] - now))

    def _refuse(self, verdict: Verdict) -> Verdict:
        assert verdict.status is not None
        self.counts[verdict.status] = self.counts.get(verdict.status, 0) + 1
        return verdict
