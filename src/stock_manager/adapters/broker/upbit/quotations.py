"""Upbit's Quotation API as typed calls: candles (paged), tickers, public trades, order-book instruments.

Source: upbit-openapi.md §3 (quotation endpoints: unsigned, ``GET``), §3.2 (candles: newest first, 200 per call,
paging by the exclusive ``to``), §3.4 (long ``markets`` lists break URL limits), §8.1. A collaborator of
`UpbitExchangeClient`, which offers these calls under the same names; an answer that cannot be parsed is a
`TemporaryBrokerError`.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from stock_manager.adapters.broker.upbit.models import UpbitCandle, UpbitInstrument, UpbitTicker, UpbitTradeTick
from stock_manager.adapters.broker.upbit.parsers import (
    UpbitParseError,
    parse_candles,
    parse_instruments,
    parse_tickers,
    parse_trade_ticks,
)
from stock_manager.adapters.broker.upbit.rest import UpbitRestClient
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.errors import TemporaryBrokerError

CANDLE_MINUTE_UNITS: Final = frozenset({1, 3, 5, 10, 15, 30, 60, 240})
CANDLES_PER_CALL: Final = 200  # §3.2
MARKETS_PER_CALL: Final = 100  # long ``markets`` lists break URL limits (§3.4)
TRADES_PER_CALL: Final = 500  # §3.3


class UpbitQuotations:
    """The unsigned market-data calls over `rest` (see the module docstring)."""

    def __init__(self, rest: UpbitRestClient) -> None:
        self.rest = rest

    async def candles_minutes(
        self, market: str, unit: int, to: datetime | None = None, count: int = CANDLES_PER_CALL
    ) -> list[UpbitCandle]:
        """Return up to `count` minute candles that started before `to` (exclusive; None = now), oldest first,
        ``GET /v1/candles/minutes/{unit}`` (§3.2). Minutes without trades have no candle.

        Raises
        ------
        ValueError
            If `unit` is not one of 1, 3, 5, 10, 15, 30, 60, 240, `count` < 1 or `to` is naive.
        """
        if unit not in CANDLE_MINUTE_UNITS:
            raise ValueError(f"unit must be one of {sorted(CANDLE_MINUTE_UNITS)}, was {unit}")
        return await self._candles(f"/v1/candles/minutes/{unit}", market, to, count)

    async def candles_days(
        self, market: str, to: datetime | None = None, count: int = CANDLES_PER_CALL
    ) -> list[UpbitCandle]:
        """Return up to `count` day candles (days start 00:00 UTC) before `to`, oldest first,
        ``GET /v1/candles/days`` (§3.2). Raises as `candles_minutes`."""
        return await self._candles("/v1/candles/days", market, to, count)

    async def _candles(self, path: str, market: str, to: datetime | None, count: int) -> list[UpbitCandle]:
        # Pages of 200, newest first; the next page ends at the oldest candle's start (``to`` is exclusive).
        if count < 1:
            raise ValueError(f"count must be at least 1, was {count}")
        if to is not None and to.tzinfo is None:
            raise ValueError(f"to must be timezone-aware, was {to!r}")
        found: dict[datetime, UpbitCandle] = {}
        cursor = to
        while len(found) < count:
            asked = min(CANDLES_PER_CALL, count - len(found))
            page = read_answer(
                parse_candles,
                await self.rest.read(path, {"market": market, "to": cursor, "count": asked}, signed=False),
                f"GET {path}",
            )
            new = [candle for candle in page if candle.start_utc not in found]
            found.update((candle.start_utc, candle) for candle in new)
            if len(page) < asked or not new:
                break  # no older history
            cursor = min(candle.start_utc for candle in page)
        return sorted(found.values(), key=lambda c: c.start_utc)[-count:]

    async def ticker(self, markets: Sequence[str]) -> list[UpbitTicker]:
        """Return the ticker of each market, ``GET /v1/ticker`` (§3.4), in chunks of `MARKETS_PER_CALL`."""
        tickers: list[UpbitTicker] = []
        for chunk in chunks(list(markets), MARKETS_PER_CALL):
            payload = await self.rest.read("/v1/ticker", {"markets": ",".join(chunk)}, signed=False)
            tickers.extend(read_answer(parse_tickers, payload, "GET /v1/ticker"))
        return tickers

    async def trades(self, market: str, count: int = 100) -> list[UpbitTradeTick]:
        """Return the latest `count` public trades of `market`, newest first, ``GET /v1/trades/ticks`` (§3.3).

        Raises
        ------
        ValueError
            Unless 1 <= `count` <= 500.
        """
        if not 1 <= count <= TRADES_PER_CALL:
            raise ValueError(f"count must be between 1 and {TRADES_PER_CALL}, was {count}")
        payload = await self.rest.read("/v1/trades/ticks", {"market": market, "count": count}, signed=False)
        return read_answer(parse_trade_ticks, payload, "GET /v1/trades/ticks")

    async def instruments(self, markets: Sequence[str]) -> list[UpbitInstrument]:
        """Return tick size and grouping levels per market, ``GET /v1/orderbook/instruments`` (§3.6, §8.1)."""
        found: list[UpbitInstrument] = []
        for chunk in chunks(list(markets), MARKETS_PER_CALL):
            payload = await self.rest.read("/v1/orderbook/instruments", {"markets": ",".join(chunk)}, signed=False)
            found.extend(read_answer(parse_instruments, payload, "GET /v1/orderbook/instruments"))
        return found


def read_answer[T](parse: Callable[[Any], T], payload: Any, what: str) -> T:
    """Return `parse(payload)`; an unparseable answer to a read is a `TemporaryBrokerError` naming `what`."""
    try:
        return parse(payload)
    except UpbitParseError as e:
        raise TemporaryBrokerError(mask(f"Upbit {what}: unexpected answer: {e}")) from None


def chunks(items: list[str], size: int) -> list[list[str]]:
    """Return `items` in consecutive lists of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]
