"""Specifications of `UpbitWebSocket` against a loopback server (real sockets; upbit-openapi.md §5): binary frames,
the request array, ``PING`` when idle, reconnect with the full subscription and ``on_resumed``, the private
handshake's bearer token, ``INVALID_AUTH`` as fatal."""

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest
import structlog

from stock_manager.adapters.broker.upbit.auth import UpbitAuth
from stock_manager.adapters.broker.upbit.websocket import Subscription, UpbitWebSocket, subscription_request
from stock_manager.adapters.broker.upbit.ws_messages import MyOrderEvent, TickerEvent, TradeEvent, UpbitEvent
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError
from tests.upbit.fake_ws import FakeUpbitWs
from tests.upbit.support import ACCESS_KEY, SECRET_KEY, config, decode_token, ws_frames, ws_message_text

TICKER = ws_message_text("ws_public.jsonl", "ticker, DEFAULT")
TICKER_SIMPLE = ws_message_text("ws_public.jsonl", "same ticker in SIMPLE")
TRADE = ws_message_text("ws_public.jsonl", "trade;")
FILL = ws_message_text("ws_private.jsonl", "fill event")
INVALID_AUTH = ws_message_text("ws_private.jsonl", "missing/invalid Authorization")
WRONG_FORMAT = ws_message_text("ws_public.jsonl", "request-level error")
LIST_ANSWER = json.dumps(
    next(
        f["msg"]
        for f in ws_frames("ws_public.jsonl")
        if isinstance(f.get("msg"), dict) and f["msg"].get("method") == "LIST_SUBSCRIPTIONS"
    )
)
PUBLIC = [Subscription("ticker", ("KRW-BTC",)), Subscription("trade", ("krw-btc",), is_only_realtime=True)]
PRIVATE = [Subscription("myOrder", ("KRW-BTC",)), Subscription("myAsset")]
WAIT_SECS = 5.0  # an upper bound for the loopback round trips, never reached when things work


@pytest.fixture
async def server() -> AsyncIterator[FakeUpbitWs]:
    fake = FakeUpbitWs()
    await fake.start()
    yield fake
    await fake.stop()


class Recorder:
    """Collects what the session hands out."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[UpbitEvent] = asyncio.Queue()
        self.gaps: list[float] = []
        self.resumed = asyncio.Event()
        self.fatal: list[FatalBrokerError] = []
        self.slept: list[float] = []

    async def on_event(self, event: UpbitEvent) -> None:
        self.events.put_nowait(event)

    async def on_resumed(self, gap_secs: float) -> None:
        self.gaps.append(gap_secs)
        self.resumed.set()

    async def on_fatal(self, error: FatalBrokerError) -> None:
        self.fatal.append(error)

    async def sleep(self, secs: float) -> None:
        self.slept.append(secs)
        await asyncio.sleep(0)

    async def next_event(self) -> UpbitEvent:
        return await asyncio.wait_for(self.events.get(), WAIT_SECS)


def session(url: str, recorder: Recorder, subscriptions: list[Subscription] = PUBLIC, **options: Any) -> UpbitWebSocket:
    return UpbitWebSocket(
        url,
        subscriptions,
        on_event=recorder.on_event,
        on_resumed=recorder.on_resumed,
        on_fatal=recorder.on_fatal,
        sleep=recorder.sleep,
        **options,
    )


async def subscribed(server: FakeUpbitWs) -> list[dict[str, Any]]:
    return await asyncio.wait_for(server.subscribed.get(), WAIT_SECS)


# -- REQUEST ------------------------------------------------------------------------------------------------


def test_subscription_request_when_built_then_ticket_types_and_format_in_order() -> None:
    request = subscription_request("t-1", [*PUBLIC, *PRIVATE], message_format="SIMPLE")

    assert request == [
        {"ticket": "t-1"},
        {"type": "ticker", "codes": ["KRW-BTC"]},
        {"type": "trade", "codes": ["KRW-BTC"], "is_only_realtime": True},
        {"type": "myOrder", "codes": ["KRW-BTC"]},
        {"type": "myAsset"},
        {"format": "SIMPLE"},
    ]


@pytest.mark.parametrize(
    ("name", "note", "subscriptions"),
    [
        (
            "ws_public.jsonl",
            "subscribe request",
            [
                Subscription("ticker", ("KRW-BTC",)),
                Subscription("trade", ("KRW-BTC",), is_only_realtime=True),
                Subscription("orderbook", ("KRW-BTC.5",)),
            ],
        ),
        ("ws_private.jsonl", None, PRIVATE),
    ],
)
def test_subscription_request_when_compared_with_the_samples_then_the_same_array(
    name: str, note: str | None, subscriptions: list[Subscription]
) -> None:
    sample = next(
        f["msg"]
        for f in ws_frames(name)
        if f["_dir"].startswith("client->server") and (note is None or f.get("_note", "").startswith(note))
    )

    request = subscription_request(sample[0]["ticket"], subscriptions)

    assert request[: len(sample)] == sample
    assert request[len(sample) :] in ([], [{"format": "DEFAULT"}])  # the format object is optional


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"type": "myAsset", "codes": ("KRW-BTC",)}, "myAsset takes no codes"),
        ({"type": "ticker"}, "needs at least one market code"),
        ({"type": "trade", "codes": ("KRW-BTC",), "is_only_snapshot": True, "is_only_realtime": True}, "exclude"),
    ],
)
def test_subscription_when_malformed_then_value_error(kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Subscription(**kwargs)


# -- FRAMES -------------------------------------------------------------------------------------------------


async def test_frames_when_binary_or_text_then_parsed_into_events_in_arrival_order(server: FakeUpbitWs) -> None:
    server.on_subscribe = [TICKER.encode(), TRADE.encode(), TICKER_SIMPLE]  # the last one as a text frame
    recorder = Recorder()
    ws = session(server.url(), recorder)

    await ws.start()
    request = await subscribed(server)
    events = [await recorder.next_event() for _ in range(3)]
    await ws.close()

    assert request[1:] == [
        {"type": "ticker", "codes": ["KRW-BTC"]},
        {"type": "trade", "codes": ["KRW-BTC"], "is_only_realtime": True},
        {"format": "DEFAULT"},
    ]
    assert set(request[0]) == {"ticket"}
    assert [type(e) for e in events] == [TickerEvent, TradeEvent, TickerEvent]
    assert isinstance(events[0], TickerEvent)
    assert events[0].acc_trade_price_24h == Decimal("228827082483.70729")
    assert events[2] == dataclasses.replace(events[0], stream_type="REALTIME")  # SIMPLE, same values


async def test_frames_when_a_handler_fails_or_a_frame_is_garbage_then_the_next_events_still_arrive(
    server: FakeUpbitWs,
) -> None:
    server.on_subscribe = [
        b"\xff\xfe not json",
        TICKER.encode(),
        WRONG_FORMAT.encode(),
        LIST_ANSWER.encode(),
        TRADE.encode(),
    ]
    handled: list[str] = []
    done = asyncio.Event()

    async def flaky(event: UpbitEvent) -> None:
        handled.append(type(event).__name__)
        if len(handled) == 2:
            done.set()
        if isinstance(event, TickerEvent):
            raise RuntimeError("handler bug")

    recorder = Recorder()
    ws = UpbitWebSocket(server.url(), PUBLIC, on_event=flaky, sleep=recorder.sleep)
    with structlog.testing.capture_logs() as logs:
        await ws.start()
        await asyncio.wait_for(done.wait(), WAIT_SECS)
        await ws.close()

    assert handled == ["TickerEvent", "TradeEvent"]
    assert ws.events_handled == 2
    assert ws.connections == 1
    names = [entry["event"] for entry in logs]
    assert "upbit_ws_malformed_frame" in names
    assert "upbit_ws_handler_failed" in names
    assert "upbit_ws_error_frame" in names  # WRONG_FORMAT is logged; the session goes on
    assert "upbit_ws_method_answer" in names  # LIST_SUBSCRIPTIONS answers are not events


# -- KEEP-ALIVE ---------------------------------------------------------------------------------------------


async def test_keepalive_when_nothing_was_sent_for_the_interval_then_ping_text_and_status_up_is_not_an_event(
    server: FakeUpbitWs,
) -> None:
    recorder = Recorder()
    ws = UpbitWebSocket.public(
        config(ws_public_url=server.url()),
        PUBLIC,
        on_event=recorder.on_event,
        sleep=recorder.sleep,
        ping_interval_secs=0.05,
    )

    await ws.start()
    await subscribed(server)
    await asyncio.wait_for(server.pinged.wait(), WAIT_SECS)
    server.on_subscribe = []
    await server.send(TRADE.encode())  # the UP answer is already on the wire before this frame
    event = await recorder.next_event()
    await ws.close()

    assert server.pings >= 1
    assert ws.pings_sent >= 1
    assert ws.status_up_received >= 1
    assert isinstance(event, TradeEvent)
    assert recorder.events.empty()


# -- RECONNECT ----------------------------------------------------------------------------------------------


async def test_reconnect_when_the_server_drops_the_connection_then_full_resubscription_and_on_resumed(
    server: FakeUpbitWs,
) -> None:
    recorder = Recorder()
    ws = session(server.url(), recorder, reconnect_initial_secs=0.5, reconnect_max_secs=4.0)
    await ws.start()
    first = await subscribed(server)

    server.drop()
    second = await subscribed(server)
    await asyncio.wait_for(recorder.resumed.wait(), WAIT_SECS)
    server.on_subscribe = [TRADE.encode()]
    await ws.subscribe(PUBLIC)  # a later replacement goes out on the new connection
    await subscribed(server)
    event = await recorder.next_event()
    await ws.close()

    assert len(server.connections) == 2
    assert second[1:] == first[1:]
    assert second[0]["ticket"] != first[0]["ticket"]
    assert len(recorder.gaps) == 1 and recorder.gaps[0] >= 0
    assert recorder.slept and 0.25 <= recorder.slept[0] <= 0.5  # jittered first back-off
    assert ws.connections == 2
    assert isinstance(event, TradeEvent)


async def test_start_when_the_server_is_not_there_then_temporary_error() -> None:
    fake = FakeUpbitWs()
    await fake.start()
    url = fake.url()
    await fake.stop()

    with pytest.raises(TemporaryBrokerError):
        await session(url, Recorder()).start()


# -- PRIVATE ------------------------------------------------------------------------------------------------


async def test_private_when_connecting_then_the_handshake_carries_a_bearer_token_without_hash_claims(
    server: FakeUpbitWs,
) -> None:
    server.on_subscribe = [FILL.encode()]
    recorder = Recorder()
    settings = config(ws_private_url=server.url("/websocket/v1/private"))
    ws = UpbitWebSocket.private(settings, PRIVATE, on_event=recorder.on_event, on_fatal=recorder.on_fatal)

    await ws.start()
    request = await subscribed(server)
    event = await recorder.next_event()
    await ws.close()

    assert server.paths == ["/websocket/v1/private"]
    scheme, _, token = server.handshakes[0]["Authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = decode_token(token)
    assert claims["access_key"] == ACCESS_KEY
    assert set(claims) == {"access_key", "nonce"}
    assert request[1:] == [{"type": "myOrder", "codes": ["KRW-BTC"]}, {"type": "myAsset"}, {"format": "DEFAULT"}]
    assert isinstance(event, MyOrderEvent) and event.is_fill
    assert event.fill_volume == Decimal("0.001")


async def test_private_when_reconnecting_then_a_fresh_token_is_minted(server: FakeUpbitWs) -> None:
    recorder = Recorder()
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY)
    ws = session(server.url("/websocket/v1/private"), recorder, PRIVATE, authorization=auth.websocket_authorization)
    await ws.start()
    await subscribed(server)

    server.drop()
    await subscribed(server)
    await ws.close()

    nonces = [decode_token(h["Authorization"].split(" ", 1)[1])["nonce"] for h in server.handshakes]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


async def test_invalid_auth_when_the_server_refuses_the_token_then_fatal_and_no_reconnect(server: FakeUpbitWs) -> None:
    server.on_subscribe = [INVALID_AUTH.encode()]
    recorder = Recorder()
    ws = session(server.url("/websocket/v1/private"), recorder, PRIVATE, authorization=lambda: "Bearer bad")

    await ws.start()
    await asyncio.wait_for(ws.wait_stopped(), WAIT_SECS)

    assert len(recorder.fatal) == 1
    assert "INVALID_AUTH" in str(recorder.fatal[0])
    assert ws.fatal_error is recorder.fatal[0]
    assert len(server.connections) == 1
    assert not ws.connected
    await ws.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [(HTTPStatus.UNAUTHORIZED, FatalBrokerError), (HTTPStatus.SERVICE_UNAVAILABLE, TemporaryBrokerError)],
)
async def test_start_when_the_handshake_is_refused_then_fatal_for_401_and_temporary_otherwise(
    server: FakeUpbitWs, status: HTTPStatus, expected: type
) -> None:
    server.refuse_handshake_with = status

    with pytest.raises(expected) as raised:
        await session(
            server.url("/websocket/v1/private"), Recorder(), PRIVATE, authorization=lambda: "Bearer x"
        ).start()

    assert type(raised.value) is expected


async def test_private_when_logged_then_no_token_appears(server: FakeUpbitWs) -> None:
    recorder = Recorder()
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY)
    ws = session(server.url("/websocket/v1/private"), recorder, PRIVATE, authorization=auth.websocket_authorization)

    with structlog.testing.capture_logs() as logs:
        await ws.start()
        await subscribed(server)
        server.drop()
        await subscribed(server)
        await ws.close()

    text = json.dumps(logs, default=str)
    tokens = [h["Authorization"].split(" ", 1)[1] for h in server.handshakes]
    assert all(token not in text for token in tokens)
    assert ACCESS_KEY not in text and SECRET_KEY not in text
