"""Upbit's public market data, keyless: the Quotation REST API and the public WebSocket ``trade`` stream.

Source: ../reference/upbit-openapi.md §3 (candles, trades, ticker: no authentication), §5 (public WebSocket:
no token on the handshake, binary frames) through the Upbit adapter's wire layer (`UpbitExchangeClient`'s
quotation calls, `UpbitWebSocket.public`). Nothing here signs a request: the `UpbitConfig` it is built with
carries a placeholder key pair only because the wire layer's configuration requires one; no Exchange endpoint
is ever called, and no key is needed or read.

The trade stream delivers each trade once (by its ``sequential_id``, which Upbit documents as unique but not as an
order). After a reconnect the trades published during the gap are fetched from ``GET /v1/trades/ticks`` (the
newest 500 per market) and delivered first, oldest first: those at or after the last trade seen (or the stream's
start) and not seen yet; at the start, those after the paper journal's last record. A gap longer than 500 trades
loses the older ones (logged).

Production reaches https://api.upbit.com and wss://api.upbit.com/websocket/v1; tests point the same code at the
Upbit-compatible simulator's public endpoints (``UPBIT_REST_BASE_URL`` / ``UPBIT_WS_URL``).
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Final

import httpx
import structlog
from pydantic import SecretStr

from stock_manager.adapters.broker.upbit.client import UpbitExchangeClient
from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.models import UpbitTicker
from stock_manager.adapters.broker.upbit.reports import daily_bar, quote_of
from stock_manager.adapters.broker.upbit.websocket import Subscription, UpbitWebSocket
from stock_manager.adapters.broker.upbit.ws_messages import TradeEvent, UpbitEvent
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY
from stock_manager.domain.errors import TemporaryBrokerError
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.service_layer.ports.broker import Quote

log = structlog.get_logger(__name__)

#: Trade ids remembered to deliver each trade once (a reconnect's backfill overlaps the stream).
REMEMBERED_TRADES: Final = 20_000
#: Trades fetched per market after a reconnect (``GET /v1/trades/ticks`` maximum, §3.3).
BACKFILL_TRADES: Final = 500
#: The placeholder the wire layer's configuration is built with: never used to sign (module docstring).
_KEYLESS: Final = SecretStr("keyless-public-market-data-only")

type TradeHandler = Callable[[Tick], Awaitable[None]]
type TimeObserver = Callable[[datetime], None]


def public_config(rest_base_url: str, ws_public_url: str, **options: object) -> UpbitConfig:
    """Return the wire layer's configuration for public data only (placeholder keys, never used).

    Raises
    ------
    ConfigurationError
        For a URL the Upbit adapter refuses (plain http/ws to a host that is not loopback, no host).
    """
    return UpbitConfig(
        access_key=_KEYLESS,
        secret_key=_KEYLESS,
        rest_base_url=rest_base_url,
        ws_public_url=ws_public_url,
        ws_private_url=f"{ws_public_url.rstrip('/')}/private",
        **options,  # type: ignore[arg-type]
    )


class UpbitPublicMarketData:
    """Quotes, daily bars and the live trade stream of Upbit's KRW markets, with no API key.

    Parameters
    ----------
    config : UpbitConfig
        Hosts, rates and timing (`public_config`).
    markets : Sequence[str]
        The markets streamed (``["KRW-BTC"]``).
    observe_time : Callable[[datetime], None] | None
        Told every venue time seen (ticker snapshots, trades): a `VenueClock` follows the venue this way.
    on_frame_handled : Callable[[], None] | None
        Called after each WebSocket data message was handled (an in-process simulator's lockstep counts them).
    transport : httpx.AsyncBaseTransport | None
        HTTP transport for tests.
    """

    def __init__(
        self,
        config: UpbitConfig,
        markets: Sequence[str],
        *,
        observe_time: TimeObserver | None = None,
        on_frame_handled: Callable[[], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **ws_options: object,
    ) -> None:
        self._config = config
        self.markets = tuple(markets)
        self._observe = observe_time or (lambda _ts: None)
        self._on_frame_handled = on_frame_handled
        self._ws_options = ws_options
        self.client = UpbitExchangeClient.from_config(config, transport=transport)
        self.stream: UpbitWebSocket | None = None
        self._handler: TradeHandler | None = None
        self._seen: deque[int] = deque(maxlen=REMEMBERED_TRADES)
        self._seen_set: set[int] = set()
        self._last_traded: dict[str, datetime] = {}
        self._venue_now: datetime | None = None  # the latest venue time seen
        self._floor: datetime | None = None  # the venue time the stream started at
        self._delivering = asyncio.Lock()  # one trade at a time, a backfill's before the stream's
        self.backfilled = 0  # trades delivered from REST (start, reconnects)

    async def tickers(self) -> list[UpbitTicker]:
        """Return the ticker of every market (``GET /v1/ticker``), noting the venue's time.

        Raises
        ------
        TemporaryBrokerError
            If Upbit cannot be reached, or does not know a market.
        """
        tickers = await self.client.ticker(self.markets)
        if missing := sorted(set(self.markets) - {t.market for t in tickers}):
            raise TemporaryBrokerError(f"Upbit has no ticker for {', '.join(missing)}")
        for ticker in tickers:
            self._note_time(ticker.timestamp)
        return tickers

    async def quote(self, symbol: str) -> Quote:
        """Return `symbol`'s last trade price, the previous UTC day's close as base, no limits (``GET /v1/ticker``).

        Raises
        ------
        TemporaryBrokerError
            If Upbit cannot be reached or does not know the market.
        """
        tickers = await self.client.ticker([symbol])
        if not tickers:
            raise TemporaryBrokerError(f"Upbit has no ticker for {symbol}")
        self._note_time(tickers[0].timestamp)
        return quote_of(tickers[0])

    async def daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` day candles (UTC days) of `symbol` ending on or before `end`, oldest first
        (``GET /v1/candles/days``, paged by ``to``)."""
        if count <= 0:
            return []
        candles = await self.client.candles_days(symbol, to=UPBIT_DAY.start_of(end + timedelta(days=1)), count=count)
        return [daily_bar(candle) for candle in candles]

    async def stream_trades(self, handler: TradeHandler, *, since: datetime | None = None) -> None:
        """Deliver every live trade of the markets to `handler`, one at a time, in time order (WebSocket ``trade``,
        real-time only: a snapshot would repeat a trade already seen). Opened once; later calls replace the handler.

        With `since` (the paper journal's last record), the trades published after it that ``GET
        /v1/trades/ticks`` still lists (the newest 500 per market) are delivered first: what traded while no
        process was listening. They cannot have been matched before (a trade that filled anything is journaled).

        Raises
        ------
        TemporaryBrokerError
            If the WebSocket cannot be opened.
        """
        self._handler = handler
        if self.stream is not None:
            return
        self._floor = self._venue_now
        self.stream = UpbitWebSocket.public(
            self._config,
            [Subscription("trade", self.markets, is_only_realtime=True)],
            on_event=self._on_event,
            on_resumed=self._on_resumed,
            **self._ws_options,
        )
        async with self._delivering:  # the stream's first trades wait for the ones before them
            await self.stream.start()
            if since is not None:
                await self._backfill({m: since for m in self.markets}, strictly_after=True, why="start")

    async def close(self) -> None:
        """Close the WebSocket and the HTTP connections."""
        if self.stream is not None:
            await self.stream.close()
        await self.client.aclose()

    def _note_time(self, ts: datetime) -> None:
        self._venue_now = ts if self._venue_now is None else max(self._venue_now, ts)
        self._observe(ts)

    async def _on_event(self, event: UpbitEvent) -> None:
        try:
            if isinstance(event, TradeEvent):
                self._note_time(event.timestamp)
                tick = Tick(event.market, event.trade_price, event.trade_volume, event.traded_at)
                async with self._delivering:
                    await self._deliver(event.sequential_id, tick)
        finally:
            if self._on_frame_handled is not None:
                self._on_frame_handled()

    async def _deliver(self, sequential_id: int, tick: Tick) -> None:
        if sequential_id in self._seen_set:
            return
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(sequential_id)
        self._seen_set.add(sequential_id)
        self._note_time(tick.ts_event)
        last = self._last_traded.get(tick.symbol)
        self._last_traded[tick.symbol] = tick.ts_event if last is None else max(last, tick.ts_event)
        if self._handler is not None:
            await self._handler(tick)

    async def _on_resumed(self, gap_secs: float) -> None:
        # The trades published during the gap, from REST, before the stream's own (those at or after the last
        # one seen, or the stream's start, and not seen).
        since = {m: t for m in self.markets if (t := self._last_traded.get(m, self._floor)) is not None}
        async with self._delivering:
            await self._backfill(since, strictly_after=False, why=f"reconnect after {gap_secs:.1f} s")

    async def _backfill(self, since: dict[str, datetime], *, strictly_after: bool, why: str) -> None:
        for market, floor in since.items():
            try:
                recent = await self.client.trades(market, BACKFILL_TRADES)
            except TemporaryBrokerError as e:
                log.warning("upbit_paper_backfill_failed", market=market, why=why, error=str(e))
                continue
            missed = sorted(
                (
                    t
                    for t in recent
                    if t.sequential_id not in self._seen_set
                    and (t.traded_at > floor if strictly_after else t.traded_at >= floor)
                ),
                key=lambda t: (t.traded_at, t.sequential_id),
            )
            if len(recent) == BACKFILL_TRADES and min(t.traded_at for t in recent) > floor:
                log.warning("upbit_paper_trades_lost", market=market, why=why, since=floor.isoformat())
            for trade in missed:
                tick = Tick(market, trade.trade_price, trade.trade_volume, trade.traded_at)
                await self._deliver(trade.sequential_id, tick)
            self.backfilled += len(missed)
            log.info("upbit_paper_backfilled", market=market, trades=len(missed), why=why)
