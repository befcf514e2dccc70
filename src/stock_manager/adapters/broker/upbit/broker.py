"""`UpbitBroker`: the `Broker` port over Upbit's Open API (KRW spot), for paper and live trading of crypto.

Source: ../reference/upbit-openapi.md §3 (quotations), §4 (exchange endpoints), §5 (WebSocket), §6 (418 blocks)
and §9 (pitfalls), through the wire layer of this package (`UpbitExchangeClient`, `UpbitWebSocket`). Orders:
`placement`; value conversions: `reports`; streams: `streams`.

Upbit's trading date is the UTC date (`venues.upbit.rules.UPBIT_DAY`): an order's is the date it was created, a
fill's the date it traded. Orders live until filled or cancelled, so an order of an earlier day still working is
listed with every later day. Secrets: `UpbitAuth` registers the access and secret keys with the process-wide
masking when the client is built; no key or token ever reaches a message.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

import httpx
import structlog

from stock_manager.adapters.broker.upbit.client import UpbitExchangeClient
from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.models import UpbitOrder
from stock_manager.adapters.broker.upbit.placement import DEFAULT_MARKET_BUY_SLIPPAGE, OrderSender
from stock_manager.adapters.broker.upbit.ratelimit import BlockNotice
from stock_manager.adapters.broker.upbit.reports import (
    cash_of,
    daily_bar,
    order_report,
    positions_of,
    quote_of,
    trade_fill,
)
from stock_manager.adapters.broker.upbit.streams import FatalHandler, UpbitStreams
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY, upbit_cost_model
from stock_manager.domain.clock import Clock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    BrokerOrderReport,
    BrokerPosition,
    CashBalance,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)

log = structlog.get_logger(__name__)

type BlockAlert = Callable[[BlockNotice], Awaitable[None]]


def account_id_for(access_key: str) -> str:
    """Return the account id of an API key: ``UPBIT-`` and 8 hex of the key's SHA-256 (stable, reveals nothing)."""
    return f"UPBIT-{hashlib.sha256(access_key.encode()).hexdigest()[:8]}"


class UpbitBroker:
    """**Adapter:** the `Broker` port over Upbit for one API key (one account, its KRW markets).

    Parameters
    ----------
    config : UpbitConfig
        Keys, hosts, rates and timing.
    markets : Sequence[str]
        The KRW markets traded (``["KRW-BTC"]``): closed orders are read per market.
    clock : Clock | None
        Wall clock (418 block ends, `StreamResumed` times); the system clock when None.
    cost_model : CostModel | None
        The fee put on fills read by inquiry (Upbit's trades carry none): 0.05 % when None.
    instruments : Iterable[Instrument]
        Price grids of the markets (built with `upbit_instrument` when not given).
    market_buy_slippage : Decimal
        A MARKET BUY is a limit buy this far above the last price (`placement`).
    on_blocked : Callable[[BlockNotice], Awaitable[None]] | None
        The alert hook, awaited when Upbit answers 418 (the call then raises `UpbitBlocked`, a
        `FatalBrokerError`: stop trading).
    on_stream_fatal : Callable[[FatalBrokerError], Awaitable[None]] | None
        Awaited when a WebSocket session is refused for good (``INVALID_AUTH``).
    on_frame_handled : Callable[[], None] | None
        Called after each WebSocket data message was handled (an in-process simulator counts them).
    account_id : str | None
        The account's id in our records; `account_id_for` the access key when None.
    transport, sleep, ws_options
        HTTP transport and async sleep for tests; extra `UpbitWebSocket` options.
    """

    def __init__(
        self,
        config: UpbitConfig,
        *,
        markets: Sequence[str] = ("KRW-BTC",),
        clock: Clock | None = None,
        cost_model: CostModel | None = None,
        instruments: Iterable[Instrument] = (),
        market_buy_slippage: Decimal = DEFAULT_MARKET_BUY_SLIPPAGE,
        on_blocked: BlockAlert | None = None,
        on_stream_fatal: FatalHandler | None = None,
        on_frame_handled: Callable[[], None] | None = None,
        account_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **ws_options: object,
    ) -> None:
        self.config = config
        self.account_id = account_id or account_id_for(config.access_key.get_secret_value())
        self._markets = tuple(markets)
        self._clock = clock or SystemClock()
        self._costs = cost_model or upbit_cost_model()
        self.client = UpbitExchangeClient.from_config(
            config, transport=transport, clock=self._clock, sleep=sleep, on_blocked=on_blocked
        )
        self.sender = OrderSender(self.client, {i.symbol: i for i in instruments}, market_buy_slippage)
        self.streams = UpbitStreams(
            config,
            account_id=self.account_id,
            clock=self._clock,
            cost_model=self._costs,
            on_frame_handled=on_frame_handled,
            on_fatal=on_stream_fatal,
            **ws_options,
        )

    # -- SESSION AND ACCOUNT --------------------------------------------------------------------------------

    async def login(self) -> None:
        """Check the keys with ``GET /v1/accounts`` (the WebSocket token is minted per handshake).

        Raises
        ------
        FatalBrokerError
            If Upbit refuses the keys, the IP or the permission.
        TemporaryBrokerError
            If Upbit cannot be reached.
        """
        await self.client.accounts()
        log.info("upbit_login_ok", account=self.account_id)

    async def get_accounts(self) -> list[AccountRef]:
        """Return the key's one account."""
        return [AccountRef(account_id=self.account_id, name="Upbit")]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return KRW: deposit = ``balance + locked``, orderable = ``balance`` (``GET /v1/accounts``)."""
        self._require_account(account_id)
        return cash_of(account_id, await self.client.accounts())

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return every coin held (``balance + locked``) as ``KRW-<coin>`` at Upbit's average buy price."""
        self._require_account(account_id)
        return positions_of(await self.client.accounts())

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return the orders created on `trading_date` (UTC) and every order of an earlier day still working,
        oldest first: ``GET /v1/orders/open`` and ``GET /v1/orders/closed`` over the day's window per market.

        A market buy by amount that ended ``cancel`` after buying is FILLED; other cancelled orders are CANCELED
        with what they filled.
        """
        self._require_account(account_id)
        orders = await self._orders_of(trading_date)
        return [order_report(account_id, order) for order in orders]

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return every trade of the orders created on `trading_date`, each once by its trade uuid, whatever day it
        traded (``GET /v1/order`` per order with executions). A working order of an earlier day reports its
        trades under its own day, so no trade is listed twice across days.
        """
        self._require_account(account_id)
        fills: dict[str, Fill] = {}
        for summary in await self._orders_of(trading_date):
            if summary.executed_volume <= 0 or UPBIT_DAY.date_of(summary.created_at) != trading_date:
                continue
            order = await self.client.get_order(uuid=summary.uuid)
            if order is None:
                raise TemporaryBrokerError(f"Upbit listed order {summary.uuid} but does not find it")
            for trade in order.trades:
                fills.setdefault(trade.uuid, trade_fill(order, trade, self._costs))
        return sorted(fills.values(), key=lambda f: (f.ts_filled, f.broker_fill_id))

    # -- MARKET DATA ----------------------------------------------------------------------------------------

    async def get_price(self, symbol: str) -> Quote:
        """Return the last trade price, the previous UTC day's close as the base price, and no limits
        (``GET /v1/ticker``).

        Raises
        ------
        TemporaryBrokerError
            If Upbit does not know the market (or cannot be reached).
        """
        tickers = await self.client.ticker([symbol])
        if not tickers:
            raise TemporaryBrokerError(f"Upbit has no ticker for {symbol}")
        return quote_of(tickers[0])

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` day candles (UTC days) of `symbol` ending on or before `end`, oldest first
        (``GET /v1/candles/days``; a day in progress is a partial candle)."""
        if count <= 0:
            return []
        candles = await self.client.candles_days(symbol, to=UPBIT_DAY.start_of(end + timedelta(days=1)), count=count)
        return [daily_bar(candle) for candle in candles]

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the trades of `symbols` (WebSocket ``trade``) to `handler`, one at a time.

        Raises
        ------
        TemporaryBrokerError, FatalBrokerError
            If the WebSocket cannot be opened.
        """
        await self.streams.subscribe_quotes(symbols, handler)

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver fills (``myOrder`` ``trade``: the trade uuid as the fill id, ``trade_fee`` as its fee), cancels
        and `StreamResumed` after every reconnect to `handler`.

        Raises
        ------
        TemporaryBrokerError, FatalBrokerError
            If the private WebSocket cannot be opened.
        """
        await self.streams.subscribe_order_events(handler)

    # -- ORDERS ---------------------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order with ``identifier`` = `request.client_order_id`; an ambiguous outcome is resolved by that
        identifier (adopted if found; re-sent once as ``<id>-r1`` only after a definite 404; see `placement`).

        Raises
        ------
        OrderRejectedByBroker
            Upbit refused it (``code`` = its error name) or it cannot be expressed (``CLIENT``).
        AmbiguousOrderOutcome
            The outcome stayed unknown: inquire, never re-send.
        TemporaryBrokerError
            Nothing was created (no connection, 429, nonce reused).
        FatalBrokerError
            A wrong account, refused keys, or a 418 block (the alert hook was called).
        """
        self._require_account(request.account_id)
        return await self.sender.place(request)

    async def place_amount_buy(
        self, account_id: str, symbol: str, amount_krw: Decimal, client_order_id: str | None = None
    ) -> OrderAck:
        """Place a market buy spending `amount_krw` KRW plus the fee (``ord_type=price``); it ends ``cancel``
        once spent, with the dust that cannot buy 1e-8 refunded (reported FILLED). Raises as `place_order`."""
        self._require_account(account_id)
        return await self.sender.place_amount_buy(symbol, amount_krw, client_order_id)

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str = "") -> None:
        """Ask Upbit to cancel the order with uuid `broker_order_number` (``DELETE /v1/order``); the confirmation
        arrives as a `CancelReport` on the order-event stream (the cancel is asynchronous, §9 pitfall 2).

        Raises
        ------
        OrderRejectedByBroker
            Upbit refused (``order_not_found``: unknown, or already finished).
        AmbiguousOrderOutcome, TemporaryBrokerError, FatalBrokerError
            As `place_order`.
        """
        self._require_account(account_id)
        snapshot = await self.client.cancel_order(uuid=broker_order_number)
        log.info("upbit_cancel_accepted", order=snapshot.uuid, state=snapshot.state)

    async def close(self) -> None:
        """Close the WebSocket sessions and the HTTP connections."""
        await self.streams.close()
        await self.client.aclose()

    # -- INTERNALS ------------------------------------------------------------------------------------------

    def _require_account(self, account_id: str) -> None:
        if account_id != self.account_id:
            raise FatalBrokerError(f"account {account_id} is not this Upbit key's account {self.account_id}")

    async def _orders_of(self, day: date) -> list[UpbitOrder]:
        # The day's orders (open or closed, created in its UTC window) and the older ones still working.
        start, end = UPBIT_DAY.start_of(day), UPBIT_DAY.start_of(day + timedelta(days=1))
        found = {o.uuid: o for o in await self.client.open_orders() if o.created_at < end}
        markets = sorted({*self._markets, *(o.market for o in found.values())})
        for market in markets:
            for order in await self.client.closed_orders(market, start, end):
                if start <= order.created_at < end:
                    found.setdefault(order.uuid, order)
        return sorted(found.values(), key=lambda o: (o.created_at, o.uuid))
