"""WebSocket frames of the simulated KIS server: trade records (H0STCNT0), order/fill notices (H0STCNI0/9),
their AES-256-CBC encryption, and the JSON system messages (KIS reference §5).
"""

import base64
import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stock_manager.adapters.broker.kis_sim.wire import kst_hhmmss, kst_yyyymmdd, num
from stock_manager.domain.instruments import PriceBand
from stock_manager.domain.market import Tick
from stock_manager.localtime import kst_date

TRADE_TR = "H0STCNT0"
ORDERBOOK_TR = "H0STASP0"
NOTICE_TR = {"real": "H0STCNI0", "paper": "H0STCNI9"}
TRADE_FIELDS = 46
NOTICE_FIELDS = 26
_CENT = Decimal("0.01")


# -- system messages ---------------------------------------------------------------------------------------


def system_message(
    tr_id: str,
    tr_key: str,
    rt_cd: str,
    msg_cd: str,
    msg1: str,
    *,
    encrypt: str = "N",
    output: dict[str, str] | None = None,
) -> str:
    """Return a JSON system message (ack, error) as KIS sends it (samples ``ws-system-messages.json``)."""
    body: dict[str, object] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps(
        {"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": encrypt}, "body": body}, ensure_ascii=False
    )


def pingpong(ts: datetime) -> str:
    """Return the PINGPONG heartbeat with the KST time ``YYYYMMDDHHMMSS`` (reference §5.5)."""
    return json.dumps({"header": {"tr_id": "PINGPONG", "datetime": kst_yyyymmdd(ts) + kst_hhmmss(ts)}})


def data_frame(tr_id: str, records: list[list[str]], *, encrypted_with: "SessionCipher | None" = None) -> str:
    """Return ``<enc>|<tr_id>|<NNN>|<payload>``: records joined by ``^``, AES-encrypted when a cipher is given."""
    payload = "^".join(value for record in records for value in record)
    if encrypted_with is not None:
        return f"1|{tr_id}|{len(records):03d}|{encrypted_with.encrypt(payload)}"
    return f"0|{tr_id}|{len(records):03d}|{payload}"


# -- encryption --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionCipher:
    """The AES-256-CBC key (32 ASCII chars) and IV (16) of one WebSocket session, sent in every ack.

    Encryption follows the official samples: key and IV used as their UTF-8 bytes, PKCS#7, base64 text
    (reference §5.6; checked against ``ws-H0STCNI0-ack-and-encrypted-notice.json``).
    """

    key: str
    iv: str

    @classmethod
    def fresh(cls) -> "SessionCipher":
        """Return a new random key and IV (lower-case letters and digits, as in the samples)."""
        alphabet = string.ascii_lowercase + string.digits
        return cls(
            "".join(secrets.choice(alphabet) for _ in range(32)), "".join(secrets.choice(alphabet) for _ in range(16))
        )

    def encrypt(self, text: str) -> str:
        """Return base64(AES-256-CBC(PKCS7(text as UTF-8)))."""
        padder = padding.PKCS7(128).padder()
        data = padder.update(text.encode("utf-8")) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.key.encode("utf-8")), modes.CBC(self.iv.encode("utf-8"))).encryptor()
        return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")

    def decrypt(self, text: str) -> str:
        """Return the plaintext of `encrypt`'s output (for tests)."""
        decryptor = Cipher(algorithms.AES(self.key.encode("utf-8")), modes.CBC(self.iv.encode("utf-8"))).decryptor()
        data = decryptor.update(base64.b64decode(text)) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")

    def ack_output(self) -> dict[str, str]:
        """Return the ``output`` of a subscribe ack."""
        return {"iv": self.iv, "key": self.key}


# -- H0STCNT0 trade records --------------------------------------------------------------------------------


@dataclass(slots=True)
class DayStats:
    """A symbol's running figures of one KST day from its prints: open/high/low (with HHMMSS), volume and
    value, buyer- and seller-initiated counts and volumes, and the last price and direction."""

    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    open_hour: str
    high_hour: str
    low_hour: str
    volume: Decimal = Decimal(0)
    value: Decimal = Decimal(0)
    sell_count: int = 0
    buy_count: int = 0
    sell_volume: Decimal = Decimal(0)
    buy_volume: Decimal = Decimal(0)
    last_price: Decimal | None = None
    last_side: str = "1"


@dataclass(slots=True)
class TradeRecorder:
    """Turns replayed prints into 46-field H0STCNT0 records, keeping each symbol's running day figures.

    Filled from the prints: code, time, price, sign/change/% vs the base price, VWAP, open/high/low with
    their times and differences, best ask/bid (the print and one tick away, by the print's direction), trade
    and cumulative volume and value, buy/sell counts and volumes (a print above the last one is
    buyer-initiated, below seller-initiated, equal keeps the last direction), 체결강도, buy ratio, the volume
    ratio to the previous day, the business date, ``NEW_MKOP_CLS_CODE`` ``20``, ``TRHT_YN`` ``N``,
    ``HOUR_CLS_CODE`` ``0`` and the open as the VI base price. Orderbook sizes and turnover are ``"0"``.
    """

    _days: dict[str, DayStats] = field(default_factory=dict)

    def observe(self, tick: Tick) -> "DayStats":
        """Count `tick` in its symbol's day (no record is built); return the day's figures."""
        day, hour = kst_date(tick.ts_event), kst_hhmmss(tick.ts_event)
        price, volume = tick.price, tick.volume
        stats = self._days.get(tick.symbol)
        if stats is None or stats.day != day:
            stats = DayStats(day, price, price, price, hour, hour, hour)
            self._days[tick.symbol] = stats
        if price > stats.high:
            stats.high, stats.high_hour = price, hour
        if price < stats.low:
            stats.low, stats.low_hour = price, hour
        if stats.last_price is not None and price != stats.last_price:
            stats.last_side = "1" if price > stats.last_price else "5"
        stats.last_price = price
        stats.volume += volume
        stats.value += price * volume
        if volume > 0:
            if stats.last_side == "1":
                stats.buy_count += 1
                stats.buy_volume += volume
            else:
                stats.sell_count += 1
                stats.sell_volume += volume
        return stats

    def day_stats(self, symbol: str, day: date) -> "DayStats | None":
        """Return `symbol`'s running figures of `day`, or None before its first print that day."""
        stats = self._days.get(symbol)
        return stats if stats is not None and stats.day == day else None

    def record(
        self, tick: Tick, base_price: Decimal, limits: PriceBand, tick_size: Decimal, previous_volume: Decimal | None
    ) -> list[str]:
        """Return the record of `tick` and count it in its symbol's day."""
        stats = self.observe(tick)
        day, hour, price, volume = stats.day, kst_hhmmss(tick.ts_event), tick.price, tick.volume
        change = price - base_price
        vwap = stats.value / stats.volume if stats.volume > 0 else price
        ask, bid = (price, price - tick_size) if stats.last_side == "1" else (price + tick_size, price)
        strength = stats.buy_volume / stats.sell_volume * 100 if stats.sell_volume > 0 else Decimal(0)
        buy_rate = stats.buy_volume / stats.volume * 100 if stats.volume > 0 else Decimal(0)
        volume_rate = stats.volume / previous_volume * 100 if previous_volume else Decimal(0)
        record = [
            tick.symbol,
            hour,
            num(price),
            _sign(price, base_price, limits),
            num(change),
            _pct(change / base_price * 100 if base_price else Decimal(0)),
            _pct(vwap),
            num(stats.open),
            num(stats.high),
            num(stats.low),
            num(ask),
            num(bid),
            num(volume),
            num(stats.volume),
            num(stats.value.to_integral_value()),
            str(stats.sell_count),
            str(stats.buy_count),
            str(stats.buy_count - stats.sell_count),
            _pct(strength),
            num(stats.sell_volume),
            num(stats.buy_volume),
            stats.last_side,
            _pct(buy_rate),
            _pct(volume_rate),
            stats.open_hour,
            _updown(price, stats.open),
            num(price - stats.open),
            stats.high_hour,
            _updown(price, stats.high),
            num(price - stats.high),
            stats.low_hour,
            _updown(price, stats.low),
            num(price - stats.low),
            day.strftime("%Y%m%d"),
            "20",
            "N",
            "0",
            "0",
            "0",
            "0",
            "0.00",
            "0",
            "0.00",
            "0",
            "",
            num(stats.open),
        ]
        assert len(record) == TRADE_FIELDS
        return record


def _pct(value: Decimal) -> str:
    return str(value.quantize(_CENT, ROUND_HALF_UP))


def _sign(price: Decimal, base: Decimal, limits: PriceBand) -> str:
    # PRDY_VRSS_SIGN: 1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down.
    if price >= limits.upper:
        return "1"
    if price <= limits.lower:
        return "4"
    return "2" if price > base else "5" if price < base else "3"


def _updown(price: Decimal, reference: Decimal) -> str:
    return "2" if price > reference else "5" if price < reference else "3"


# -- H0STCNI0 / H0STCNI9 notices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """One order/fill notice in the 26-field layout (reference §5.9).

    Attributes
    ----------
    order_number, original_number : str
        ``ODER_NO`` (10 digits) and ``OODER_NO`` (the original of a revise/cancel; "" otherwise).
    side : str
        ``"01"`` sell, ``"02"`` buy.
    revise_cancel : str
        ``RCTF_CLS``: ``"0"`` normal, ``"1"`` revise, ``"2"`` cancel.
    order_kind : str
        ``ORD_DVSN`` of the order (``"00"`` limit, ``"01"`` market).
    quantity, price : Decimal
        ``CNTG_QTY``/``CNTG_UNPR``: the fill for ``CNTG_YN=2``; the order's quantity and price otherwise
        (as the legacy official sample labels them).
    rejected : bool
        ``RFUS_YN`` ``"1"``.
    is_fill : bool
        ``CNTG_YN`` ``"2"`` for a fill, ``"1"`` for acceptance/confirmation/rejection.
    acceptance : str
        ``ACPT_YN``: ``"1"`` 접수, ``"2"`` 확인, ``"3"`` 취소 by the exchange (used for expiry at the close).
    """

    hts_id: str
    account: str  # 10 digits, CANO + ACNT_PRDT_CD
    order_number: str
    original_number: str
    side: str
    revise_cancel: str
    order_kind: str
    symbol: str
    quantity: Decimal
    price: Decimal
    ts: datetime
    rejected: bool
    is_fill: bool
    acceptance: str
    branch: str
    order_quantity: Decimal
    order_price: Decimal
    account_name: str
    symbol_name: str

    def fields(self) -> list[str]:
        """Return the 26 ``^``-separated fields, in the documented order."""
        return [
            self.hts_id,
            self.account,
            self.order_number,
            self.original_number,
            self.side,
            self.revise_cancel,
            self.order_kind,
            "0",
            self.symbol,
            num(self.quantity),
            num(self.price),
            kst_hhmmss(self.ts),
            "1" if self.rejected else "0",
            "2" if self.is_fill else "1",
            self.acceptance,
            self.branch,
            num(self.order_quantity),
            self.account_name,
            "",
            "1",
            "N",
            "",
            "",
            "",
            self.symbol_name,
            num(self.order_price),
        ]
