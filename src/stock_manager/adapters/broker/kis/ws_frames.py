"""Parsers of KIS WebSocket frames: data frames, trade records, encrypted order notices, system messages.

Source: ../reference/kis-openapi.md §5.3 (JSON system messages, acks with key/iv), §5.4 (data frames
``<enc>|<TR_ID>|<NNN>|<^-separated records>``), §5.6 (AES-256-CBC, key/iv as UTF-8 bytes, PKCS#7, base64),
§5.7 (H0STCNT0, 46 fields) and §5.9 (H0STCNI0/H0STCNI9 notices: 26 fields, formerly 23). Every parser raises
`ValueError` with a short reason on a malformed frame; the session logs it and skips the frame.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stock_manager.adapters.broker.kis.parsers import kst_time
from stock_manager.domain.costs import CostModel
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import Tick
from stock_manager.domain.model import Side
from stock_manager.service_layer.ports.broker import BrokerOrderEvent, CancelReport, FillReport, RejectReport

TRADE_TR_ID = "H0STCNT0"
NOTICE_TR_IDS = frozenset({"H0STCNI0", "H0STCNI9"})
TRADE_FIELDS = 46
NOTICE_FIELDS = 26
OLD_NOTICE_FIELDS = 23  # layout before ~2025-03 (§5.9 History)


@dataclass(frozen=True, slots=True)
class DataFrame:
    """A data frame: ``encrypted`` (first field ``1``), the TR id, the record count and the raw payload."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str


def split_data_frame(text: str) -> DataFrame | None:
    """Return the data frame in `text`, or None when `text` is a JSON system message (first char not 0/1).

    Raises
    ------
    ValueError
        If it starts like a data frame but does not have four ``|``-separated parts and a numeric count.
    """
    if not text or text[0] not in "01":
        return None
    parts = text.split("|", 3)
    if len(parts) != 4 or not parts[2].isdigit() or int(parts[2]) < 1:
        raise ValueError("data frame without <enc>|<tr_id>|<count>|<payload>")
    return DataFrame(encrypted=parts[0] == "1", tr_id=parts[1], count=int(parts[2]), payload=parts[3])


def _records(payload: str, count: int, least_fields: int) -> list[list[str]]:
    fields = payload.split("^")
    if len(fields) % count or len(fields) // count < least_fields:
        raise ValueError(f"{len(fields)} fields do not make {count} records of at least {least_fields}")
    width = len(fields) // count
    return [fields[i * width : (i + 1) * width] for i in range(count)]


def _decimal(value: str, name: str) -> Decimal:
    try:
        result = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"field {name} is not a number: {value[:20]!r}") from None
    if not result.is_finite():
        raise ValueError(f"field {name} is not a finite number")
    return result


def parse_trades(frame: DataFrame, session_date: date) -> list[Tick]:
    """Return the trade prints of an H0STCNT0 frame, one per record, in frame order.

    Price ``STCK_PRPR`` (field 2), volume ``CNTG_VOL`` (12), time ``STCK_CNTG_HOUR`` (1, KST) on `session_date`
    (the market clock's date, as decided for the project; the frame's BSOP_DATE is not used).
    """
    ticks = []
    for record in _records(frame.payload, frame.count, TRADE_FIELDS):
        symbol = record[0].strip()
        if not symbol:
            raise ValueError("trade record without MKSC_SHRN_ISCD")
        price = _decimal(record[2], "STCK_PRPR")
        if price <= 0:
            raise ValueError(f"trade price is not positive: {price}")
        ticks.append(
            Tick(
                symbol=symbol,
                price=price,
                volume=_decimal(record[12], "CNTG_VOL"),
                ts_event=kst_time(session_date, record[1].strip(), "STCK_CNTG_HOUR"),
            )
        )
    return ticks


def decrypt(payload_b64: str, key: str, iv: str) -> str:
    """Return the UTF-8 plaintext of a notice payload (AES-256-CBC, key/iv as UTF-8 bytes, PKCS#7, base64).

    Raises
    ------
    ValueError
        On bad base64, a wrong key/iv size, bad padding or non-UTF-8 plaintext.
    """
    try:
        raw = base64.b64decode(payload_b64, validate=True)
        decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"notice cannot be decrypted: {type(e).__name__}") from None


@dataclass(frozen=True, slots=True)
class Notice:
    """One order/fill notice record (H0STCNI0/H0STCNI9), by field name (§5.9)."""

    account: str  # ACNT_NO (10 digits)
    order_number: str  # ODER_NO
    original_order_number: str  # OODER_NO
    side: Side  # SELN_BYOV_CLS 01 sell, 02 buy
    revise_cancel: str  # RCTF_CLS 0 normal, 1 revise, 2 cancel
    symbol: str  # STCK_SHRN_ISCD
    quantity: Decimal  # CNTG_QTY (fill qty; order qty on some non-fill notices)
    price: Decimal  # CNTG_UNPR
    hhmmss: str  # STCK_CNTG_HOUR
    refused: bool  # RFUS_YN 1
    is_fill: bool  # CNTG_YN 2
    acceptance: str  # ACPT_YN 1 접수, 2 확인, 3 취소(IOC/FOK)
    order_quantity: Decimal  # ODER_QTY


def parse_notices(plaintext: str, count: int) -> list[Notice]:
    """Return the notice records of a decrypted payload (26-field layout, or the older 23-field one).

    Fields 0-17 have the same meaning in both layouts; trailing extra fields are tolerated.
    """
    notices = []
    for record in _records(plaintext, count, OLD_NOTICE_FIELDS):
        side_code = record[4].strip()
        if side_code not in {"01", "02"}:
            raise ValueError(f"SELN_BYOV_CLS is not 01/02: {side_code[:4]!r}")
        notices.append(
            Notice(
                account=record[1].strip(),
                order_number=record[2].strip(),
                original_order_number=record[3].strip(),
                side=Side.SELL if side_code == "01" else Side.BUY,
                revise_cancel=record[5].strip(),
                symbol=record[8].strip(),
                quantity=_decimal(record[9] or "0", "CNTG_QTY"),
                price=_decimal(record[10] or "0", "CNTG_UNPR"),
                hhmmss=record[11].strip(),
                refused=record[12].strip() in {"1", "Y"},
                is_fill=record[13].strip() == "2",
                acceptance=record[14].strip(),
                order_quantity=_decimal(record[16] or "0", "ODER_QTY"),
            )
        )
    return notices


def notice_event(
    notice: Notice, *, account_id: str, session_date: date, cost_model: CostModel
) -> BrokerOrderEvent | None:
    """Return the port event of a notice, or None for an acknowledgement the port has no event for.

    =============================================  ===============================================
    notice                                         event
    =============================================  ===============================================
    CNTG_YN 2 (fill)                               `FillReport` (id ``notice:<date>:<ODNO>:<HHMMSS>:<qty>@<price>``,
                                                   fees from `cost_model`)
    CNTG_YN 1, RFUS_YN 1                           `RejectReport` of ODER_NO (code ``RFUS_YN``)
    CNTG_YN 1, RCTF_CLS 2, ACPT_YN 2 (confirmed)   `CancelReport` of OODER_NO (the original order),
                                                   quantity ODER_QTY (else CNTG_QTY) [semantics ?]
    CNTG_YN 1, ACPT_YN 3 (IOC/FOK remainder)       `CancelReport` of ODER_NO
    any other CNTG_YN 1 (order/cancel accepted)    None (the REST answer already told)
    =============================================  ===============================================

    Raises
    ------
    ValueError
        If a fill has no positive quantity or price, or a bad time.
    """
    ts = kst_time(session_date, notice.hhmmss, "STCK_CNTG_HOUR")
    if notice.is_fill:
        notional = notice.quantity * notice.price
        fill = Fill(
            broker_fill_id=(
                f"notice:{session_date:%Y%m%d}:{notice.order_number}:{notice.hhmmss}:{notice.quantity}@{notice.price}"
            ),
            broker_order_number=notice.order_number,
            symbol=notice.symbol,
            side=notice.side,
            quantity=notice.quantity,
            price=notice.price,
            commission_krw=cost_model.commission_krw(notional),
            tax_krw=cost_model.tax_krw(notice.side, notional, session_date),
            ts_filled=ts,
            trading_date=session_date,
        )
        return FillReport(account_id=account_id, fill=fill)
    if notice.refused:
        return RejectReport(
            account_id=account_id,
            broker_order_number=notice.order_number,
            ts_event=ts,
            reason="KIS refused the order (notice RFUS_YN=1)",
            trading_date=session_date,
            code="RFUS_YN",
        )
    quantity = notice.order_quantity if notice.order_quantity > 0 else notice.quantity
    if notice.revise_cancel == "2" and notice.acceptance == "2":
        return CancelReport(
            account_id=account_id,
            broker_order_number=notice.original_order_number or notice.order_number,
            canceled_quantity=quantity,
            ts_event=ts,
            reason="canceled (KIS confirmation)",
            trading_date=session_date,
        )
    if notice.acceptance == "3":
        return CancelReport(
            account_id=account_id,
            broker_order_number=notice.order_number,
            canceled_quantity=quantity,
            ts_event=ts,
            reason="remainder canceled by the exchange",
            trading_date=session_date,
        )
    return None


@dataclass(frozen=True, slots=True)
class SystemMessage:
    """A JSON system message: PINGPONG, a (un)subscribe ack or an error (§5.3)."""

    tr_id: str
    tr_key: str
    rt_cd: str
    msg_cd: str
    msg1: str
    key: str
    iv: str

    @property
    def is_pingpong(self) -> bool:
        """Return True for the server's heartbeat (to be echoed verbatim)."""
        return self.tr_id == "PINGPONG"


def parse_system_message(text: str) -> SystemMessage:
    """Return the system message in the JSON text `text`.

    Raises
    ------
    ValueError
        If `text` is not a JSON object with a ``header``.
    """
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("frame is neither a data frame nor JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict):
        raise ValueError("JSON frame without a header object")
    header = data["header"]
    given_body = data.get("body")
    body: dict[str, Any] = given_body if isinstance(given_body, dict) else {}
    given_output = body.get("output")
    output: dict[str, Any] = given_output if isinstance(given_output, dict) else {}
    return SystemMessage(
        tr_id=str(header.get("tr_id") or ""),
        tr_key=str(header.get("tr_key") or ""),
        rt_cd=str(body.get("rt_cd") or "").strip(),
        msg_cd=str(body.get("msg_cd") or "").strip(),
        msg1=str(body.get("msg1") or "").strip(),
        key=str(output.get("key") or ""),
        iv=str(output.get("iv") or ""),
    )
