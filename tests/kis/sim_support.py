"""Fixtures of the adapter-against-simulator specifications: a short replay behind the KIS-compatible server,
and a `KisBroker` configured with the simulator's credential and loopback URLs (real sockets)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KisBroker, KisConfig, KisMode
from stock_manager.adapters.broker.kis_sim import DEFAULT_CREDENTIAL, KisExchangeSimulator
from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.market import Tick
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import BrokerOrderEvent

SAMSUNG, KODEX = "005930", "069500"
CRED = DEFAULT_CREDENTIAL
ACCOUNT = CRED.account
FIRST_DAY = date(2023, 12, 20)


class SharedWall(FixedClock):
    """The wall clock shared by the server and the adapter; `sleep` advances it at once (and yields)."""

    def __init__(self) -> None:
        super().__init__(datetime(2025, 5, 15, 0, 0, tzinfo=UTC))
        self.slept: list[float] = []

    async def sleep(self, secs: float) -> None:
        self.slept.append(secs)
        self.advance(timedelta(seconds=max(secs, 0)))
        await asyncio.sleep(0)


def make_venue(state_dir: Path) -> SimBroker:
    """A replay of Samsung Electronics and KODEX 200 over 2023-12-20..22."""
    return SimBroker(
        symbols=[SAMSUNG, KODEX],
        start_date=FIRST_DAY,
        end_date=date(2023, 12, 22),
        clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
        state_dir=state_dir,
    )


def adapter_config(sim: KisExchangeSimulator, cache_dir: Path, **overrides: Any) -> KisConfig:
    values: dict[str, Any] = {
        "mode": KisMode(sim.mode),
        "app_key": SecretStr(CRED.app_key),
        "app_secret": SecretStr(CRED.app_secret),
        "account": CRED.account,
        "hts_id": CRED.hts_id,
        "rest_base_url": sim.rest_base_url,
        "ws_url": sim.ws_url,
        "token_cache_dir": cache_dir,
        "subscribe_pacing_secs": 0.0,
        "rate_limit_per_sec": 500.0,
        "reconnect_initial_secs": 0.05,
        "reconnect_max_secs": 0.2,
        "request_timeout_secs": 2.0,
    }
    return KisConfig(**(values | overrides))


def make_adapter(
    sim: KisExchangeSimulator,
    venue: SimBroker,
    wall: SharedWall,
    cache_dir: Path,
    frames: HandledFrames | None = None,
    **overrides: Any,
) -> KisBroker:
    return KisBroker(
        adapter_config(sim, cache_dir, **overrides),
        clock=wall,
        market_clock=venue.clock,
        cost_model=krx_cost_model(),
        sleep=wall.sleep,
        on_frame_handled=frames,
    )


@dataclass
class Recorder:
    """Collects what the adapter delivers."""

    ticks: list[Tick] = field(default_factory=list)
    events: list[BrokerOrderEvent] = field(default_factory=list)

    async def on_tick(self, tick: Tick) -> None:
        self.ticks.append(tick)

    async def on_event(self, event: BrokerOrderEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class Rig:
    """A venue, the simulator in front of it, and the adapter."""

    venue: SimBroker
    sim: KisExchangeSimulator
    kis: KisBroker
    wall: SharedWall
    cache_dir: Path
    recorder: Recorder
    frames: HandledFrames

    async def open_session(self) -> TradingSession:
        return await anext(aiter(self.venue.sessions()))

    async def play(self, session: TradingSession) -> None:
        """Play the session to its close, then wait until the adapter handled every frame sent."""
        await self.venue.run_until_close(session)
        await asyncio.wait_for(self.frames.wait_for(self.sim.data_frames_sent), 20)

    async def settle(self, condition: Callable[[], bool], timeout_secs: float = 5.0) -> None:
        async def poll() -> None:
            while not condition():  # noqa: ASYNC110 - waits on state the server and adapter change
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout_secs)


@asynccontextmanager
async def build_rig(
    tmp_path: Path,
    *,
    mode: str = "paper",
    sim_kwargs: dict[str, Any] | None = None,
    adapter_kwargs: dict[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    wall = SharedWall()
    venue = make_venue(tmp_path / "venue")
    kwargs = {"rate_limit_per_sec": None, "pingpong_interval_secs": None} | (sim_kwargs or {})
    sim = KisExchangeSimulator(venue, mode=mode, wall_clock=wall, **kwargs)  # type: ignore[arg-type]
    await sim.start()
    frames = HandledFrames()
    kis = make_adapter(sim, venue, wall, tmp_path / "tokens", frames, **(adapter_kwargs or {}))
    rig = Rig(venue, sim, kis, wall, tmp_path / "tokens", Recorder(), frames)
    try:
        yield rig
    finally:
        await kis.close()
        await sim.stop()
        await venue.close()


type Waiter = Callable[[], Awaitable[None]]
