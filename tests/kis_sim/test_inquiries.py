"""Inquiries of the simulator: balance, daily orders/fills with tr_cont paging, buyable amount, revisable
orders (real only), current price and the daily chart; shapes checked against the samples."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.krx.rules import price_limits

from .conftest import CANO, KODEX, PRDT, SAMSUNG, KisClient, WallClock, open_session, start_sim, unpad

SAMPLES = Path(__file__).parent.parent / "kis_samples"


def sample(name: str) -> dict:
    return unpad(json.loads((SAMPLES / name).read_text(encoding="utf-8")))


async def test_balance_when_holding_then_sample_shape_padded_strings_and_the_venues_figures(
    client: KisClient, venue: SimBroker
) -> None:
    session = await open_session(venue)
    await client.order(qty="10")
    await venue.run_until_close(session)

    response = await client.balance()

    body, paper = response.json(), sample("rest-inquire-balance-200-paper.json")
    assert response.status_code == 200 and response.headers["tr_cont"] == "D"
    assert list(body) == list(paper)
    assert set(body["output1"][0]) == set(paper["output1"][0])
    assert isinstance(body["output2"], list) and set(body["output2"][0]) == set(paper["output2"][0])
    assert body["msg1"] == paper["msg1"] and body["ctx_area_nk100"] == " " * 100 and len(body["ctx_area_fk100"]) == 100
    assert all(isinstance(v, str) for row in body["output1"] + body["output2"] for v in row.values())
    (holding,) = venue.book.positions()
    row = body["output1"][0]
    assert (row["pdno"], row["hldg_qty"], row["ord_psbl_qty"]) == (SAMSUNG, "10", "10")
    assert Decimal(row["pchs_avg_pric"]) == holding.avg_price
    assert body["output2"][0]["dnca_tot_amt"] == str(venue.book.deposit_krw)


async def test_balance_when_more_rows_than_a_page_then_f_then_e_with_the_context_sent_back_unstripped(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", page_sizes={"balance": 1})
    try:
        session = await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            await kis.order(qty="1")
            await kis.order(symbol=KODEX, qty="1")
            await venue.run_until_close(session)
            first = await kis.balance()
            page1 = first.json()
            second = await kis.balance(fk=page1["ctx_area_fk100"], nk=page1["ctx_area_nk100"], tr_cont="N")
    finally:
        await sim.stop()

    assert first.headers["tr_cont"] == "F" and second.headers["tr_cont"] == "E"
    assert [r["pdno"] for r in page1["output1"] + second.json()["output1"]] == [SAMSUNG, KODEX]
    assert page1["ctx_area_nk100"].strip() != "" and second.json()["ctx_area_nk100"] == " " * 100


async def test_daily_ccld_when_real_then_rows_have_the_samples_keys_and_totals(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="real")
    try:
        session = await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            await kis.order("TTTC0012U", qty="7")
            await kis.order("TTTC0012U", symbol=KODEX, dvsn="00", price="30000", qty="2")
            await venue.run_until_close(session)
            response = await kis.daily_ccld("TTTC0081R")
            old_tr = await kis.daily_ccld("TTTC8001R")
    finally:
        await sim.stop()

    body, real = response.json(), sample("rest-inquire-daily-ccld-200-real.json")
    assert list(body) == list(real) and body["msg_cd"] == real["msg_cd"] and body["msg1"] == real["msg1"]
    assert [set(row) for row in body["output1"]] == [set(real["output1"][0])] * 2
    assert set(body["output2"]) == set(real["output2"])
    filled, expired = body["output1"]
    fill = venue.book.fills()[0]
    assert (filled["odno"], filled["tot_ccld_qty"], filled["avg_prvs"]) == ("0000000001", "7", str(fill.price))
    assert (filled["ord_dvsn_cd"], filled["ord_dvsn_name"], filled["ordr_empno"]) == ("01", "시장가", "OpnAPI")
    assert (expired["pdno"], expired["tot_ccld_qty"], expired["cncl_cfrm_qty"]) == (KODEX, "0", "2")
    assert body["output2"]["tot_ccld_qty"] == "7" and body["output2"]["tot_ord_qty"] == "9"
    assert old_tr.json()["output1"] == body["output1"]


async def test_daily_ccld_when_paged_then_every_row_once_and_a_change_between_pages_is_sydb0050(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", page_sizes={"daily_ccld": 2})
    try:
        await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            for price in ("60000", "60100", "60200"):
                await kis.order(dvsn="00", price=price, qty="1")
            first = await kis.daily_ccld()
            ctx = first.json()
            second = await kis.daily_ccld(fk=ctx["ctx_area_fk100"], nk=ctx["ctx_area_nk100"], tr_cont="N")
            again = await kis.daily_ccld()
            await kis.order(dvsn="00", price="60300", qty="1")
            stale = await kis.daily_ccld(
                fk=again.json()["ctx_area_fk100"], nk=again.json()["ctx_area_nk100"], tr_cont="N"
            )
            missing_ctx = await kis.get(
                "trading/inquire-daily-ccld",
                "VTTC0081R",
                {
                    "CANO": CANO,
                    "ACNT_PRDT_CD": PRDT,
                    "INQR_STRT_DT": "20231220",
                    "INQR_END_DT": "20231220",
                    "SLL_BUY_DVSN_CD": "00",
                    "CCLD_DVSN": "00",
                    "INQR_DVSN": "01",
                },
            )
    finally:
        await sim.stop()

    assert (first.headers["tr_cont"], second.headers["tr_cont"]) == ("F", "E")
    odnos = [r["odno"] for r in ctx["output1"] + second.json()["output1"]]
    assert odnos == ["0000000001", "0000000002", "0000000003"]
    assert second.json()["output2"]["tot_ord_qty"] == "3"
    assert stale.status_code == 200
    assert stale.json() == {
        "rt_cd": "7",
        "msg_cd": "SYDB0050",
        "msg1": "조회이후에 자료가 변경되었습니다.(다시 조회하세요)",
    }
    assert missing_ctx.status_code == 500 and missing_ctx.json()["msg_cd"] == "OPSQ2001"


async def test_daily_ccld_when_filtered_then_only_matching_rows_newest_first_by_default(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    await client.order(dvsn="00", price="60000", qty="1")
    await client.order(symbol=KODEX, dvsn="00", price="30000", qty="1")

    newest = (await client.daily_ccld(INQR_DVSN="00")).json()["output1"]
    by_symbol = (await client.daily_ccld(PDNO=KODEX)).json()["output1"]
    by_number = (await client.daily_ccld(ODNO="1")).json()["output1"]
    unfilled = (await client.daily_ccld(CCLD_DVSN="02")).json()["output1"]
    filled = (await client.daily_ccld(CCLD_DVSN="01")).json()["output1"]
    other_day = (await client.daily_ccld(day="20231221")).json()["output1"]

    assert [r["odno"] for r in newest] == ["0000000002", "0000000001"]
    assert [r["pdno"] for r in by_symbol] == [KODEX]
    assert [r["odno"] for r in by_number] == ["0000000001"]
    assert len(unfilled) == 2 and filled == [] and other_day == []


async def test_psbl_order_when_a_buy_is_working_then_orderable_cash_excludes_its_reservation(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    await client.order(dvsn="00", price="60000", qty="10")
    params = {
        "CANO": CANO,
        "ACNT_PRDT_CD": PRDT,
        "PDNO": SAMSUNG,
        "ORD_UNPR": "70000",
        "ORD_DVSN": "00",
        "CMA_EVLU_AMT_ICLD_YN": "N",
        "OVRS_ICLD_YN": "N",
    }

    response = await client.get("trading/inquire-psbl-order", "VTTC8908R", params)

    output = response.json()["output"]
    assert Decimal(output["ord_psbl_cash"]) == venue.book.orderable_krw < venue.book.deposit_krw
    assert output["psbl_qty_calc_unpr"] == "70000"
    assert Decimal(output["nrcvb_buy_qty"]) == (venue.book.orderable_krw // Decimal("70009.84"))


async def test_psbl_rvsecncl_when_paper_then_service_not_found_and_on_real_lists_working_orders(
    client: KisClient, venue: SimBroker, wall: WallClock
) -> None:
    params = {
        "CANO": CANO,
        "ACNT_PRDT_CD": PRDT,
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
        "INQR_DVSN_1": "0",
        "INQR_DVSN_2": "0",
    }
    on_paper = await client.get("trading/inquire-psbl-rvsecncl", "VTTC0084R", params)
    await client.sim.stop()
    sim = await start_sim(venue, wall, mode="real")
    try:
        await open_session(venue)
        async with KisClient(sim) as kis:
            await kis.login()
            await kis.order("TTTC0012U", dvsn="00", price="60000", qty="3")
            response = await kis.get("trading/inquire-psbl-rvsecncl", "TTTC0084R", params)
    finally:
        await sim.stop()

    assert on_paper.status_code == 500 and on_paper.json()["msg_cd"] == "MCA00124"
    (row,) = response.json()["output"]
    assert (row["odno"], row["psbl_qty"], row["ord_unpr"]) == ("0000000001", "3", "60000")


async def test_price_when_session_trades_then_last_print_base_limits_and_tick(
    client: KisClient, venue: SimBroker
) -> None:
    session = await open_session(venue)
    before = (
        await client.get(
            "quotations/inquire-price", "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SAMSUNG}
        )
    ).json()["output"]
    await venue.run_until_close(session)
    after = await client.get(
        "quotations/inquire-price", "FHKST01010100", {"fid_cond_mrkt_div_code": "J", "fid_input_iscd": SAMSUNG}
    )

    quote = await venue.get_price(SAMSUNG)
    output = after.json()["output"]
    assert after.json()["msg_cd"] == "MCA00000"
    assert before["stck_prpr"] == before["stck_sdpr"] == str(quote.base_price)
    assert output["stck_prpr"] == str(quote.price) and output["stck_sdpr"] == str(quote.base_price)
    limits = price_limits(quote.base_price)
    assert (output["stck_mxpr"], output["stck_llam"]) == (str(limits.upper), str(limits.lower))
    assert output["aspr_unit"] == "100" and int(output["acml_vol"]) > 0
    assert int(output["stck_lwpr"]) <= int(output["stck_prpr"]) <= int(output["stck_hgpr"])


async def test_price_when_symbol_not_replayed_then_refused(client: KisClient) -> None:
    response = await client.get(
        "quotations/inquire-price", "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "000001"}
    )

    assert response.json()["rt_cd"] == "1"


async def test_daily_chart_when_asked_then_newest_first_at_most_100_and_never_the_replay_day(
    client: KisClient, venue: SimBroker
) -> None:
    await open_session(venue)
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": SAMSUNG,
        "FID_INPUT_DATE_1": "20200101",
        "FID_INPUT_DATE_2": "20231231",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }

    response = await client.get("quotations/inquire-daily-itemchartprice", "FHKST03010100", params)
    weekly = await client.get(
        "quotations/inquire-daily-itemchartprice", "FHKST03010100", {**params, "FID_PERIOD_DIV_CODE": "W"}
    )

    rows = response.json()["output2"]
    dates = [row["stck_bsop_date"] for row in rows]
    assert len(rows) == 100 and dates == sorted(dates, reverse=True)
    assert dates[0] == "20231219"  # the day before the replay's current session
    bars = await venue.get_daily_bars(SAMSUNG, venue.clock.now().date(), 1)
    assert rows[0]["stck_clpr"] == str(bars[-1].close)
    assert response.json()["output1"]["stck_shrn_iscd"] == SAMSUNG
    assert weekly.json()["rt_cd"] == "1"


@pytest.mark.parametrize(("first", "last"), [("19800101", "19800301"), ("20231231", "20231201")])
async def test_daily_chart_when_the_window_has_no_bar_then_an_empty_list_as_at_kis_never_a_500(
    client: KisClient, venue: SimBroker, first: str, last: str
) -> None:
    # Before the bundled data begins, and a reversed window: both hold no bar.
    await open_session(venue)
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": SAMSUNG,
        "FID_INPUT_DATE_1": first,
        "FID_INPUT_DATE_2": last,
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }

    response = await client.get("quotations/inquire-daily-itemchartprice", "FHKST03010100", params)

    assert response.status_code == 200, response.text
    assert response.json()["rt_cd"] == "0" and response.json()["output2"] == []
