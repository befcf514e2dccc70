"""Specifications of the WebSocket side of `KisBroker` against a loopback server (real sockets): ticks and
notices to the handlers, PINGPONG echo, malformed frames skipped, duplicates dropped, the 41 budget,
reconnect with resubscription and `StreamResumed`, a new approval key when refused, lockstep counting."""

import asyncio
import json
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.kis import KisBroker
from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError, TemporaryBrokerError
from stock_manager.service_layer.ports.broker import FillReport, StreamResumed
from tests.kis.fake_kis import FakeKis
from tests.kis.fake_ws import FakeKisWs
from tests.kis.support import SAMPLES, WallClock, config, sample
from tests.kis.test_ws_frames import encrypt, notice_fields

TRADES = (SAMPLES / "ws-frame-H0STCNT0-4records.txt").read_text(encoding="utf-8").strip()
PING = json.dumps(sample("ws-system-messages.json")["messages"][0]["frame"])


async def until(condition, timeout_secs: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - polls state the server and adapter change
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout_secs)


@pytest.fixture
async def server():
    ws = FakeKisWs()
    await ws.start()
    yield ws
    await ws.stop()


@pytest.fixture
def rest() -> FakeKis:
    return FakeKis()


class CountingKis(KisBroker):
    """The adapter with the frames it handled counted (the hook an in-process simulator's lockstep uses)."""

    frames: HandledFrames


def make_broker(server: FakeKisWs, rest: FakeKis, **overrides) -> CountingKis:
    from datetime import UTC, datetime

    market = FixedClock(datetime(2025, 6, 2, 0, 0, tzinfo=UTC))
    frames = HandledFrames()
    kis = CountingKis(
        config(None, ws_url=server.url, **overrides),
        clock=WallClock(),
        market_clock=market,
        cost_model=krx_cost_model(),
        transport=rest.transport(),
        sleep=asyncio.sleep,
        on_frame_handled=frames,
    )
    kis.frames = frames
    return kis


async def test_trade_frame_reaches_the_symbol_handler_and_counts_once(server, rest):
    kis = make_broker(server, rest)
    ticks = []

    async def on_tick(tick):
        ticks.append(tick)

    await kis.subscribe_quotes(["000100", "005930"], on_tick)
    await until(lambda: len(server.received) == 2)
    await server.send(TRADES)
    await kis.frames.wait_for(1)

    assert [t.price for t in ticks] == [Decimal(73000), Decimal(73000), Decimal(72900), Decimal(72900)]
    assert kis.frames.count == 1
    first = server.received[0]
    assert first["header"]["approval_key"].startswith("approval-")
    assert first["header"] | {} == {
        "approval_key": first["header"]["approval_key"],
        "custtype": "P",
        "tr_type": "1",
        "content-type": "utf-8",
    }
    assert [m["body"]["input"] for m in server.received] == [
        {"tr_id": "H0STCNT0", "tr_key": "000100"},
        {"tr_id": "H0STCNT0", "tr_key": "005930"},
    ]
    await kis.close()


async def test_pingpong_is_echoed_verbatim(server, rest):
    kis = make_broker(server, rest)
    await kis.subscribe_quotes(["005930"], lambda tick: asyncio.sleep(0))
    await until(lambda: server.received)

    await server.send(PING)
    await until(lambda: PING in server.texts)

    assert kis.websocket.pings_answered == 1
    await kis.close()


async def test_fill_notice_is_decrypted_with_the_ack_key_and_delivered(server, rest):
    kis = make_broker(server, rest)
    events = []

    async def on_event(event):
        events.append(event)

    await kis.subscribe_order_events(on_event)
    await until(lambda: "H0STCNI9" in server.keys)
    key, iv = server.keys["H0STCNI9"]
    await server.send("1|H0STCNI9|001|" + encrypt("^".join(notice_fields()), key, iv))
    await kis.frames.wait_for(1)

    [event] = events
    assert isinstance(event, FillReport)
    assert event.fill.broker_fill_id == "notice:20250602:0000011774:093012:1@71500"
    assert server.received[0]["body"]["input"] == {"tr_id": "H0STCNI9", "tr_key": "testhts"}
    await kis.close()


async def test_exact_duplicate_notice_is_dropped_and_notice_of_another_account_ignored(server, rest):
    kis = make_broker(server, rest)
    events = []

    async def on_event(event):
        events.append(event)

    await kis.subscribe_order_events(on_event)
    await until(lambda: "H0STCNI9" in server.keys)
    key, iv = server.keys["H0STCNI9"]
    frame = "1|H0STCNI9|001|" + encrypt("^".join(notice_fields()), key, iv)
    await server.send(frame)
    await server.send(frame)
    await server.send("1|H0STCNI9|001|" + encrypt("^".join(notice_fields(ACNT_NO="9999999901")), key, iv))
    await kis.frames.wait_for(3)

    assert len(events) == 1 and kis.duplicates_dropped == 1
    await kis.close()


async def test_malformed_frames_are_skipped_and_the_session_goes_on(server, rest):
    kis = make_broker(server, rest)
    ticks = []

    async def on_tick(tick):
        ticks.append(tick)

    await kis.subscribe_quotes(["000100"], on_tick)
    await until(lambda: server.received)
    for bad in [
        "0|H0STCNT0|002|1^2^3",
        "0|H0STCNT0",
        "1|H0STCNI9|001|!!notbase64",
        "{not json",
        "0|H0STCNT0|001|" + "^".join(["000100", "999999", "x"] + ["0"] * 43),
    ]:
        await server.send(bad)
    await server.send(TRADES)
    await until(lambda: len(ticks) == 4)

    assert kis.frames.count == 5  # the JSON-looking garbage is no data frame
    assert kis.websocket.connections == 1
    await kis.close()


async def test_registrations_beyond_the_budget_are_a_configuration_error(server, rest):
    kis = make_broker(server, rest)
    symbols = [f"{i:06d}" for i in range(42)]

    with pytest.raises(ConfigurationError, match="41"):
        await kis.subscribe_quotes(symbols, lambda tick: asyncio.sleep(0))
    await kis.subscribe_quotes(symbols[:40], lambda tick: asyncio.sleep(0))
    with pytest.raises(ConfigurationError, match="40 are in use"):
        await kis.subscribe_quotes(["999999", "999998"], lambda tick: asyncio.sleep(0))
    await kis.subscribe_order_events(lambda event: asyncio.sleep(0))
    await until(lambda: len(server.received) == 41)

    assert len(kis.websocket.registrations) == 41
    await kis.close()


async def test_drop_reconnects_resubscribes_everything_and_resumes(server, rest):
    kis = make_broker(server, rest)
    events, ticks = [], []

    async def on_event(event):
        events.append(event)

    async def on_tick(tick):
        ticks.append(tick)

    await kis.subscribe_quotes(["000100"], on_tick)
    await kis.subscribe_order_events(on_event)
    await until(lambda: len(server.received) == 2)
    old_keys = server.keys["H0STCNI9"]

    await server.drop()
    await until(lambda: len(server.received) == 4)
    await until(lambda: events)

    [resumed] = events
    assert isinstance(resumed, StreamResumed) and resumed.gap_secs >= 0
    assert [m["body"]["input"]["tr_key"] for m in server.received[2:]] == ["000100", "testhts"]
    assert kis.websocket.connections == 2
    key, iv = server.keys["H0STCNI9"]
    assert (key, iv) != old_keys
    await server.send("1|H0STCNI9|001|" + encrypt("^".join(notice_fields()), key, iv))
    await server.send(TRADES)
    await until(lambda: len(events) == 2 and len(ticks) == 4)
    assert isinstance(events[1], FillReport)
    await kis.close()


async def test_refused_approval_key_is_renewed_on_reconnect(server, rest):
    kis = make_broker(server, rest)
    first_key = await kis.tokens.approval_key()
    server.refused_keys.add(first_key)

    await kis.subscribe_quotes(["005930"], lambda tick: asyncio.sleep(0))
    await until(lambda: kis.websocket.connections == 2 and len(server.received) == 2)

    assert server.received[1]["header"]["approval_key"] != first_key
    assert len(rest.calls("/oauth2/Approval")) == 2
    await kis.close()


async def test_unreachable_websocket_is_temporary(rest):
    kis = KisBroker(
        config(None, ws_url="ws://127.0.0.1:9"),
        clock=WallClock(),
        cost_model=krx_cost_model(),
        transport=rest.transport(),
    )

    with pytest.raises(TemporaryBrokerError, match="WebSocket"):
        await kis.subscribe_quotes(["005930"], lambda tick: asyncio.sleep(0))
    await kis.close()


async def test_frame_counted_as_handled_only_after_a_slow_handler_returns(server, rest):
    kis = make_broker(server, rest)
    release = asyncio.Event()

    async def slow(tick):
        await release.wait()

    await kis.subscribe_quotes(["000100"], slow)
    await until(lambda: server.received)
    await server.send(TRADES)
    waiter = asyncio.create_task(kis.frames.wait_for(1))
    await asyncio.sleep(0.05)
    assert not waiter.done()

    release.set()
    await asyncio.wait_for(waiter, 5)
    await kis.close()
