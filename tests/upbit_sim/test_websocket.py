"""The simulator's WebSocket (§5, pitfalls 8–10, 14): binary data frames, SNAPSHOT then REALTIME, a new request
replacing the set, LIST_SUBSCRIPTIONS, request errors, private authentication, ``PING`` → ``{"status":"UP"}``,
idle close after the idle timeout, and the adapter's stream kept alive, resumed and deduplicated."""

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit.auth import UpbitAuth
from stock_manager.adapters.broker.upbit_sim import DEFAULT_KEY, UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import FillReport, OrderRequest, StreamResumed
from tests.upbit_sim.support import BTC, Recorder, make_adapter, make_venue, settle


async def _frame(ws: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), 5.0)


async def _json(ws: ClientConnection) -> Any:
    frame = await _frame(ws)
    return json.loads(frame)


@pytest.fixture
async def keepalive_sim(venue: SimBroker) -> AsyncIterator[UpbitExchangeSimulator]:
    server = UpbitExchangeSimulator(
        venue, wall_clock=SystemClock(), rate_limits=None, idle_timeout_secs=0.4, status_up_interval_secs=0.1
    )
    await server.start()
    yield server
    await server.stop()


async def test_public_stream_when_subscribed_then_binary_snapshot_then_realtime_trades_and_tickers(
    sim: UpbitExchangeSimulator,
):
    session = await anext(aiter(sim.venue.sessions()))
    async with websockets.connect(sim.ws_public_url) as ws:
        await ws.send(
            json.dumps(
                [
                    {"ticket": "t-1"},
                    {"type": "ticker", "codes": ["krw-btc"]},
                    {"type": "trade", "codes": ["KRW-BTC"], "isOnlyRealtime": True},
                ]
            )
        )
        snapshot = await _frame(ws)
        await sim.venue.run_until_close(session)
        frames = [await _frame(ws) for _ in range(2 * 192)]

    assert isinstance(snapshot, bytes)
    assert (json.loads(snapshot)["type"], json.loads(snapshot)["stream_type"]) == ("ticker", "SNAPSHOT")
    assert all(isinstance(f, bytes) for f in frames)
    messages = [json.loads(f) for f in frames]
    assert [m["type"] for m in messages] == ["trade", "ticker"] * 192
    assert {m["stream_type"] for m in messages} == {"REALTIME"}
    assert messages[0]["trade_price"] == 85_911_000 and messages[0]["trade_date"] == "2024-03-01"


async def test_simple_format_when_asked_then_abbreviated_keys_and_list_formats_wrap_messages(
    sim: UpbitExchangeSimulator,
):
    await anext(aiter(sim.venue.sessions()))
    async with websockets.connect(sim.ws_public_url) as ws:
        await ws.send(json.dumps([{"ticket": "s"}, {"type": "ticker", "codes": [BTC]}, {"format": "SIMPLE"}]))
        simple = await _json(ws)
        await ws.send(json.dumps([{"ticket": "l"}, {"type": "ticker", "codes": [BTC]}, {"format": "JSON_LIST"}]))
        listed = await _json(ws)

    assert (simple["ty"], simple["cd"], simple["tp"], simple["st"]) == ("ticker", BTC, 85_910_000, "SNAPSHOT")
    assert isinstance(listed, list) and listed[0]["type"] == "ticker"


async def test_requests_when_replaced_listed_or_malformed_then_the_new_set_the_list_and_named_errors(
    sim: UpbitExchangeSimulator,
):
    async with websockets.connect(sim.ws_public_url) as ws:
        await ws.send(json.dumps([{"ticket": "a"}, {"type": "ticker", "codes": ["KRW-BTC"], "is_only_realtime": True}]))
        await ws.send(
            json.dumps(
                [
                    {"ticket": "b"},
                    {"type": "trade", "codes": ["KRW-BTC.5"], "is_only_realtime": True},
                    {"format": "SIMPLE"},
                ]
            )
        )
        await ws.send(json.dumps([{"ticket": "c"}, {"method": "LIST_SUBSCRIPTIONS"}]))
        listed = await _json(ws)
        errors = []
        for request in (
            [{"type": "trade", "codes": ["KRW-BTC"]}],
            [{"ticket": "d"}, {"type": "trade"}],
            [{"ticket": "e"}],
            "not json",
            [{"ticket": "f"}, {"type": "myOrder"}],
        ):
            await ws.send(request if isinstance(request, str) else json.dumps(request))
            errors.append((await _json(ws))["error"]["name"])

    assert listed == {
        "method": "LIST_SUBSCRIPTIONS",
        "result": [{"type": "trade", "codes": ["KRW-BTC"]}],
        "ticket": "c",
    }
    assert errors == ["NO_TICKET", "NO_CODES", "NO_TYPE", "WRONG_FORMAT", "INVALID_PARAM"]


async def test_private_stream_when_unauthenticated_or_asking_myasset_codes_then_refused(sim: UpbitExchangeSimulator):
    async with websockets.connect(sim.ws_private_url) as anonymous:
        refused = await _json(anonymous)
        await asyncio.wait_for(anonymous.wait_closed(), 5)
    auth = UpbitAuth(DEFAULT_KEY.access_key, DEFAULT_KEY.secret_key)
    async with websockets.connect(
        sim.ws_private_url, additional_headers={"Authorization": auth.websocket_authorization()}
    ) as ws:
        await ws.send(json.dumps([{"ticket": "p"}, {"type": "myAsset", "codes": ["KRW-BTC"]}]))
        wrong = await _json(ws)

    assert refused["error"]["name"] == "INVALID_AUTH"
    assert wrong["error"]["name"] == "WRONG_FORMAT"


async def test_private_stream_when_an_order_is_placed_and_filled_then_wait_trade_done_and_my_asset(
    sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(sim)
    session = await anext(aiter(sim.venue.sessions()))
    auth = UpbitAuth(DEFAULT_KEY.access_key, DEFAULT_KEY.secret_key)
    async with websockets.connect(
        sim.ws_private_url, additional_headers={"Authorization": auth.websocket_authorization()}
    ) as ws:
        await ws.send(json.dumps([{"ticket": "p"}, {"type": "myOrder", "codes": [BTC]}, {"type": "myAsset"}]))
        await asyncio.sleep(0.05)
        await adapter.place_order(
            OrderRequest(
                adapter.account_id, BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), Decimal(88_000_000), "priv-1"
            )
        )
        await sim.venue.run_until_close(session)
        messages = [await _json(ws) for _ in range(5)]

    assert [(m["type"], m.get("state")) for m in messages] == [
        ("myOrder", "wait"),
        ("myAsset", None),
        ("myOrder", "trade"),
        ("myOrder", "done"),
        ("myAsset", None),
    ]
    trade = messages[2]
    assert (trade["volume"], trade["price"], trade["identifier"]) == (0.01, 85_911_000, "priv-1")
    assert trade["trade_fee"] == 429.555 and trade["trade_uuid"]
    assets = {a["currency"]: a for a in messages[4]["assets"]}
    assert assets["BTC"]["balance"] == 0.01
    await adapter.close()


async def test_keepalive_when_text_ping_then_status_up_repeated_and_a_silent_socket_closed_when_idle(
    keepalive_sim: UpbitExchangeSimulator,
):
    async with websockets.connect(keepalive_sim.ws_public_url, ping_interval=None) as pinging:
        await pinging.send("PING")
        ups = [await _frame(pinging) for _ in range(3)]  # the answer, then one every 0.1 s
    async with websockets.connect(keepalive_sim.ws_public_url, ping_interval=None) as silent:
        await asyncio.wait_for(silent.wait_closed(), 2)

    assert ups == ['{"status":"UP"}'] * 3
    assert keepalive_sim.hub.idle_closes >= 1


async def test_adapter_stream_when_idle_timeout_is_short_then_its_keepalive_holds_one_connection(
    keepalive_sim: UpbitExchangeSimulator,
):
    adapter = make_adapter(keepalive_sim, config={"ping_interval_secs": 0.1, "pong_timeout_secs": 1.0})
    await adapter.subscribe_order_events(Recorder().on_event)

    await asyncio.sleep(1.2)  # three idle timeouts

    assert adapter.streams.private is not None
    assert adapter.streams.private.connections == 1 and keepalive_sim.hub.idle_closes == 0
    assert adapter.streams.private.pings_sent >= 1
    await adapter.close()


async def test_adapter_stream_when_dropped_duplicated_and_delayed_then_resumed_and_each_trade_once(tmp_path: Path):
    venue = make_venue(tmp_path / "thin", participation=Decimal("0.005"))
    sim = UpbitExchangeSimulator(venue, wall_clock=SystemClock(), rate_limits=None)
    await sim.start()
    frames = HandledFrames()
    adapter = make_adapter(sim, frames)
    recorder = Recorder()
    await adapter.subscribe_order_events(recorder.on_event)
    session = await anext(aiter(sim.venue.sessions()))
    sim.drop_ws_connections()
    for _ in range(100):
        if recorder.of(StreamResumed):
            break
        await asyncio.sleep(0.05)
    sim.faults.duplicate_my_order_events = True
    sim.faults.my_order_delay_secs = 0.05
    await adapter.place_order(
        OrderRequest(adapter.account_id, BTC, Side.BUY, OrderType.LIMIT, Decimal(1), Decimal(88_000_000), "ws-1")
    )

    await sim.venue.run_until_close(session)
    await asyncio.sleep(0.2)  # the delayed events
    await settle(frames, sim)

    fills = recorder.of(FillReport)
    trade_ids = [f.fill.broker_fill_id for f in fills]
    assert len(recorder.of(StreamResumed)) == 1
    assert len(trade_ids) > 1 and len(set(trade_ids)) == len(trade_ids)
    assert adapter.streams.duplicates_dropped == len(trade_ids)
    assert sum(f.fill.quantity for f in fills) == 1
    assert {f.fill.broker_fill_id for f in fills} == {
        f.broker_fill_id for f in await adapter.get_fills(adapter.account_id, session.trading_date)
    }
    await adapter.close()
    await sim.stop()
    await venue.close()
