"""The KIS samples replayed against the simulator's wire formats: every sample parses, the encrypted notice
is reproduced byte for byte, the trade frame layout matches, and the system messages are the samples'."""

import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis_sim import KisCredential
from stock_manager.adapters.broker.kis_sim.frames import (
    NOTICE_FIELDS,
    TRADE_FIELDS,
    Notice,
    SessionCipher,
    data_frame,
    pingpong,
)
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.localtime import kst_datetime

from .conftest import CANO, PRDT, SAMSUNG, KisClient, WallClock, start_sim, ws_connect

SAMPLES = Path(__file__).parent.parent / "kis_samples"
NOTICE = json.loads((SAMPLES / "ws-H0STCNI0-ack-and-encrypted-notice.json").read_text(encoding="utf-8"))
SYSTEM = {
    m["name"]: m["frame"]
    for m in json.loads((SAMPLES / "ws-system-messages.json").read_text(encoding="utf-8"))["messages"]
}


@pytest.mark.parametrize("path", sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".txt")))
def test_every_sample_when_read_as_utf8_then_parses(path: str) -> None:
    text = (SAMPLES / path).read_text(encoding="utf-8")

    if path.endswith(".json"):
        assert isinstance(json.loads(text), dict)
    else:
        assert text.startswith("0|H0STCNT0|")


def test_cipher_when_given_the_samples_key_and_iv_then_reproduces_the_encrypted_frame() -> None:
    output = NOTICE["server_ack_text_frame"]["body"]["output"]
    cipher = SessionCipher(key=output["key"], iv=output["iv"])
    payload = NOTICE["server_data_text_frame"].split("|", 3)[3]

    assert cipher.decrypt(payload) == NOTICE["decrypted_payload"]
    assert cipher.encrypt(NOTICE["decrypted_payload"]) == payload


def test_notice_when_built_from_the_samples_values_then_the_frame_is_byte_identical() -> None:
    fields = NOTICE["decrypted_payload"].split("^")
    notice = Notice(
        hts_id="testhts",
        account="5012345601",
        order_number="0000011774",
        original_number="",
        side="02",
        revise_cancel="0",
        order_kind="00",
        symbol=SAMSUNG,
        quantity=Decimal(1),
        price=Decimal(71500),
        ts=kst_datetime(date(2025, 5, 15), time(9, 30, 12)),
        rejected=False,
        is_fill=True,
        acceptance="2",
        branch="00950",
        order_quantity=Decimal(1),
        order_price=Decimal(71500),
        account_name="홍길동",
        symbol_name="삼성전자",
    )
    output = NOTICE["server_ack_text_frame"]["body"]["output"]

    frame = data_frame("H0STCNI0", [notice.fields()], encrypted_with=SessionCipher(output["key"], output["iv"]))

    assert len(fields) == len(NOTICE["_meta"]["field_order"]) == NOTICE_FIELDS
    assert notice.fields() == fields
    assert frame == NOTICE["server_data_text_frame"]


def test_trade_frame_when_compared_with_the_4_record_capture_then_same_layout() -> None:
    capture = (SAMPLES / "ws-frame-H0STCNT0-4records.txt").read_text(encoding="utf-8").strip()
    enc, tr_id, count, payload = capture.split("|", 3)
    fields = payload.split("^")
    records = [fields[i : i + TRADE_FIELDS] for i in range(0, len(fields), TRADE_FIELDS)]

    rebuilt = data_frame(tr_id, records)

    assert (enc, count, len(fields)) == ("0", "004", 4 * TRADE_FIELDS)
    assert rebuilt == capture


def test_pingpong_when_built_then_the_samples_shape() -> None:
    sample = SYSTEM["PINGPONG heartbeat (server sends periodically; echo the same text back)"]

    built = json.loads(pingpong(kst_datetime(date(2025, 5, 15), time(9, 30))))

    assert built == sample


async def test_subscribe_when_the_samples_message_is_sent_verbatim_then_the_samples_acks(
    venue: SimBroker, wall: WallClock
) -> None:
    owner = KisCredential("SAMPLEKEY", "SAMPLESECRET", f"{CANO}-{PRDT}", "testhts")
    sim = await start_sim(venue, wall, mode="real", credentials=[owner])
    try:
        async with KisClient(sim, owner) as kis:
            approval_key = await kis.approval_key()
        ws = await ws_connect(sim, approval_key)
        message = json.loads(json.dumps(NOTICE["client_sends"]))
        message["header"]["approval_key"] = approval_key
        await ws.conn.send(json.dumps(message))
        notice_ack = json.loads(await ws.recv())
        trade_ack = await ws.subscribe("H0STCNT0", SAMSUNG)
        duplicate = await ws.subscribe("H0STCNT0", SAMSUNG)
        await ws.conn.close()
    finally:
        await sim.stop()

    expected = NOTICE["server_ack_text_frame"]
    assert notice_ack["header"] == expected["header"]
    assert {k: v for k, v in notice_ack["body"].items() if k != "output"} == {
        k: v for k, v in expected["body"].items() if k != "output"
    }
    assert set(notice_ack["body"]["output"]) == {"iv", "key"}
    sample_ack = SYSTEM["subscribe ack for H0STCNT0 (unencrypted channel; key/iv still present)"]
    assert trade_ack["header"] == sample_ack["header"]
    assert set(trade_ack["body"]["output"]) == set(sample_ack["body"]["output"])
    assert duplicate == SYSTEM["duplicate subscribe"]
