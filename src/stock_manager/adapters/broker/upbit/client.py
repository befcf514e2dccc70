"""The domain-level Upbit client: one method per question the integrator asks, typed answers, pages handled.

Source: upbit-openapi.md §3 (quotation endpoints, answered by the `quotations` collaborator), §4.1–§4.9
(exchange endpoints: accounts, chance, create, single/open/closed/uuids inquiries, cancel), §9 pitfalls 1, 2, 5,
12, 13. Errors are the `rest` module's (see `errors`); a payload that cannot be parsed is a
`TemporaryBrokerError` for a read and an `AmbiguousOrderOutcome` for an order or cancel (Upbit did act; we could
not read how)."""

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import httpx
import structlog

from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.errors import UpbitOrderNotFound
from stock_manager.adapters.broker.upbit.models import (
    UpbitBalance,
    UpbitCandle,
    UpbitChance,
    UpbitInstrument,
    UpbitOrder,
    UpbitTicker,
    UpbitTradeTick,
)
from stock_manager.adapters.broker.upbit.orders import order_body
from stock_manager.adapters.broker.upbit.parsers import (
    UpbitParseError,
    parse_accounts,
    parse_chance,
    parse_order,
    parse_orders,
)
from stock_manager.adapters.broker.upbit.quotations import CANDLES_PER_CALL, UpbitQuotations, chunks, read_answer
from stock_manager.adapters.broker.upbit.ratelimit import BlockHandler, Sleep, UpbitRateLimiter
from stock_manager.adapters.broker.upbit.rest import UpbitRestClient
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import AmbiguousOrderOutcome, TemporaryBrokerError

log = structlog.get_logger(__name__)

OPEN_ORDERS_PER_PAGE: Final = 100  # §4.6 maximum
MAX_OPEN_ORDER_PAGES: Final = 100
CLOSED_ORDERS_LIMIT: Final = 1000  # §4.7 maximum
CLOSED_ORDERS_WINDOW: Final = timedelta(days=7)  # §4.7 maximum window
IDS_PER_CALL: Final = 100  # GET /v1/orders/uuids per-call maximum is not documented [U]


class UpbitExchangeClient:
    """Upbit's REST API as typed calls: balances, order constraints, orders, inquiries, quotations.

    Parameters
    ----------
    rest : UpbitRestClient
        The raw client (signing, pacing, error translation).
    closed_orders_limit : int
        Rows asked per ``/v1/orders/closed`` call (Upbit's maximum 1,000); a window that returns this many is
        split, since Upbit silently drops the rest (§4.7).
    """

    def __init__(self, rest: UpbitRestClient, *, closed_orders_limit: int = CLOSED_ORDERS_LIMIT) -> None:
        self.rest = rest
        self.quotes = UpbitQuotations(rest)
        self._closed_limit = closed_orders_limit

    @classmethod
    def from_config(
        cls,
        config: UpbitConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        on_blocked: BlockHandler | None = None,
    ) -> "UpbitExchangeClient":
        """Return a client over a new `UpbitRestClient` (no I/O until the first call)."""
        return cls(UpbitRestClient(config, transport=transport, clock=clock, sleep=sleep, on_blocked=on_blocked))

    @property
    def limiter(self) -> UpbitRateLimiter:
        """Return the rate limiter (``limiter.on_blocked`` is the 418 hook; ``blocked_until_utc`` its state)."""
        return self.rest.limiter

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.rest.aclose()

    async def __aenter__(self) -> "UpbitExchangeClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- ACCOUNT --------------------------------------------------------------------------------------------

    async def accounts(self) -> list[UpbitBalance]:
        """Return every balance of the account, ``GET /v1/accounts`` (§4.1); KRW is ``currency="KRW"``."""
        return read_answer(parse_accounts, await self.rest.read("/v1/accounts"), "GET /v1/accounts")

    async def chance(self, market: str) -> UpbitChance:
        """Return fees, minimum/maximum totals, allowed types and balances for `market`, ``GET /v1/orders/chance``
        (§4.2)."""
        payload = await self.rest.read("/v1/orders/chance", {"market": market})
        return read_answer(parse_chance, payload, "GET /v1/orders/chance")

    # -- ORDERS ---------------------------------------------------------------------------------------------

    async def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        *,
        volume: Decimal | None = None,
        price: Decimal | None = None,
        time_in_force: str | None = None,
        identifier: str | None = None,
    ) -> UpbitOrder:
        """Create an order once, ``POST /v1/orders`` (§4.3); return Upbit's answer (201, state ``wait`` for a
        resting limit, no trades). The body follows `orders.order_body` (types and amounts checked first).

        Raises
        ------
        OrderRejectedByBroker
            ``code="CLIENT"``: refused before sending (see `orders.order_body`); otherwise Upbit refused the
            order and ``code`` is its error name (``insufficient_funds_bid``, ``invalid_price_ask``, …).
        AmbiguousOrderOutcome
            The order may exist (timeout after sending, 5xx, unreadable answer): look it up with
            `get_order(identifier=...)`; never re-send blindly.
        TemporaryBrokerError
            The order was certainly not created (no connection, 429, ``nonce_used``). Upbit burns an
            identifier even on failed attempts (§9 pitfall 13): send any retry with a new identifier.
        FatalBrokerError
            Keys, IP allow-list or permissions refused, or a 418 block (`UpbitBlocked`): stop trading.
        """
        body = order_body(
            market, side, ord_type, volume=volume, price=price, time_in_force=time_in_force, identifier=identifier
        )
        payload = await self.rest.order("/v1/orders", dict(body))
        return _acted(parse_order, payload, "POST /v1/orders")

    async def test_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        *,
        volume: Decimal | None = None,
        price: Decimal | None = None,
        time_in_force: str | None = None,
        identifier: str | None = None,
    ) -> UpbitOrder:
        """Validate an order without creating it, ``POST /v1/orders/test`` (§4.4); the answer's uuid is unusable.

        Raises as `place_order`.
        """
        body = order_body(
            market, side, ord_type, volume=volume, price=price, time_in_force=time_in_force, identifier=identifier
        )
        return _acted(parse_order, await self.rest.order("/v1/orders/test", dict(body)), "POST /v1/orders/test")

    async def get_order(self, uuid: str | None = None, identifier: str | None = None) -> UpbitOrder | None:
        """Return one order with its trades, ``GET /v1/order`` (§4.5), or None when Upbit knows no such order
        (404 ``order_not_found``: a definite "not there").

        Raises
        ------
        ValueError
            Unless exactly one of `uuid` and `identifier` is given.
        TemporaryBrokerError, FatalBrokerError
            As `UpbitRestClient.read`.
        """
        params = _one_of(uuid=uuid, identifier=identifier)
        try:
            payload = await self.rest.read("/v1/order", params)
        except UpbitOrderNotFound:
            return None
        return read_answer(parse_order, payload, "GET /v1/order")

    async def cancel_order(self, uuid: str | None = None, *, identifier: str | None = None) -> UpbitOrder:
        """Ask Upbit to cancel one order, ``DELETE /v1/order`` (§4.9); return the snapshot *before* the cancel
        (state still ``wait``/``watch``). The order reaches ``cancel`` (or ``done``, if it filled meanwhile)
        asynchronously: follow ``myOrder`` or poll `get_order` (§9 pitfall 2).

        Raises
        ------
        ValueError
            Unless exactly one of `uuid` and `identifier` is given.
        OrderRejectedByBroker
            Upbit refused the cancel; `UpbitOrderNotFound` (``code="order_not_found"``) for an unknown or, per
            some answers, already finished order.
        AmbiguousOrderOutcome, TemporaryBrokerError, FatalBrokerError
            As `place_order`.
        """
        payload = await self.rest.cancel("/v1/order", _one_of(uuid=uuid, identifier=identifier))
        return _acted(parse_order, payload, "DELETE /v1/order")

    async def open_orders(
        self, market: str | None = None, *, states: Sequence[str] = ("wait", "watch")
    ) -> list[UpbitOrder]:
        """Return every working order (all pages), ``GET /v1/orders/open`` (§4.6), oldest first, without trades.

        Raises
        ------
        TemporaryBrokerError
            Beyond `MAX_OPEN_ORDER_PAGES` pages; and as `UpbitRestClient.read`.
        """
        found: dict[str, UpbitOrder] = {}
        for page in range(1, MAX_OPEN_ORDER_PAGES + 1):
            params = {
                "market": market,
                "states": list(states),
                "page": page,
                "limit": OPEN_ORDERS_PER_PAGE,
                "order_by": "asc",
            }
            orders = read_answer(parse_orders, await self.rest.read("/v1/orders/open", params), "GET /v1/orders/open")
            for order in orders:
                found.setdefault(order.uuid, order)  # pages shift when orders close meanwhile
            if len(orders) < OPEN_ORDERS_PER_PAGE:
                return sorted(found.values(), key=lambda o: o.created_at)
        raise TemporaryBrokerError(f"Upbit GET /v1/orders/open: more than {MAX_OPEN_ORDER_PAGES} pages")

    async def closed_orders(
        self, market: str, start: datetime, end: datetime, *, states: Sequence[str] = ("done", "cancel")
    ) -> list[UpbitOrder]:
        """Return the finished orders of `market` between `start` and `end`, ``GET /v1/orders/closed`` (§4.7),
        oldest first, without trades (each has ``executed_funds``).

        Windows longer than 7 days are split; a window that returns ``closed_orders_limit`` rows is split in
        two and asked again (Upbit drops the rows beyond the limit). Times go out as whole seconds: `start`
        rounded down, `end` rounded up; duplicates at shared edges are merged.

        Raises
        ------
        ValueError
            If a time is naive or `end` is not after `start`.
        TemporaryBrokerError
            If one second alone holds ``closed_orders_limit`` orders; and as `UpbitRestClient.read`.
        """
        start_s, end_s = _floor_second(start), _ceil_second(end)
        if end_s <= start_s:
            raise ValueError(f"end must be after start, was {start.isoformat()} .. {end.isoformat()}")
        windows: list[tuple[datetime, datetime]] = []
        cursor = start_s
        while cursor < end_s:
            windows.append((cursor, min(end_s, cursor + CLOSED_ORDERS_WINDOW)))
            cursor = windows[-1][1]
        found: dict[str, UpbitOrder] = {}
        pending = list(reversed(windows))
        while pending:
            low, high = pending.pop()
            params: dict[str, str | int | datetime | list[str]] = {
                "market": market,
                "states": list(states),
                "start_time": low,
                "end_time": high,
                "limit": self._closed_limit,
                "order_by": "asc",
            }
            orders = read_answer(
                parse_orders, await self.rest.read("/v1/orders/closed", params), "GET /v1/orders/closed"
            )
            if len(orders) >= self._closed_limit:
                if high - low <= timedelta(seconds=1):
                    raise TemporaryBrokerError(
                        f"Upbit GET /v1/orders/closed: {len(orders)} orders in the second "
                        f"from {low.isoformat()}; cannot split further"
                    )
                middle = low + timedelta(seconds=math.ceil((high - low).total_seconds() / 2))
                pending.extend([(middle, high), (low, middle)])
                continue
            for order in orders:
                found.setdefault(order.uuid, order)
        return sorted(found.values(), key=lambda o: o.created_at)

    async def orders_by_identifiers(self, identifiers: Sequence[str], *, market: str | None = None) -> list[UpbitOrder]:
        """Return the orders with these client identifiers, ``GET /v1/orders/uuids`` with ``identifiers[]`` (§4.8),
        in chunks of `IDS_PER_CALL`; identifiers Upbit does not know are simply absent."""
        return await self._by_ids("identifiers", identifiers, market)

    async def orders_by_uuids(self, uuids: Sequence[str], *, market: str | None = None) -> list[UpbitOrder]:
        """Return the orders with these uuids, ``GET /v1/orders/uuids`` with ``uuids[]`` (§4.8)."""
        return await self._by_ids("uuids", uuids, market)

    async def _by_ids(self, key: str, ids: Sequence[str], market: str | None) -> list[UpbitOrder]:
        found: dict[str, UpbitOrder] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), IDS_PER_CALL):
            payload = await self.rest.read("/v1/orders/uuids", {key: chunk, "market": market, "order_by": "asc"})
            for order in read_answer(parse_orders, payload, "GET /v1/orders/uuids"):
                found.setdefault(order.uuid, order)
        return sorted(found.values(), key=lambda o: o.created_at)

    # -- QUOTATION (`quotations.UpbitQuotations`) -----------------------------------------------------------

    async def candles_minutes(
        self, market: str, unit: int, to: datetime | None = None, count: int = CANDLES_PER_CALL
    ) -> list[UpbitCandle]:
        """Return minute candles before `to`, oldest first (`UpbitQuotations.candles_minutes`)."""
        return await self.quotes.candles_minutes(market, unit, to, count)

    async def candles_days(
        self, market: str, to: datetime | None = None, count: int = CANDLES_PER_CALL
    ) -> list[UpbitCandle]:
        """Return day candles before `to`, oldest first (`UpbitQuotations.candles_days`)."""
        return await self.quotes.candles_days(market, to, count)

    async def ticker(self, markets: Sequence[str]) -> list[UpbitTicker]:
        """Return the ticker of each market (`UpbitQuotations.ticker`)."""
        return await self.quotes.ticker(markets)

    async def trades(self, market: str, count: int = 100) -> list[UpbitTradeTick]:
        """Return the latest public trades of `market`, newest first (`UpbitQuotations.trades`)."""
        return await self.quotes.trades(market, count)

    async def instruments(self, markets: Sequence[str]) -> list[UpbitInstrument]:
        """Return tick size and grouping levels per market (`UpbitQuotations.instruments`)."""
        return await self.quotes.instruments(markets)


# -- HELPERS -----------------------------------------------------------------------------------------------


def _acted[T](parse: Callable[[Any], T], payload: Any, what: str) -> T:
    try:
        return parse(payload)
    except UpbitParseError as e:
        log.error("upbit_unreadable_order_answer", what=what, error=mask(str(e)))
        raise AmbiguousOrderOutcome(
            mask(f"Upbit {what}: accepted, but the answer could not be read ({e}); inquire before anything else")
        ) from None


def _one_of(**ids: str | None) -> dict[str, str]:
    given = {key: value for key, value in ids.items() if value is not None}
    if len(given) != 1 or not all(given.values()):
        raise ValueError(f"give exactly one of {', '.join(ids)}, was {given or 'none'}")
    return given


def _aware(ts: datetime) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"times must be timezone-aware, was {ts!r}")
    return ts.astimezone(UTC)


def _floor_second(ts: datetime) -> datetime:
    return _aware(ts).replace(microsecond=0)


def _ceil_second(ts: datetime) -> datetime:
    floor = _floor_second(ts)
    return floor if floor == _aware(ts) else floor + timedelta(seconds=1)
