"""Helpers of the Upbit simulator specifications: a short KRW-BTC replay behind the Upbit-compatible server, the
real adapter configured for it (real loopback sockets), and a plain signed HTTP client for wire-level checks."""

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit import UpbitBroker, UpbitConfig
from stock_manager.adapters.broker.upbit.auth import UpbitAuth, encode_params, json_body, parameter_string, query_string
from stock_manager.adapters.broker.upbit_sim import DEFAULT_KEY, UpbitExchangeSimulator
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.service_layer.ports.broker import BrokerOrderEvent

BTC = "KRW-BTC"
DAY = date(2024, 3, 1)  # KRW-BTC opened at 85,911,000 after closing 2024-02-29 at 85,910,000
FAST_RATES = {
    group: 1000.0
    for group in (
        "default",
        "order",
        "order-test",
        "order-cancel-all",
        "market",
        "candle",
        "trade",
        "ticker",
        "orderbook",
    )
}


def make_venue(
    state_dir: Path, *, days: int = 2, cash: Decimal = Decimal(100_000_000), participation: Decimal = Decimal("0.25")
) -> SimBroker:
    """A replay of KRW-BTC from `DAY` for `days` UTC days."""
    return SimBroker(
        symbols=[BTC],
        start_date=DAY,
        end_date=DAY + timedelta(days=days - 1),
        venue="upbit",
        clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
        state_dir=state_dir,
        cost_model=upbit_cost_model(),
        start_cash_krw=cash,
        participation_rate=participation,
    )


def adapter_config(sim: UpbitExchangeSimulator, **overrides: Any) -> UpbitConfig:
    values: dict[str, Any] = {
        "access_key": SecretStr(DEFAULT_KEY.access_key),
        "secret_key": SecretStr(DEFAULT_KEY.secret_key),
        "rest_base_url": sim.rest_base_url,
        "ws_public_url": sim.ws_public_url,
        "ws_private_url": sim.ws_private_url,
        "request_timeout_secs": 2.0,
        "reconnect_initial_secs": 0.05,
        "reconnect_max_secs": 0.2,
        "rates_per_sec": FAST_RATES,
    }
    return UpbitConfig(**(values | overrides))


def make_adapter(sim: UpbitExchangeSimulator, frames: HandledFrames | None = None, **kw: Any) -> UpbitBroker:
    config_overrides = kw.pop("config", {})
    return UpbitBroker(adapter_config(sim, **config_overrides), on_frame_handled=frames, **kw)


class Recorder:
    """Collects what the adapter delivers."""

    def __init__(self) -> None:
        self.events: list[BrokerOrderEvent] = []
        self.ticks: list[Any] = []

    async def on_event(self, event: BrokerOrderEvent) -> None:
        self.events.append(event)

    async def on_tick(self, tick: Any) -> None:
        self.ticks.append(tick)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class SignedClient:
    """A plain HTTP client that signs like Upbit's official samples (for wire-level checks)."""

    def __init__(self, sim: UpbitExchangeSimulator, algorithm: str = "HS512") -> None:
        self.auth = UpbitAuth(DEFAULT_KEY.access_key, DEFAULT_KEY.secret_key, algorithm=algorithm)
        self.http = httpx.AsyncClient(base_url=sim.rest_base_url, timeout=5.0)

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, hashed: str | None = None
    ) -> httpx.Response:
        pairs = encode_params(params)
        url = f"{path}?{query_string(pairs)}" if pairs else path
        token = self.auth.authorization(parameter_string(pairs) if hashed is None else hashed)
        return await self.http.get(url, headers={"authorization": token})

    async def post(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        pairs = encode_params(body)
        return await self.http.post(
            path,
            content=json.dumps(json_body(pairs)),
            headers={
                "authorization": self.auth.authorization(parameter_string(pairs)),
                "content-type": "application/json; charset=utf-8",
            },
        )

    async def delete(self, path: str, params: Mapping[str, Any]) -> httpx.Response:
        pairs = encode_params(params)
        return await self.http.delete(
            f"{path}?{query_string(pairs)}", headers={"authorization": self.auth.authorization(parameter_string(pairs))}
        )

    async def aclose(self) -> None:
        await self.http.aclose()


async def settle(frames: HandledFrames, sim: UpbitExchangeSimulator, timeout_secs: float = 10.0) -> None:
    """Return once the adapter has handled every data frame the simulator sent."""
    await asyncio.wait_for(frames.wait_for(sim.data_frames_sent), timeout_secs)
