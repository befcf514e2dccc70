"""Turns KIS WebSocket data frames into port events and hands them to the subscribed handlers, one at a time.

H0STCNT0 records become `Tick`s for the quote handlers of their symbol; H0STCNI0/H0STCNI9 notices are
decrypted with the key/iv of the channel's last ack, mapped by `ws_frames.notice_event` and delivered to the
order-event handlers. An exact duplicate notice (same decrypted payload) seen again within a few seconds on
the same connection is dropped and logged (issue 3 decision; a genuinely identical second fill is recovered
from REST totals by the service layer). After a reconnect, `StreamResumed` goes to the order-event handlers.
"""

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.ws_frames import (
    NOTICE_TR_IDS,
    TRADE_TR_ID,
    DataFrame,
    decrypt,
    notice_event,
    parse_notices,
    parse_trades,
)
from stock_manager.domain.clock import Clock
from stock_manager.domain.costs import CostModel
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import OrderEventHandler, StreamResumed, TickHandler

log = structlog.get_logger(__name__)

type KeySource = Callable[[str], tuple[str, str] | None]


class FrameDispatcher:
    """Routes data frames of one session to the port's handlers.

    Parameters
    ----------
    account_id : str
        The configured account (``CANO-ACNT_PRDT_CD``); notices of other accounts of the HTS id are ignored.
    cost_model : CostModel
        Commission and tax of notice fills (KIS notices carry no fees).
    market_clock : Clock
        Gives the session date of trade and notice times (they carry only HHMMSS, KST).
    wall_clock : Clock
        Times the duplicate window.
    cipher_keys : Callable[[str], tuple[str, str] | None]
        (key, iv) of a TR's last ack.
    masker : Masker
        Masks secrets in log lines.
    duplicate_window_secs : float
        How long a decrypted notice is remembered to drop an exact duplicate.
    """

    def __init__(
        self,
        *,
        account_id: str,
        cost_model: CostModel,
        market_clock: Clock,
        wall_clock: Clock,
        cipher_keys: KeySource,
        masker: Masker,
        duplicate_window_secs: float = 5.0,
    ) -> None:
        self._account_id = account_id
        self._account_digits = account_id.replace("-", "")
        self._cost_model = cost_model
        self._market_clock = market_clock
        self._wall_clock = wall_clock
        self._cipher_keys = cipher_keys
        self._masker = masker
        self._window = timedelta(seconds=duplicate_window_secs)
        self._recent: OrderedDict[tuple[int, str], datetime] = OrderedDict()
        self._quote_handlers: dict[str, list[TickHandler]] = {}
        self._order_handlers: list[OrderEventHandler] = []
        self.duplicates_dropped = 0

    def add_quote_handler(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the trades of `symbols` to `handler`."""
        for symbol in dict.fromkeys(symbols):
            self._quote_handlers.setdefault(symbol, []).append(handler)

    def remove_quote_handler(self, symbols: list[str], handler: TickHandler) -> None:
        """Stop delivering `symbols` to `handler` (used when a subscription fails)."""
        for symbol in symbols:
            handlers = self._quote_handlers.get(symbol, [])
            if handler in handlers:
                handlers.remove(handler)

    def add_order_handler(self, handler: OrderEventHandler) -> None:
        """Deliver fill, cancel, reject and resume events to `handler`."""
        self._order_handlers.append(handler)

    async def handle(self, frame: DataFrame, connection: int) -> None:
        """Deliver the events of `frame`; raises `ValueError` on a malformed frame (nothing delivered then)."""
        if frame.tr_id == TRADE_TR_ID:
            ticks = parse_trades(frame, kst_date(self._market_clock.now()))
            for tick in ticks:
                for handler in self._quote_handlers.get(tick.symbol, ()):
                    await handler(tick)
        elif frame.tr_id in NOTICE_TR_IDS:
            await self._notice(frame, connection)
        else:
            log.debug("kis_ws_frame_ignored", tr_id=frame.tr_id)

    async def resumed(self, gap_secs: float) -> None:
        """Tell the order-event handlers that the stream came back after `gap_secs` seconds."""
        event = StreamResumed(account_id=self._account_id, ts_event=self._market_clock.now(), gap_secs=gap_secs)
        for handler in self._order_handlers:
            await handler(event)

    async def _notice(self, frame: DataFrame, connection: int) -> None:
        plaintext = frame.payload
        if frame.encrypted:
            keys = self._cipher_keys(frame.tr_id)
            if keys is None:
                raise ValueError(f"encrypted {frame.tr_id} notice before any ack gave its key")
            plaintext = decrypt(frame.payload, *keys)
        if self._is_duplicate(connection, plaintext):
            self.duplicates_dropped += 1
            log.warning("kis_notice_duplicate_dropped", tr_id=frame.tr_id, connection=connection)
            return
        session_date = kst_date(self._market_clock.now())
        for notice in parse_notices(plaintext, frame.count):
            if notice.account and notice.account.replace("-", "") != self._account_digits:
                log.info("kis_notice_other_account", account=self._masker(notice.account))
                continue
            event = notice_event(
                notice, account_id=self._account_id, session_date=session_date, cost_model=self._cost_model
            )
            if event is None:
                log.debug("kis_notice_acknowledgement", order=notice.order_number, acceptance=notice.acceptance)
                continue
            for handler in self._order_handlers:
                await handler(event)

    def _is_duplicate(self, connection: int, plaintext: str) -> bool:
        now = self._wall_clock.now()
        while self._recent:
            oldest_key, seen = next(iter(self._recent.items()))
            if now - seen <= self._window:
                break
            del self._recent[oldest_key]
        key = (connection, plaintext)
        if key in self._recent:
            return True
        self._recent[key] = now
        return False
