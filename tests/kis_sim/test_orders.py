"""Order endpoints of the simulator: order-cash and order-rvsecncl in paper and real mode, TR id rules, body
rules, business rejections worded like KIS's, and the notices that follow."""

import json
from datetime import date, time
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis_sim import KisCredential, KisExchangeSimulator
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.localtime import KST, kst_date, kst_datetime

from .conftest import KODEX, SAMSUNG, KisClient, WallClock, make_venue, open_session, start_sim, unpad, ws_connect

SAMPLES = Path(__file__).parent.parent / "kis_samples"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


async def test_order_when_paper_market_buy_then_sample_shape_unpadded_odno_and_an_acceptance_notice(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)

    response = await client.order("VTTC0012U", qty="3")
    notice = await ws.notice()

    body = response.json()
    paper = unpad(sample("rest-order-cash-200-paper.json"))
    assert response.status_code == 200 and response.headers["tr_id"] == "VTTC0012U"
    assert list(body) == list(paper) and set(body["output"]) == set(paper["output"])
    assert (body["rt_cd"], body["msg_cd"], body["msg1"]) == (paper["rt_cd"], paper["msg_cd"], paper["msg1"])
    assert body["output"]["ODNO"] == "1" and body["output"]["KRX_FWDG_ORD_ORGNO"] == "00950"
    assert body["output"]["ORD_TMD"] == "083000"  # the replay's pre-open, KST
    assert len(notice) == 26
    assert notice[:3] == [client.credential.hts_id, "5000000001", "0000000001"]
    assert (notice[4], notice[6], notice[8], notice[13], notice[14]) == ("02", "01", SAMSUNG, "1", "1")
    assert venue.book.order("1") is not None
    assert client.sim.records.requests_per_tr["VTTC0012U"] == 1
    (received,) = client.sim.records.orders_received
    assert received.tr_id == "VTTC0012U" and received.outcome == "accepted 0000000001"
    assert received.body["ORD_QTY"] == "3"
    await ws.conn.close()


async def test_order_when_real_mode_limit_buy_then_apbk0013_and_a_padded_odno(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="real")
    try:
        await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            response = await kis.order("TTTC0012U", dvsn="00", price="73000", qty="1")
    finally:
        await sim.stop()

    body = response.json()
    real = unpad(sample("rest-order-cash-200-real.json"))
    assert list(body) == list(real)
    assert (body["msg_cd"], body["msg1"]) == (real["msg_cd"], real["msg1"])
    assert body["output"]["ODNO"] == "0000000001"


async def test_order_when_old_tr_ids_then_accepted_as_the_new_ones(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    await open_session(venue)

    buy = await client.order("VTTC0802U", qty="2")
    sell = await client.order("VTTC0801U", qty="1")

    assert buy.json()["rt_cd"] == "0"
    assert sell.json()["rt_cd"] == "1"  # nothing held yet: a business rejection, so the TR was understood
    assert sell.json()["msg1"] == "주문가능수량을 초과 했습니다"


@pytest.mark.parametrize(
    ("mode", "tr_id", "msg1"),
    [("paper", "TTTC0012U", "모의투자 TR 이 아닙니다."), ("real", "VTTC0012U", "실전투자 TR 이 아닙니다.")],
)
async def test_order_when_tr_of_the_other_environment_then_http_500_and_nothing_placed(
    venue: SimBroker, wall: WallClock, mode: str, tr_id: str, msg1: str
) -> None:
    sim = await start_sim(venue, wall, mode=mode)
    try:
        await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            response = await kis.order(tr_id)
    finally:
        await sim.stop()

    assert response.status_code == 500 and response.json()["msg1"] == msg1
    assert venue.book.orders() == []


async def test_order_when_tr_id_names_another_service_then_opsq0002(client: KisClient, venue: SimBroker) -> None:
    await open_session(venue)

    response = await client.order("VTTC8434R")

    assert response.status_code == 500 and response.json()["msg_cd"] == "OPSQ0002"


async def test_order_when_keys_lowercase_or_values_not_strings_then_opsq2001(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    lower = {
        "cano": client.credential.cano,
        "acnt_prdt_cd": "01",
        "pdno": SAMSUNG,
        "ord_dvsn": "01",
        "ord_qty": "1",
        "ord_unpr": "0",
    }
    numbers = {
        "CANO": client.credential.cano,
        "ACNT_PRDT_CD": "01",
        "PDNO": SAMSUNG,
        "ORD_DVSN": "01",
        "ORD_QTY": 1,
        "ORD_UNPR": 0,
    }

    for body in (lower, numbers):
        response = await client.post("trading/order-cash", "VTTC0012U", body)
        assert response.status_code == 500 and response.json()["msg_cd"] == "OPSQ2001"
    assert venue.book.orders() == []


async def test_order_when_account_is_not_the_keys_then_apac0081_rt_cd_7(client: KisClient, venue: SimBroker) -> None:
    await open_session(venue)

    response = await client.order(CANO="12345678")

    assert response.status_code == 200
    assert response.json() == {"rt_cd": "7", "msg_cd": "APAC0081", "msg1": "계좌번호 입력 오류입니다"}


@pytest.mark.parametrize(
    ("kwargs", "msg1"),
    [
        ({"dvsn": "00", "price": "73050"}, "주식주문호가단위 오류입니다."),
        ({"dvsn": "00", "price": "99000"}, "주문가격이 상한가를 초과합니다."),
        ({"qty": "0"}, "주문수량을 확인 하여 주십시요."),
        ({"qty": "100000"}, "주문가능금액을 초과 했습니다"),
        ({"dvsn": "01", "price": "73000"}, "주문단가를 확인 하여 주십시요."),
    ],
)
async def test_order_when_the_venue_refuses_then_http_200_rt_cd_1_with_kis_wording(
    client: KisClient, venue: SimBroker, kwargs: dict, msg1: str
) -> None:
    await open_session(venue)

    response = await client.order(**kwargs)

    assert response.status_code == 200
    body = response.json()
    assert body["rt_cd"] == "1" and body["msg1"] == msg1 and body["msg_cd"].startswith("40")
    assert "output" not in body
    assert client.sim.records.orders_received[-1].outcome.startswith("rejected")


async def test_order_when_before_the_pre_open_then_paper_says_the_market_has_not_opened(
    tmp_path: Path, wall: WallClock
) -> None:
    early = make_venue(tmp_path / "early", clock_start=kst_datetime(date(2023, 12, 20), time(7, 0)))
    sim = await start_sim(early, wall, mode="paper")
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            response = await kis.order()
    finally:
        await sim.stop()
        await early.close()

    assert response.json()["msg_cd"] == "40570000"
    assert response.json()["msg1"] == "모의투자 장시작전 입니다."


async def test_order_when_the_session_has_closed_then_paper_says_the_market_is_closed(
    client: KisClient, venue: SimBroker
) -> None:
    session = await open_session(venue)
    await venue.run_until_close(session)

    response = await client.order()

    assert response.json()["rt_cd"] == "1" and response.json()["msg1"] == "모의투자 장종료 입니다."


async def test_order_when_market_kodex_sell_after_buy_then_fills_and_notices_in_26_fields(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)
    await client.order(symbol=KODEX, qty="5")
    accepted = await ws.notice()

    await venue.run_until_close(session)
    fill = await ws.notice()

    fills = venue.book.fills()
    assert accepted[13] == "1" and fill[13] == "2"
    assert fill[2] == fills[0].broker_order_number and fill[8] == KODEX
    assert fill[9] == str(fills[0].quantity) and fill[10] == str(fills[0].price)
    assert fill[11] == fills[0].ts_filled.astimezone(KST).strftime("%H%M%S")
    assert fill[24] == "KODEX 200" and fill[16] == "5"
    await ws.conn.close()


async def test_cancel_when_a_working_limit_order_is_cancelled_then_cancel_number_notices_and_ccld_rows(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)
    placed = (await client.order(dvsn="00", price="60000", qty="4")).json()["output"]
    await ws.notice()

    response = await client.cancel(placed["ODNO"], branch=placed["KRX_FWDG_ORD_ORGNO"])
    accepted = await ws.notice()
    await venue.run_until_close(session)
    confirmed = await ws.notice()
    rows = (await client.daily_ccld()).json()["output1"]

    body = response.json()
    assert response.status_code == 200 and body["rt_cd"] == "0" and body["msg_cd"] == "40640000"
    cancel_number = body["output"]["ODNO"]
    assert cancel_number == "8000000001"
    assert (accepted[2], accepted[3], accepted[5], accepted[13], accepted[14]) == (
        cancel_number,
        "0000000001",
        "2",
        "1",
        "1",
    )
    assert (confirmed[2], confirmed[3], confirmed[5], confirmed[9], confirmed[14]) == (
        cancel_number,
        "0000000001",
        "2",
        "4",
        "2",
    )
    original, cancel = rows
    assert (original["odno"], original["cncl_cfrm_qty"], original["rmn_qty"]) == ("0000000001", "4", "0")
    assert (cancel["odno"], cancel["orgn_odno"], cancel["cncl_yn"], cancel["ord_qty"]) == (
        cancel_number,
        "0000000001",
        "Y",
        "4",
    )
    await ws.conn.close()


async def test_cancel_when_order_unknown_or_branch_wrong_or_already_cancelled_then_business_errors(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    placed = (await client.order(dvsn="00", price="60000", qty="1")).json()["output"]

    unknown = await client.cancel("999")
    wrong_branch = await client.cancel(placed["ODNO"], branch="06590")
    first = await client.cancel(placed["ODNO"])
    second = await client.cancel(placed["ODNO"])

    assert unknown.json()["rt_cd"] == "1" and unknown.json()["msg1"] == "해당 주문이 없습니다."
    assert wrong_branch.json()["msg1"] == "해당 주문이 없습니다."
    assert first.json()["rt_cd"] == "0"
    assert second.json()["rt_cd"] == "1" and second.json()["msg1"] == "정정취소가능수량이 없습니다."


async def test_cancel_when_partial_quantity_then_refused_as_not_simulated(client: KisClient, venue: SimBroker) -> None:
    await open_session(venue)
    placed = (await client.order(dvsn="00", price="60000", qty="5")).json()["output"]

    response = await client.cancel(placed["ODNO"], QTY_ALL_ORD_YN="N", ORD_QTY="2")

    assert response.json()["rt_cd"] == "1" and response.json()["msg_cd"] == "SIMU0001"


async def test_revise_when_price_changed_then_a_replacement_order_carries_the_new_price(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    placed = (await client.order(dvsn="00", price="60000", qty="5")).json()["output"]

    response = await client.cancel(placed["ODNO"], RVSE_CNCL_DVSN_CD="01", ORD_DVSN="00", ORD_UNPR="61000")
    rows = {row["odno"]: row for row in (await client.daily_ccld()).json()["output1"]}

    new = response.json()["output"]["ODNO"]
    assert response.json()["rt_cd"] == "0" and new == "2"
    assert rows["0000000002"]["orgn_odno"] == "0000000001" and rows["0000000002"]["ord_unpr"] == "61000"
    assert rows["0000000002"]["rmn_qty"] == "5"
    assert venue.book.order("1").state == "CANCELED"


async def test_order_cash_when_real_sample_request_body_is_sent_verbatim_then_accepted(
    venue: SimBroker, wall: WallClock
) -> None:
    request_body = sample("rest-order-cash-200-real.json")["_meta"]["request_body"]
    owner = KisCredential("SAMPLEKEY", "SAMPLESECRET", "12345678-01", "samplehts")
    sim = await start_sim(venue, wall, mode="real", credentials=[owner])
    try:
        await open_session(venue)
        async with KisClient(sim, owner) as kis:
            await kis.login()
            response = await kis.post("trading/order-cash", "TTTC0012U", request_body)
    finally:
        await sim.stop()

    assert response.json()["rt_cd"] == "0", response.text
    order = venue.book.order(response.json()["output"]["ODNO"])
    assert order is not None and order.limit_price == 71500 and kst_date(order.ts_accepted).year == 2023
