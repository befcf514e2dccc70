"""Specifications of the KIS WebSocket frame parsers against the WS samples in tests/kis_samples."""

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stock_manager.adapters.broker.kis.ws_frames import (
    decrypt,
    notice_event,
    parse_notices,
    parse_system_message,
    parse_trades,
    split_data_frame,
)
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.model import Side
from stock_manager.service_layer.ports.broker import CancelReport, FillReport, RejectReport
from tests.kis.support import ACCOUNT, SAMPLES, sample

DAY = date(2025, 6, 2)
NOTICE = sample("ws-H0STCNI0-ack-and-encrypted-notice.json")


def encrypt(plaintext: str, key: str, iv: str) -> str:
    """Return base64 AES-256-CBC of `plaintext` (the server side of §5.6)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def notice_fields(**changes: str) -> list[str]:
    """Return the sample notice's 26 fields with `changes` by field name."""
    fields = NOTICE["decrypted_payload"].split("^")
    names = NOTICE_FIELD_ORDER
    for name, value in changes.items():
        fields[names.index(name)] = value
    return fields


NOTICE_FIELD_ORDER = json.loads((SAMPLES / "ws-H0STCNI0-ack-and-encrypted-notice.json").read_text(encoding="utf-8"))[
    "_meta"
]["field_order"]


def test_four_record_trade_frame_gives_four_ticks_in_order():
    text = (SAMPLES / "ws-frame-H0STCNT0-4records.txt").read_text(encoding="utf-8").strip()
    frame = split_data_frame(text)
    assert frame is not None and (frame.tr_id, frame.count, frame.encrypted) == ("H0STCNT0", 4, False)

    ticks = parse_trades(frame, DAY)

    assert [(t.symbol, t.price, t.volume) for t in ticks] == [
        ("000100", Decimal(73000), Decimal(454)),
        ("000100", Decimal(73000), Decimal(46)),
        ("000100", Decimal(72900), Decimal(10)),
        ("000100", Decimal(72900), Decimal(10)),
    ]
    assert {t.ts_event for t in ticks} == {datetime(2025, 6, 2, 1, 34, 13, tzinfo=UTC)}  # 10:34:13 KST


def test_trade_frame_with_wrong_field_count_is_malformed():
    frame = split_data_frame("0|H0STCNT0|002|" + "^".join(["1"] * 50))
    assert frame is not None

    with pytest.raises(ValueError, match="records"):
        parse_trades(frame, DAY)


@pytest.mark.parametrize("text", ["0|H0STCNT0", "1|H0STCNI0|x|abc", "0|H0STCNT0|000|"])
def test_broken_data_frame_header_is_malformed(text):
    with pytest.raises(ValueError):
        split_data_frame(text)


def test_json_text_is_not_a_data_frame():
    assert split_data_frame('{"header": {"tr_id": "PINGPONG"}}') is None


def test_sample_notice_decrypts_with_the_ack_key_and_iv():
    ack = parse_system_message(json.dumps(NOTICE["server_ack_text_frame"]))
    frame = split_data_frame(NOTICE["server_data_text_frame"])
    assert frame is not None and frame.encrypted

    plaintext = decrypt(frame.payload, ack.key, ack.iv)

    assert plaintext == NOTICE["decrypted_payload"]


def test_wrong_key_does_not_decrypt():
    frame = split_data_frame(NOTICE["server_data_text_frame"])
    assert frame is not None

    with pytest.raises(ValueError, match="decrypted"):
        decrypt(frame.payload, "z" * 32, "0" * 16)


def test_sample_fill_notice_becomes_a_fill_report_with_costs():
    [notice] = parse_notices(NOTICE["decrypted_payload"], 1)

    event = notice_event(notice, account_id=ACCOUNT, session_date=DAY, cost_model=krx_cost_model())

    assert isinstance(event, FillReport)
    fill = event.fill
    assert fill.broker_fill_id == "notice:20250602:0000011774:093012:1@71500"
    assert (fill.broker_order_number, fill.symbol, fill.side) == ("0000011774", "005930", Side.BUY)
    assert (fill.quantity, fill.price) == (Decimal(1), Decimal(71500))
    assert fill.commission_krw == Decimal(10)  # 71,500 × 0.0140527 %, truncated
    assert fill.ts_filled == datetime(2025, 6, 2, 0, 30, 12, tzinfo=UTC)
    assert notice.account == "5012345601"


def test_old_23_field_layout_is_read_too():
    fields = notice_fields()
    old = [*fields[:18], "삼성전자", *fields[22:25], fields[25]]  # CNTG_ISNM at 18; no 18-21 of the new layout
    assert len(old) == 23

    [notice] = parse_notices("^".join(old), 1)

    assert (notice.order_number, notice.quantity, notice.price, notice.is_fill) == (
        "0000011774",
        Decimal(1),
        Decimal(71500),
        True,
    )


def test_extra_trailing_fields_are_tolerated():
    [notice] = parse_notices("^".join([*notice_fields(), "extra"]), 1)

    assert notice.symbol == "005930"


def test_refused_order_notice_becomes_a_reject_report():
    fields = notice_fields(CNTG_YN="1", RFUS_YN="1", ACPT_YN="1")

    [notice] = parse_notices("^".join(fields), 1)
    event = notice_event(notice, account_id=ACCOUNT, session_date=DAY, cost_model=krx_cost_model())

    assert isinstance(event, RejectReport)
    assert event.broker_order_number == "0000011774"


def test_confirmed_cancel_notice_cancels_the_original_order():
    fields = notice_fields(
        ODER_NO="0000011775", OODER_NO="0000011774", CNTG_YN="1", RCTF_CLS="2", ACPT_YN="2", ODER_QTY="3", CNTG_QTY="0"
    )

    [notice] = parse_notices("^".join(fields), 1)
    event = notice_event(notice, account_id=ACCOUNT, session_date=DAY, cost_model=krx_cost_model())

    assert isinstance(event, CancelReport)
    assert (event.broker_order_number, event.canceled_quantity) == ("0000011774", Decimal(3))


def test_order_acceptance_notice_has_no_event():
    [notice] = parse_notices("^".join(notice_fields(CNTG_YN="1", ACPT_YN="1")), 1)

    assert notice_event(notice, account_id=ACCOUNT, session_date=DAY, cost_model=krx_cost_model()) is None


def test_round_trip_of_our_own_encryption_matches_the_sample():
    ack = NOTICE["server_ack_text_frame"]["body"]["output"]

    assert (
        "1|H0STCNI0|001|" + encrypt(NOTICE["decrypted_payload"], ack["key"], ack["iv"])
        == NOTICE["server_data_text_frame"]
    )


def test_system_message_samples_parse():
    messages = {
        m["name"].split(" ")[0]: parse_system_message(json.dumps(m["frame"]))
        for m in sample("ws-system-messages.json")["messages"]
    }

    assert messages["PINGPONG"].is_pingpong
    ack = messages["subscribe"]
    assert (ack.tr_id, ack.tr_key, ack.msg_cd, ack.key, ack.iv) == (
        "H0STCNT0",
        "005930",
        "OPSP0000",
        "iuheqrmvfxoceaxeyqgjwesozgizmmgx",
        "d59d91fcf9fd0044",
    )
    assert messages["duplicate"].msg_cd == "OPSP0002"
    assert messages["42nd"].msg_cd == "OPSP0008"
    assert (messages["second"].rt_cd, messages["second"].msg_cd) == ("9", "OPSP8996")


def test_non_json_text_is_malformed():
    with pytest.raises(ValueError):
        parse_system_message("hello")
