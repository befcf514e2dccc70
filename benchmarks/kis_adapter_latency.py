"""KIS adapter: trade-frame parse rate on one core, and frame-to-order latency over loopback.

Prints three figures, each over --ticks trade frames spread across --symbols symbols:

1. parse + dispatch rate: H0STCNT0 frames through the adapter's frame parser and dispatcher to a no-op
   handler, in ticks per second (one core, no I/O);
2. frame → handler and frame → order request leaving: a loopback WebSocket server sends one frame at a time
   (the next after the previous was handled); the tick handler of a `KisBroker` places a limit order for
   every tick, and the time the order's HTTP request reaches the transport (an in-process transport, so no
   REST server time is counted) is taken; p50/p99 in microseconds;
3. the same server sending the same frames to a bare websockets client (send → recv), the floor of (2).

    uv run python benchmarks/kis_adapter_latency.py [--ticks 10000] [--symbols 40]
"""

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from _measured import require
from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from stock_manager.adapters.broker.kis import KisBroker, KisConfig, KisMode
from stock_manager.adapters.broker.kis.dispatch import FrameDispatcher
from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.ws_frames import split_data_frame
from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import OrderRequest

ACCOUNT = "50123456-01"
SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "kis_samples" / "ws-frame-H0STCNT0-4records.txt"


def frames(count: int, symbols: list[str]) -> list[str]:
    """Return `count` one-record H0STCNT0 frames cycling over `symbols` (fields from the captured sample)."""
    template = SAMPLE.read_text(encoding="utf-8").strip().split("|", 3)[3].split("^")[:46]
    out = []
    for i in range(count):
        record = list(template)
        record[0] = symbols[i % len(symbols)]
        record[1] = f"{9 + (i // 3600) % 6:02d}{(i // 60) % 60:02d}{i % 60:02d}"
        record[2] = str(70000 + (i % 20) * 100)
        out.append("0|H0STCNT0|001|" + "^".join(record))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def parse_rate(texts: list[str], symbols: list[str]) -> float:
    clock = FixedClock(datetime(2025, 6, 2, tzinfo=UTC))
    dispatcher = FrameDispatcher(
        account_id=ACCOUNT,
        cost_model=krx_cost_model(),
        market_clock=clock,
        wall_clock=clock,
        cipher_keys=lambda tr_id: None,
        masker=Masker(),
    )
    handled = 0

    async def on_tick(tick: object) -> None:
        nonlocal handled
        handled += 1

    dispatcher.add_quote_handler(symbols, on_tick)
    started = time.perf_counter()
    for text in texts:
        frame = split_data_frame(text)
        assert frame is not None
        await dispatcher.handle(frame, 1)
    elapsed = time.perf_counter() - started
    assert handled == len(texts)
    return len(texts) / elapsed


class PacedServer:
    """Sends frames one at a time; the next when the client signals the previous was handled."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.sent_ns: list[int] = []
        self.handled = asyncio.Event()
        self.ready = asyncio.Event()
        self.done = asyncio.Event()

    async def handle(self, connection: ServerConnection) -> None:
        async def reader() -> None:
            async for text in connection:
                message = json.loads(text)
                if "body" in message:  # a subscribe: ack it
                    tr_key = message["body"]["input"]["tr_key"]
                    await connection.send(
                        json.dumps(
                            {
                                "header": {"tr_id": "H0STCNT0", "tr_key": tr_key, "encrypt": "N"},
                                "body": {
                                    "rt_cd": "0",
                                    "msg_cd": "OPSP0000",
                                    "msg1": "SUBSCRIBE SUCCESS",
                                    "output": {"iv": "0123456789abcdef", "key": "k" * 32},
                                },
                            }
                        )
                    )

        reading = asyncio.create_task(reader())
        await self.ready.wait()
        for text in self.texts:
            self.handled.clear()
            self.sent_ns.append(time.perf_counter_ns())
            await connection.send(text)
            await self.handled.wait()
        self.done.set()
        reading.cancel()


async def adapter_latency(texts: list[str], symbols: list[str]) -> tuple[list[float], list[float]]:
    server = PacedServer(texts)
    order_ns: list[int] = []
    tick_ns: list[int] = []
    accepted = {
        "rt_cd": "0",
        "msg_cd": "40600000",
        "msg1": "ok",
        "output": {"KRX_FWDG_ORD_ORGNO": "00950", "ODNO": "1", "ORD_TMD": "093000"},
    }

    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("order-cash"):
            order_ns.append(time.perf_counter_ns())
            return httpx.Response(200, json=accepted)
        if request.url.path.endswith("tokenP"):
            return httpx.Response(
                200, json={"access_token": "t" * 40, "access_token_token_expired": "2099-01-01 00:00:00"}
            )
        return httpx.Response(200, json={"approval_key": "a" * 36})

    async with serve(server.handle, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        config = KisConfig(
            mode=KisMode.PAPER,
            app_key=SecretStr("k" * 36),
            app_secret=SecretStr("s" * 180),
            account=ACCOUNT,
            hts_id="bench",
            rest_base_url="http://127.0.0.1:9",
            ws_url=f"ws://127.0.0.1:{port}",
            rate_limit_per_sec=1e9,
            subscribe_pacing_secs=0.0,
        )
        clock = FixedClock(datetime(2025, 6, 2, tzinfo=UTC))
        kis = KisBroker(config, clock=clock, cost_model=krx_cost_model(), transport=httpx.MockTransport(transport))

        async def on_tick(tick: object) -> None:
            tick_ns.append(time.perf_counter_ns())
            await kis.place_order(
                OrderRequest(
                    ACCOUNT,
                    tick.symbol,
                    Side.BUY,
                    OrderType.LIMIT,  # type: ignore[attr-defined]
                    Decimal(1),
                    tick.price,
                )
            )  # type: ignore[attr-defined]
            server.handled.set()

        await kis.login()
        await kis.subscribe_quotes(symbols, on_tick)
        await asyncio.sleep(0.2)
        server.ready.set()
        await server.done.wait()
        await kis.close()
    to_handler = [(t - s) / 1000 for s, t in zip(server.sent_ns, tick_ns, strict=True)]
    to_order = [(o - s) / 1000 for s, o in zip(server.sent_ns, order_ns, strict=True)]
    return to_handler, to_order


async def bare_latency(texts: list[str]) -> list[float]:
    server = PacedServer(texts)
    recv_ns: list[int] = []
    async with serve(server.handle, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", ping_interval=None, compression=None) as client:
            server.ready.set()
            for _ in texts:
                await client.recv()
                recv_ns.append(time.perf_counter_ns())
                server.handled.set()
            await server.done.wait()
    return [(r - s) / 1000 for s, r in zip(server.sent_ns, recv_ns, strict=True)]


async def main(ticks: int, symbol_count: int) -> None:
    configure_logging("CRITICAL")
    symbols = [f"{100000 + i:06d}" for i in range(symbol_count)]
    texts = frames(ticks, symbols)
    rate = await parse_rate(texts, symbols)
    to_handler, to_order = await adapter_latency(texts, symbols)
    bare = await bare_latency(texts)
    require(rate > 0 and to_handler and to_order and bare, "a part produced no sample")
    print(f"ticks: {ticks} over {symbol_count} symbols")
    print(f"parse + dispatch, one core: {rate:,.0f} ticks/s")
    for name, values in (
        ("frame sent -> adapter tick handler", to_handler),
        ("frame sent -> order request leaving the adapter", to_order),
        ("bare websockets send -> recv (floor)", bare),
    ):
        print(
            f"{name}: p50 {percentile(values, 0.5):,.0f} us, p99 {percentile(values, 0.99):,.0f} us, "
            f"mean {statistics.fmean(values):,.0f} us"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.ticks, args.symbols))
