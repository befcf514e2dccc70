"""Fault knobs of the simulator: dropped WebSockets, orders executed but never answered, random 500 and
EGW00201, the per-appkey rate limit, duplicate and late fill notices, rejection after acceptance."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from stock_manager.adapters.broker.kis_sim import FaultKnobs, KisExchangeSimulator
from stock_manager.adapters.broker.sim import SimBroker

from .conftest import SAMSUNG, KisClient, WallClock, open_session, start_sim, unpad, ws_connect

SAMPLES = Path(__file__).parent.parent / "kis_samples"


async def price_call(kis: KisClient) -> httpx.Response:
    return await kis.get(
        "quotations/inquire-price", "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SAMSUNG}
    )


async def test_drop_when_triggered_then_every_session_closes_abnormally_and_reconnecting_works(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    key = await client.approval_key()
    ws = await ws_connect(sim, key)
    await ws.subscribe("H0STCNT0", SAMSUNG)

    dropped = sim.drop_ws_connections()

    with pytest.raises(ConnectionClosed):
        await ws.recv()
    again = await ws_connect(sim, key)
    assert dropped == 1
    assert (await again.subscribe("H0STCNT0", SAMSUNG))["body"]["rt_cd"] == "0"
    await again.conn.close()


@pytest.mark.parametrize("mode", ["hang", "close", "error500"])
async def test_unanswered_order_when_set_then_the_order_is_live_at_the_venue_but_the_request_fails(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient, mode: str
) -> None:
    await open_session(venue)
    sim.faults.unanswered_orders, sim.faults.unanswered_mode = 1, mode

    if mode == "hang":
        with pytest.raises(httpx.ReadTimeout):
            await client.http.post(
                "/uapi/domestic-stock/v1/trading/order-cash",
                timeout=0.3,
                headers=client.headers("VTTC0012U"),
                json={
                    "CANO": client.credential.cano,
                    "ACNT_PRDT_CD": "01",
                    "PDNO": SAMSUNG,
                    "ORD_DVSN": "01",
                    "ORD_QTY": "1",
                    "ORD_UNPR": "0",
                },
            )
    elif mode == "close":
        with pytest.raises(httpx.RemoteProtocolError):
            await client.order(qty="1")
    else:
        response = await client.order(qty="1")
        assert response.status_code == 500 and response.json()["rt_cd"] == "1"
    answered = await client.order(qty="1")
    rows = (await client.daily_ccld()).json()["output1"]

    assert sim.faults.unanswered_orders == 0
    assert answered.json()["output"]["ODNO"] == "2"
    assert [row["odno"] for row in rows] == ["0000000001", "0000000002"]


async def test_random_faults_when_probability_set_then_seeded_and_repeatable_before_any_effect(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    sim.faults.error500_probability, sim.faults.rate_limit_probability, sim.faults.seed = 0.3, 0.3, 7

    async def run() -> list[str]:
        sim.faults.reseed()
        outcomes = []
        for _ in range(20):
            body = (await price_call(client)).json()
            outcomes.append(body["msg_cd"])
        return outcomes

    first, second = await run(), await run()

    assert first == second
    assert {"EGW00001", "EGW00201", "MCA00000"} == set(first)


async def test_random_faults_when_certain_then_orders_are_never_placed(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    await open_session(venue)
    sim.faults.error500_probability = 1.0

    response = await client.order()

    assert response.status_code == 500 and venue.book.orders() == []


async def test_rate_limit_when_exceeded_then_egw00201_in_the_sample_shape_and_recovers_with_time(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", rate_limit_per_sec="by-mode")
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            burst = [await price_call(kis) for _ in range(3)]
            wall.tick(0.5)
            later = await price_call(kis)
    finally:
        await sim.stop()

    expected = unpad(json.loads((SAMPLES / "rest-error-500-EGW00201-rate-limit.json").read_text(encoding="utf-8")))
    assert [r.status_code for r in burst] == [200, 200, 500]
    assert burst[2].json() == expected
    assert later.status_code == 200


async def test_rate_limit_when_real_mode_then_twenty_per_second(venue: SimBroker, wall: WallClock) -> None:
    sim = await start_sim(venue, wall, mode="real", rate_limit_per_sec="by-mode")
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            codes = [(await price_call(kis)).status_code for _ in range(21)]
    finally:
        await sim.stop()

    assert codes.count(200) == 20 and codes[-1] == 500


async def test_fill_notices_when_duplicated_then_each_fill_arrives_twice_identically(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)
    await client.order(qty="1")
    await ws.notice()  # acceptance
    sim.faults.duplicate_fill_notices = True

    await venue.run_until_close(session)
    first, second = await ws.notice(), await ws.notice()

    assert first == second and first[13] == "2"
    assert len(venue.book.fills()) == 1
    await ws.conn.close()


async def test_fill_notices_when_delayed_then_they_arrive_after_later_trade_frames(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)
    await ws.subscribe("H0STCNT0", SAMSUNG)
    await client.order(qty="1")
    await ws.notice()
    sim.faults.fill_notice_delay_secs = 0.3

    await venue.run_until_close(session)
    frames = []
    while not frames or not frames[-1].startswith("1|"):
        frames.append(await ws.recv())

    assert len(frames) > 2 and all(f.startswith("0|H0STCNT0") for f in frames[:-1])
    await ws.conn.close()


async def test_reject_after_accept_when_set_then_http_accepts_and_a_refusal_notice_follows(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNI9", client.credential.hts_id)
    sim.faults.rejected_after_accept = 1

    response = await client.order(qty="1")
    await ws.notice()
    await venue.run_until_close(session)
    refusal = await ws.notice()
    (row,) = (await client.daily_ccld()).json()["output1"]

    assert response.json()["rt_cd"] == "0"
    assert (refusal[2], refusal[12], refusal[13]) == ("0000000001", "1", "1")
    assert venue.book.fills() == []
    assert (row["rjct_qty"], row["cncl_cfrm_qty"], row["tot_ccld_qty"]) == ("1", "0", "0")
    await ws.conn.close()


async def test_faults_when_built_with_knobs_then_the_seed_is_used(venue: SimBroker, wall: WallClock) -> None:
    knobs = FaultKnobs(rate_limit_probability=0.5, seed=3)
    sim = await start_sim(venue, wall, mode="paper", faults=knobs)
    try:
        draws = [knobs.draw_random_fault() for _ in range(10)]
        knobs.reseed()
        again = [knobs.draw_random_fault() for _ in range(10)]
    finally:
        await sim.stop()

    assert draws == again and "rate_limit" in draws and None in draws
    await asyncio.sleep(0)
