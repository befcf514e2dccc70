"""`UpbitPaperBroker`: the `Broker` port for ``--venue upbit --mode paper``.

Upbit has no paper account. This broker trades a local paper account (`PaperAccount`: the venue-neutral matching
engine with Upbit's instruments, GTC orders and 0.05 % fee, journaled) against Upbit's live public market data
(`UpbitPublicMarketData`, keyless): each public trade is offered to the paper orders first (a LIMIT buy fills on a
trade at or below its price, a LIMIT sell at or above, a MARKET order on the next trade, each at the trade's
price and for at most the participation rate of its volume), then to the daemon as a quote. Quotes and daily bars
are Upbit's own. Orders, cancels, inquiries, fills and balances are the paper account's.

Times: the paper account stamps orders and cancels with the injected clock (the wall clock against Upbit, or a
`VenueClock` against a replaying simulator) and fills with their trade's time; the trading date is the UTC day.
A cancel is confirmed on the order-event stream before the next trade is matched (Upbit confirms asynchronously).
While the daemon is down nothing matches the paper orders; when it starts again, the trades published after the
journal's last record that Upbit still lists (the newest 500 per market) are matched first, then the live ones;
the fills of that catch-up are left to the daemon's recovery (read by inquiry), not announced.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import structlog

from stock_manager.adapters.broker.upbit_paper.account import PaperAccount
from stock_manager.adapters.broker.upbit_paper.market_data import UpbitPublicMarketData
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    BrokerOrderEvent,
    BrokerOrderReport,
    BrokerPosition,
    CashBalance,
    FillReport,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)

log = structlog.get_logger(__name__)


class UpbitPaperBroker:
    """**Adapter:** the `Broker` port over a journaled paper account and Upbit's public market data.

    Parameters
    ----------
    account : PaperAccount
        The paper account (its journal is held until `close`).
    market : UpbitPublicMarketData
        Upbit's public data for the account's markets.
    clock : Clock
        When orders and cancels happen (wall clock, or a `VenueClock` following a replaying venue).
    on_trade_handled : Callable[[], None] | None
        Called after each public trade was matched and delivered (tests wait on it).
    """

    def __init__(
        self,
        account: PaperAccount,
        market: UpbitPublicMarketData,
        clock: Clock,
        *,
        on_trade_handled: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.market = market
        self._clock = clock
        self._on_trade_handled = on_trade_handled
        self.account_id = account.account_id
        self._references: dict[str, Decimal] = {}
        self._quote_handlers: list[tuple[frozenset[str], TickHandler]] = []
        self._order_handlers: list[OrderEventHandler] = []
        self._held: list[BrokerOrderEvent] = []
        self._catching_up = False
        self._closed = False

    # -- SESSION AND ACCOUNT --------------------------------------------------------------------------

    async def login(self) -> None:
        """Read every market's ticker (Upbit reachable, the markets known, the venue's time noted); no key is used.

        Raises
        ------
        TemporaryBrokerError
            If Upbit cannot be reached or does not know a market.
        FatalBrokerError
            If the paper account is closed.
        """
        self.account.require_usable()
        for ticker in await self.market.tickers():
            self._references[ticker.market] = ticker.trade_price
        log.info("upbit_paper_login_ok", account=self.account_id, markets=list(self.market.markets))

    async def get_accounts(self) -> list[AccountRef]:
        """Return the one paper account, ``UPBIT-PAPER-<8 hex>``."""
        return [AccountRef(account_id=self.account_id, name="Upbit paper (local matching)")]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return the paper deposit and the cash orderable after working buys' reservations, KRW."""
        self._require_account(account_id)
        return self.account.cash()

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return the paper holdings with non-zero quantity."""
        self._require_account(account_id)
        return self.account.positions()

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return the paper orders of the UTC day `trading_date` and the older ones still working."""
        self._require_account(account_id)
        return self.account.orders(trading_date)

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return the paper fills dated `trading_date` (the UTC day they traded), in execution order."""
        self._require_account(account_id)
        return self.account.fills(trading_date)

    # -- MARKET DATA (Upbit's own) --------------------------------------------------------------------

    async def get_price(self, symbol: str) -> Quote:
        """Return Upbit's ticker of `symbol` as a quote (``GET /v1/ticker``; no limits).

        Raises
        ------
        TemporaryBrokerError
            If Upbit cannot be reached or does not know the market.
        """
        quote = await self.market.quote(symbol)
        self._references[symbol] = quote.price
        return quote

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` of Upbit's day candles of `symbol` ending on or before `end`, oldest first."""
        return await self.market.daily_bars(symbol, end, count)

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver Upbit's live trades of `symbols` to `handler`, after the paper orders were matched on them.

        Raises
        ------
        ConfigurationError
            If a symbol is not one of the paper account's markets.
        TemporaryBrokerError
            If the public WebSocket cannot be opened.
        """
        if unknown := sorted(set(symbols) - set(self.market.markets)):
            raise ConfigurationError(f"{', '.join(unknown)} is not a market of this paper account")
        self._quote_handlers.append((frozenset(symbols), handler))
        await self._open_stream()

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver the paper fills and cancel confirmations to `handler` (the trade stream opens with it)."""
        self._order_handlers.append(handler)
        await self._open_stream()

    # -- ORDERS ---------------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place a paper order now; journaled (fsync) before the acknowledgement returns. An identifier is
        single-use, even when its order was refused (as on Upbit).

        Raises
        ------
        OrderRejectedByBroker
            On the KRW market's rules (price unit, 5,000 KRW minimum, cash, holdings, a used identifier).
        FatalBrokerError
            On a wrong account, or when the journal cannot be written.
        """
        self._require_account(request.account_id)
        return self.account.place(request, self._clock.now(), self._references)

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str = "") -> None:
        """Cancel a paper order's remainder now (journaled); the confirmation arrives on the order-event stream
        before the next trade is matched.

        Raises
        ------
        OrderRejectedByBroker
            If the order is unknown or finished.
        FatalBrokerError
            On a wrong account, or when the journal cannot be written.
        """
        self._require_account(account_id)
        self._held.append(self.account.cancel(broker_order_number, self._clock.now()))

    async def close(self) -> None:
        """Close the market data connections and release the paper account's journal (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.market.close()
        finally:
            self.account.close()

    # -- INTERNALS ------------------------------------------------------------------------------------

    async def _open_stream(self) -> None:
        # The first subscription opens the trade stream, after catching up with the trades published since the
        # journal's last record. Fills of that catch-up are not announced: the daemon has not reconciled yet (an
        # order it placed just before it died is not known to it by number), and its recovery at the open reads
        # them by inquiry with their orders, as fills a venue executed while the daemon was down.
        if self.market.stream is not None:
            return
        self._catching_up = True
        try:
            await self.market.stream_trades(self._on_trade, since=self.account.last_ts)
        finally:
            self._catching_up = False

    def _require_account(self, account_id: str) -> None:
        self.account.require_usable()
        if account_id != self.account_id:
            raise FatalBrokerError(f"account {account_id} is not the paper account {self.account_id}")

    async def _on_trade(self, tick: Tick) -> None:
        try:
            await self._deliver_held()
            if self._closed or tick.symbol not in self.market.markets:
                return
            fills = self.account.on_trade(tick, self._references)
            self._references[tick.symbol] = tick.price
            if fills and self._catching_up:
                log.info("upbit_paper_caught_up_fills", fills=[f.broker_fill_id for f in fills])
                fills = []  # read by the daemon's recovery (`_open_stream`)
            for fill in fills:
                await self._emit(FillReport(self.account_id, fill))
            for symbols, handler in list(self._quote_handlers):
                if tick.symbol in symbols:
                    await handler(tick)
        finally:
            if self._on_trade_handled is not None:
                self._on_trade_handled()

    async def _deliver_held(self) -> None:
        while self._held:
            await self._emit(self._held.pop(0))

    async def _emit(self, event: BrokerOrderEvent) -> None:
        for handler in list(self._order_handlers):
            try:
                await handler(event)
            except Exception as e:  # one handler's failure must not keep the event from the others
                log.error(
                    "upbit_paper_event_handler_failed",
                    event_type=type(event).__name__,
                    error=mask(f"{type(e).__name__}: {e}"),
                )
