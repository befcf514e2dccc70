"""`KisBroker`: the `Broker` port over the KIS Open API (REST + WebSocket), for paper and live trading.

Source: ../reference/kis-openapi.md §4 (endpoints and TR ids: order-cash TTTC0012U/TTTC0011U, order-rvsecncl
TTTC0013U, inquire-balance TTTC8434R, inquire-daily-ccld TTTC0081R, inquire-price FHKST01010100,
inquire-daily-itemchartprice FHKST03010100; paper forms with a V prefix), §5 (WebSocket), spec 001 §12 and
PRD §3.1 (the port's methods). Error translation: `errors.py`; token rules: `auth.py`; limiter: `ratelimit.py`;
request bodies and queries: `requests.py`; answers: `parsers.py`.
"""

import asyncio
from collections.abc import Callable
from datetime import date, timedelta

import httpx
import structlog

from stock_manager.adapters.broker.kis.auth import LOGIN_TOKEN_VALIDITY, Sleep, TokenManager
from stock_manager.adapters.broker.kis.config import KisConfig
from stock_manager.adapters.broker.kis.dispatch import FrameDispatcher
from stock_manager.adapters.broker.kis.masking import Masker, mask_account
from stock_manager.adapters.broker.kis.parsers import (
    Row,
    aggregate_fills,
    lower_keys,
    parse_cash,
    parse_daily_bars,
    parse_order_ack,
    parse_order_reports,
    parse_positions,
    parse_quote,
    rows,
)
from stock_manager.adapters.broker.kis.ratelimit import PriorityRateLimiter
from stock_manager.adapters.broker.kis.requests import (
    BALANCE_PATH,
    CHART_WINDOW_DAYS,
    DAILY_CCLD_PATH,
    DAILY_CHART_PATH,
    ORDER_CASH_PATH,
    ORDER_RVSECNCL_PATH,
    PRICE_PATH,
    balance_params,
    cancel_body,
    chart_params,
    daily_ccld_params,
    order_body,
    tls_context,
)
from stock_manager.adapters.broker.kis.rest import KisRestClient
from stock_manager.adapters.broker.kis.websocket import KisWebSocketSession, SessionTuning
from stock_manager.adapters.broker.kis.ws_frames import TRADE_TR_ID
from stock_manager.domain.clock import Clock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import AmbiguousOrderOutcome, FatalBrokerError, TemporaryBrokerError
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import Side
from stock_manager.localtime import kst_date
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


class KisBroker:
    """**Adapter:** the `Broker` port over KIS Open API for one account and app key (not a `SessionSchedule`).

    Parameters
    ----------
    config : KisConfig
        Mode, credentials, account, HTS id, hosts and limits.
    clock : Clock
        Wall clock: token expiry, the one-token-per-minute rule, WebSocket gap lengths.
    cost_model : CostModel
        Commission and tax put on fills (KIS reports none per fill).
    market_clock : Clock | None
        Market time: the session date of WebSocket times (HHMMSS only) and of order acks; the wall clock
        when None (paper and live). In ``--mode sim`` the replay clock.
    transport : httpx.AsyncBaseTransport | None
        HTTP transport for tests (httpx.MockTransport); the default opens real TLS connections.
    sleep : Callable[[float], Awaitable[None]]
        Async sleep (back-offs, pacing, token waits), injectable for tests.
    on_frame_handled : Callable[[], None] | None
        Called after each WebSocket data frame was fully handled (an in-process simulator counts them).
    """

    def __init__(
        self,
        config: KisConfig,
        *,
        clock: Clock,
        cost_model: CostModel,
        market_clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        on_frame_handled: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._market_clock = market_clock or clock
        self._cost_model = cost_model
        self._masker = Masker(
            [config.app_key.get_secret_value(), config.app_secret.get_secret_value()], account=config.account
        )
        timeout = httpx.Timeout(config.request_timeout_secs)
        self._http = httpx.AsyncClient(
            base_url=config.rest_url, transport=transport, timeout=timeout, verify=tls_context(), trust_env=False
        )
        self._limiter = PriorityRateLimiter(config.rate_per_sec)
        self.tokens = TokenManager(
            config=config, http=self._http, clock=clock, sleep=sleep, limiter=self._limiter, masker=self._masker
        )
        self.rest = KisRestClient(
            config=config, http=self._http, tokens=self.tokens, limiter=self._limiter, sleep=sleep, masker=self._masker
        )
        self._ws: KisWebSocketSession
        self._dispatch = FrameDispatcher(
            account_id=config.account,
            cost_model=cost_model,
            market_clock=self._market_clock,
            wall_clock=clock,
            cipher_keys=lambda tr_id: self._ws.cipher_keys(tr_id),
            masker=self._masker,
        )
        self._ws = KisWebSocketSession(
            url=config.websocket_url,
            approval_key=lambda renew: self.tokens.approval_key(renew=renew),
            on_data=self._dispatch.handle,
            on_resumed=self._dispatch.resumed,
            clock=clock,
            sleep=sleep,
            masker=self._masker,
            max_registrations=config.max_registrations,
            tuning=SessionTuning(
                pacing_secs=config.pacing_secs,
                reconnect_initial_secs=config.reconnect_initial_secs,
                reconnect_max_secs=config.reconnect_max_secs,
            ),
            on_frame_handled=on_frame_handled,
        )

    # -- DIAGNOSTICS ----------------------------------------------------------------------------------

    @property
    def websocket(self) -> KisWebSocketSession:
        """Return the WebSocket session (connection count, registrations) for diagnostics and tests."""
        return self._ws

    @property
    def duplicates_dropped(self) -> int:
        """Return how many exact duplicate notices were dropped."""
        return self._dispatch.duplicates_dropped

    # -- SESSION AND ACCOUNT ---------------------------------------------------------------------------

    async def login(self) -> None:
        """Obtain the access token (the cached one if it lasts `LOGIN_TOKEN_VALIDITY` more, else a new one: the
        daemon logs in before each trading day, so no token expires during one) and the WebSocket approval key.

        Raises
        ------
        FatalBrokerError
            If KIS refuses the credentials.
        TemporaryBrokerError
            If KIS cannot be reached.
        """
        await self.issue_access_token(LOGIN_TOKEN_VALIDITY)
        await self.issue_approval_key()

    async def issue_access_token(self, valid_for: timedelta = timedelta(0)) -> None:
        """Reuse the cached access token (valid `valid_for` more) or issue one (``/oauth2/tokenP``, `TokenManager`)."""
        await self.tokens.access_token(valid_for)

    async def issue_approval_key(self) -> None:
        """Issue the WebSocket approval key (``/oauth2/Approval``)."""
        await self.tokens.approval_key()

    async def get_accounts(self) -> list[AccountRef]:
        """Return the one configured account (KIS has no account-list call for an app key)."""
        name = f"KIS {self.config.mode} {mask_account(self.config.account)}"
        return [AccountRef(account_id=self.config.account, name=name)]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return deposit (``dnca_tot_amt``) and orderable cash (``nxdy_excc_amt``), KRW (TTTC8434R, page 1).

        Raises
        ------
        FatalBrokerError
            For another account than the configured one; and as any read (see `KisRestClient.read`).
        """
        self._require_account(account_id)
        answer = await self.rest.read(
            BALANCE_PATH,
            self.config.tr("TTTC8434R"),
            {**balance_params(self.config), "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""},
        )
        return self._parsed(lambda: parse_cash(answer.body, account_id), "inquire-balance")

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return holdings with ``hldg_qty`` > 0 over every page of TTTC8434R (50 rows real, 20 paper)."""
        self._require_account(account_id)
        pages = await self.rest.read_pages(BALANCE_PATH, self.config.tr("TTTC8434R"), balance_params(self.config))
        return self._parsed(lambda: [p for page in pages for p in parse_positions(page.body)], "inquire-balance")

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return every order of `trading_date` (TTTC0081R, every page), by acceptance time.

        State: FILLED when ``tot_ccld_qty`` reaches ``ord_qty``; REJECTED when ``rjct_qty`` > 0 with nothing
        filled; CANCELED when cancelled (``cncl_yn``, ``cncl_cfrm_qty``, a confirmed cancel row) or nothing
        remains (``rmn_qty`` 0); else OPEN.
        """
        self._require_account(account_id)
        order_rows = await self._daily_rows(trading_date)
        return self._parsed(lambda: parse_order_reports(order_rows, account_id), "inquire-daily-ccld")

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return one aggregate fill per order of `trading_date` with executions (TTTC0081R totals): the exact
        amount ``tot_ccld_amt`` for ``tot_ccld_qty`` shares, fees from the cost model (`parsers.aggregate_fills`)."""
        self._require_account(account_id)
        order_rows = await self._daily_rows(trading_date)

        def parse() -> list[Fill]:
            return aggregate_fills(parse_order_reports(order_rows, account_id), order_rows, self._cost_model)

        return self._parsed(parse, "inquire-daily-ccld")

    # -- MARKET DATA ------------------------------------------------------------------------------------

    async def get_price(self, symbol: str) -> Quote:
        """Return the current price, base price and the day's limits of `symbol` (FHKST01010100).

        The quote's time is the market clock's now (the answer carries no time).
        """
        answer = await self.rest.read(
            PRICE_PATH, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}
        )
        return self._parsed(lambda: parse_quote(answer.body, symbol, self._market_clock.now()), "inquire-price")

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` daily bars of `symbol` on or before `end`, oldest first (FHKST03010100, adjusted).

        KIS answers at most 100 rows per call without paging headers, so windows of `CHART_WINDOW_DAYS` calendar
        days (fewer for a few bars: twice `count` and two weeks) are asked backwards from `end` until `count` bars
        are in hand or a window comes back empty.
        """
        if count <= 0:
            return []
        bars: dict[date, DailyBar] = {}
        window_end = end
        window_days = min(CHART_WINDOW_DAYS, 2 * count + 14)
        for _ in range(count // 50 + 3):
            window_start = window_end - timedelta(days=window_days)
            answer = await self.rest.read(
                DAILY_CHART_PATH, "FHKST03010100", chart_params(symbol, window_start, window_end)
            )
            body = answer.body
            page = self._parsed(lambda: parse_daily_bars(body, symbol), "inquire-daily-itemchartprice")  # noqa: B023
            page = [bar for bar in page if bar.trading_date <= end]
            if not page:
                break
            for bar in page:
                bars[bar.trading_date] = bar
            if len(bars) >= count:
                break
            window_end = min(bar.trading_date for bar in page) - timedelta(days=1)
        return [bars[day] for day in sorted(bars)][-count:]

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the trade prints of `symbols` (H0STCNT0) to `handler`, one at a time.

        Raises
        ------
        ConfigurationError
            If the session's 41 registrations would be exceeded.
        TemporaryBrokerError
            If the WebSocket cannot be opened.
        """
        self._dispatch.add_quote_handler(symbols, handler)
        try:
            await self._ws.subscribe([(TRADE_TR_ID, symbol) for symbol in symbols])
        except Exception:
            self._dispatch.remove_quote_handler(symbols, handler)
            raise

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver fill, cancel and reject notices (H0STCNI0 real / H0STCNI9 paper, tr_key = HTS id) and
        `StreamResumed` after every reconnect to `handler`.

        Raises
        ------
        ConfigurationError, TemporaryBrokerError
            As `subscribe_quotes`.
        """
        self._dispatch.add_order_handler(handler)
        self._ws.resume_tr_id = self.config.notice_tr_id
        await self._ws.subscribe([(self.config.notice_tr_id, self.config.hts_id)])

    # -- ORDERS -----------------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Send a cash order (TTTC0012U buy / TTTC0011U sell; VTTC… on paper), once.

        The body is `requests.order_body`'s (a limit price rounded to the tick grid, routed to KRX).

        Raises
        ------
        OrderRejectedByBroker
            KIS refused it (code = ``msg_cd``, message = ``msg1``), or the request is not a valid order
            (code ``CLIENT``; nothing sent).
        AmbiguousOrderOutcome
            Timeout, broken connection or 5xx after sending, or an unreadable acceptance: inquire.
        TemporaryBrokerError
            Certainly not sent or not processed (no connection, EGW00201, no token).
        FatalBrokerError
            Wrong account, credentials, permissions or mode.
        """
        self._require_account(request.account_id)
        body = order_body(self.config, request)
        tr_id = self.config.tr("TTTC0012U" if request.side is Side.BUY else "TTTC0011U")
        trading_date = kst_date(self._market_clock.now())
        log.info(
            "kis_order_sending",
            tr_id=tr_id,
            symbol=request.symbol,
            side=str(request.side),
            order_type=body["ORD_DVSN"],
            quantity=body["ORD_QTY"],
            price=body["ORD_UNPR"],
        )
        answer = await self.rest.order(ORDER_CASH_PATH, tr_id, body)
        try:
            ack = parse_order_ack(answer, trading_date)
        except ValueError as e:
            raise AmbiguousOrderOutcome(
                f"KIS accepted the order but its answer cannot be read ({e}); inquire before doing anything else"
            ) from None
        log.info("kis_order_accepted", order=ack.broker_order_number, branch=ack.venue_order_ref)
        return ack

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        """Cancel the whole remainder of an order (TTTC0013U, ``RVSE_CNCL_DVSN_CD 02``, ``QTY_ALL_ORD_YN Y``);
        `venue_order_ref` is the order's branch (``KRX_FWDG_ORD_ORGNO`` of its acknowledgement).

        Raises
        ------
        OrderRejectedByBroker
            KIS refused the cancel (e.g. nothing left to cancel).
        AmbiguousOrderOutcome, TemporaryBrokerError, FatalBrokerError
            As `place_order`.
        """
        self._require_account(account_id)
        body = cancel_body(self.config, broker_order_number, venue_order_ref)
        tr_id = self.config.tr("TTTC0013U")
        log.info("kis_cancel_sending", tr_id=tr_id, order=broker_order_number)
        await self.rest.order(ORDER_RVSECNCL_PATH, tr_id, body)

    async def close(self) -> None:
        """Close the WebSocket session and the HTTP connections; the cached token stays on disk."""
        await self._ws.close()
        await self._http.aclose()

    # -- INTERNALS --------------------------------------------------------------------------------------

    def _require_account(self, account_id: str) -> None:
        if account_id != self.config.account:
            raise FatalBrokerError(
                f"account {mask_account(account_id)} is not the configured KIS account "
                f"{mask_account(self.config.account)}"
            )

    async def _daily_rows(self, trading_date: date) -> list[Row]:
        params = daily_ccld_params(self.config, trading_date)
        pages = await self.rest.read_pages(DAILY_CCLD_PATH, self.config.tr("TTTC0081R"), params)
        return self._parsed(
            lambda: [row for page in pages for row in rows(lower_keys(page.body).get("output1"))], "inquire-daily-ccld"
        )

    def _parsed[T](self, parse: Callable[[], T], what: str) -> T:
        try:
            return parse()
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            raise TemporaryBrokerError(f"KIS {what}: the answer cannot be read: {self._masker(e)}") from None
