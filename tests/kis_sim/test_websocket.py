"""The simulated KIS WebSocket: approval keys, one session per app key, 41 registrations, acks with a fresh
key/iv per session, H0STCNT0 trade frames, encrypted notices, PINGPONG, lockstep counting."""

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from stock_manager.adapters.broker.kis_sim import KisExchangeSimulator
from stock_manager.adapters.broker.kis_sim.frames import TRADE_FIELDS
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.domain.market import Tick
from stock_manager.localtime import KST

from .conftest import KODEX, SAMSUNG, KisClient, WallClock, open_session, start_sim, ws_connect


async def test_subscribe_when_approval_key_valid_then_ack_with_key_iv_and_duplicate_is_benign(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    ws = await ws_connect(sim, await client.approval_key(), path="/anything/at/all")

    ack = await ws.subscribe("H0STCNT0", SAMSUNG)
    notice_ack = await ws.subscribe("H0STCNI9", client.credential.hts_id)
    duplicate = await ws.subscribe("H0STCNT0", SAMSUNG)

    assert ack["header"] == {"tr_id": "H0STCNT0", "tr_key": SAMSUNG, "encrypt": "N"}
    assert ack["body"]["rt_cd"] == "0" and ack["body"]["msg1"] == "SUBSCRIBE SUCCESS"
    assert len(ack["body"]["output"]["key"]) == 32 and len(ack["body"]["output"]["iv"]) == 16
    assert notice_ack["header"]["encrypt"] == "Y" and notice_ack["body"]["output"] == ack["body"]["output"]
    assert duplicate["body"] == {"rt_cd": "1", "msg_cd": "OPSP0002", "msg1": "ALREADY IN SUBSCRIBE"}
    await ws.conn.close()


async def test_subscribe_when_approval_key_unknown_then_refused(sim: KisExchangeSimulator) -> None:
    ws = await ws_connect(sim, "not-a-key")

    ack = await ws.subscribe("H0STCNT0", SAMSUNG)

    assert ack["body"]["rt_cd"] == "9" and ack["body"]["msg1"] == "INVALID APPROVAL KEY"
    await ws.conn.close()


async def test_subscribe_when_42nd_registration_then_max_subscribe_over(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    ws = await ws_connect(sim, await client.approval_key())
    acks = [await ws.subscribe("H0STCNT0", f"{n:06d}") for n in range(41)]

    refused = await ws.subscribe("H0STCNT0", "999999")
    await ws.subscribe("H0STCNT0", "000000", tr_type="2")
    after_unsubscribe = await ws.subscribe("H0STCNT0", "999999")

    assert all(ack["body"]["rt_cd"] == "0" for ack in acks)
    assert refused["body"] == {"rt_cd": "1", "msg_cd": "OPSP0008", "msg1": "MAX SUBSCRIBE OVER"}
    assert after_unsubscribe["body"]["rt_cd"] == "0"
    await ws.conn.close()


async def test_session_when_second_connection_uses_the_same_appkey_then_already_in_use_and_closed(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    first = await ws_connect(sim, await client.approval_key())
    await first.subscribe("H0STCNT0", SAMSUNG)
    second = await ws_connect(sim, await client.approval_key())

    refused = await second.subscribe("H0STCNT0", KODEX)

    assert refused == {
        "header": {"tr_id": "(null)", "tr_key": "", "encrypt": "N"},
        "body": {"rt_cd": "9", "msg_cd": "OPSP8996", "msg1": "ALREADY IN USE appkey"},
    }
    with pytest.raises(ConnectionClosed):
        await second.recv()
    assert (await first.subscribe("H0STCNT0", KODEX))["body"]["rt_cd"] == "0"
    await first.conn.close()


async def test_notice_tr_when_of_the_other_environment_then_refused(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    ws = await ws_connect(sim, await client.approval_key())

    ack = await ws.subscribe("H0STCNI0", client.credential.hts_id)

    assert ack["body"]["rt_cd"] != "0"
    await ws.conn.close()


async def test_trade_frames_when_replay_plays_then_one_46_field_record_per_print_of_subscribed_codes(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    prints: list[Tick] = []

    async def remember(tick: Tick) -> None:
        prints.append(tick)

    await venue.subscribe_quotes([SAMSUNG], remember)
    session = await open_session(venue)
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNT0", SAMSUNG)

    await venue.run_until_close(session)
    frames = [await ws.recv() for _ in prints]

    assert sim.data_frames_sent == len(prints) > 10
    for tick, frame in zip(prints, frames, strict=True):
        enc, tr_id, count, payload = frame.split("|", 3)
        fields = payload.split("^")
        assert (enc, tr_id, count, len(fields)) == ("0", "H0STCNT0", "001", TRADE_FIELDS)
        assert fields[0] == SAMSUNG and fields[2] == str(tick.price) and fields[12] == str(tick.volume)
        assert fields[1] == tick.ts_event.astimezone(KST).strftime("%H%M%S")
        assert fields[33] == "20231220"
    last = frames[-1].split("|")[3].split("^")
    assert last[13] == str(sum(t.volume for t in prints))
    await ws.conn.close()


async def test_subscriptions_when_connection_drops_then_lost_and_the_new_session_has_a_new_key(
    sim: KisExchangeSimulator, venue: SimBroker, client: KisClient
) -> None:
    key = await client.approval_key()
    first = await ws_connect(sim, key)
    first_ack = await first.subscribe("H0STCNT0", SAMSUNG)

    assert sim.drop_ws_connections() == 1
    with pytest.raises(ConnectionClosed) as closed:
        await first.recv()
    second = await ws_connect(sim, key)
    session = await open_session(venue)
    await venue.run_until_close(session)

    assert closed.value.rcvd is None  # no close frame: the client sees 1006
    assert sim.data_frames_sent == 0
    second_ack = await second.subscribe("H0STCNT0", SAMSUNG)
    assert second_ack["body"]["output"] != first_ack["body"]["output"]
    await second.conn.close()


async def test_pingpong_when_interval_elapses_then_sent_and_every_reply_style_is_tolerated(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", pingpong_interval_secs=0.05)
    try:
        async with KisClient(sim) as kis:
            ws = await ws_connect(sim, await kis.approval_key())
            ping = json.loads(await ws.recv())
            await ws.conn.send(json.dumps(ping))  # text echo
            await ws.conn.pong(b"x")  # pong frame
            await ws.conn.ping(b"x")  # ping frame
            await ws.conn.send(
                json.dumps(
                    {
                        "header": {
                            "approval_key": await kis.approval_key(),
                            "custtype": "P",
                            "tr_type": "1",
                            "content-type": "utf-8",
                        },
                        "body": {"input": {"tr_id": "H0STCNT0", "tr_key": SAMSUNG}},
                    }
                )
            )
            later = [json.loads(await ws.recv()) for _ in range(3)]
            await ws.conn.close()
    finally:
        await sim.stop()

    assert ping == {"header": {"tr_id": "PINGPONG", "datetime": "20250515090000"}}  # wall clock, KST
    assert sim.hub.sessions_opened == 1
    kinds = [message["header"]["tr_id"] for message in later]
    assert "H0STCNT0" in kinds and "PINGPONG" in kinds  # still served after every reply style


async def test_lockstep_when_after_broadcast_given_then_awaited_after_each_venue_event(
    venue: SimBroker, wall: WallClock
) -> None:
    seen: list[int] = []
    sim: KisExchangeSimulator | None = None

    async def after() -> None:
        assert sim is not None
        seen.append(sim.data_frames_sent)

    sim = await start_sim(venue, wall, mode="paper", after_broadcast=after)
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            ws = await ws_connect(sim, await kis.approval_key())
            await ws.subscribe("H0STCNT0", SAMSUNG)
            await ws.subscribe("H0STCNI9", kis.credential.hts_id)
            session = await open_session(venue)
            await kis.order(qty="1")
            playing = asyncio.create_task(venue.run_until_close(session))
            received = 0
            while not playing.done() or received < sim.data_frames_sent:
                try:
                    await ws.recv(0.2)
                except TimeoutError:
                    continue
                received += 1
            await playing
            await ws.conn.close()
    finally:
        await sim.stop()

    assert received == sim.data_frames_sent
    prints = len(venue._playback.day_prints(session))  # every print of both codes is a venue event
    assert len(seen) == prints + 1  # + the fill
    assert seen[:2] == [2, 3]  # the fill (acceptance + fill notice sent), then its print's trade frame
    assert seen == sorted(seen)


async def test_websocket_when_simulator_stops_then_clients_are_closed(
    sim: KisExchangeSimulator, client: KisClient
) -> None:
    ws = await ws_connect(sim, await client.approval_key())
    await ws.subscribe("H0STCNT0", SAMSUNG)

    await sim.stop()

    with pytest.raises(ConnectionClosed):
        await ws.recv()
    with pytest.raises(OSError):
        await websockets.connect(sim.ws_url, open_timeout=1)
    await asyncio.sleep(0)


async def test_approval_key_when_it_expires_during_a_session_then_the_session_keeps_subscribing(
    sim: KisExchangeSimulator, client: KisClient, wall: WallClock
) -> None:
    key = await client.approval_key()
    ws = await ws_connect(sim, key)
    await ws.subscribe("H0STCNT0", SAMSUNG)

    wall.tick(25 * 3600)
    same_session = await ws.subscribe("H0STCNT0", KODEX)
    await ws.conn.close()
    new_session = await ws_connect(sim, key)
    refused = await new_session.subscribe("H0STCNT0", SAMSUNG)

    assert same_session["body"]["rt_cd"] == "0"
    assert refused["body"]["rt_cd"] == "9" and refused["body"]["msg1"] == "INVALID APPROVAL KEY"
    await new_session.conn.close()
