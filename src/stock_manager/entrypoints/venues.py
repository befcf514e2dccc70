"""Where orders go, per mode: part of the composition root (`bootstrap` imports it; it imports nothing of
`bootstrap`).

* ``--mode sim`` (default protocol ``kis``): the replay (`SimBroker`: real market data, matching engine,
  journal) behind the KIS-compatible exchange simulator on loopback, reached through the real KIS adapter
  (`KisBroker`), so the whole daemon runs the KIS protocol end to end. The replay clock is the market
  clock, and the simulator and the adapter run in lockstep (each venue event waits until the adapter has
  handled every frame sent), which keeps a replay deterministic. ``SIM_PROTOCOL=direct`` uses the replay
  in-process instead.
* ``--mode paper`` / ``--mode live``: `KisBroker` against the KIS hosts (or ``KIS_REST_BASE_URL`` /
  ``KIS_WS_URL``), sessions from the XKRX calendar and the wall clock.
* ``--venue upbit``: see `upbit_venue`.
"""

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, fields
from datetime import time
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import structlog

from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.config.settings import Mode, Settings, SimProtocol, VenueName
from stock_manager.domain.clock import Clock, FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.schedule import SessionSchedule

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.broker import KisBroker
    from stock_manager.adapters.broker.kis_sim.faults import FaultKnobs
    from stock_manager.adapters.broker.sim.broker import SimBroker

log = structlog.get_logger("stockbot.venue")

#: How long a lockstep step waits for frames the adapter may never see (a dropped WebSocket), seconds.
LOCKSTEP_TIMEOUT_SECS = 5.0
#: The adapter's own limit against the in-process simulator (which enforces none, nor any pause between
#: WebSocket subscriptions: the adapter sends them unpaced there): replay time is not real time.
SIM_RATE_LIMIT_PER_SEC = 100_000.0
#: The simulated account's HTS id (the fill-notice subscription key).
SIM_HTS_ID = "stockbot-sim"
#: The adapter's REST timeout against the in-process simulator with faults on, seconds: an order left
#: unanswered is then resolved by inquiry well within one lockstep step, so the replay waits for it.
SIM_FAULT_REQUEST_TIMEOUT_SECS = 2.0
#: Where the simulator logs each fault it injected (JSON lines, in the sim state directory).
FAULT_LOG_FILE = "faults.jsonl"


class FrameSender(Protocol):
    """A loopback exchange simulator (KIS's or Upbit's): how many data frames it has sent."""

    @property
    def data_frames_sent(self) -> int: ...


@dataclass(slots=True)
class Venue:
    """A broker, the schedule of its sessions, the market clock the daemon runs on and how to wait on it."""

    broker: Broker
    schedule: SessionSchedule
    clock: Clock
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class Lockstep:
    """Keeps an in-process replay deterministic across the loopback protocol.

    The adapter reports each data frame it finished handling (its ``on_frame_handled`` hook is `handled`);
    awaited by the simulator after each venue event, a step returns once every frame the simulator sent was
    handled. Frames that never arrive (a dropped connection) would stall the replay, so a step gives up after
    `timeout_secs`, counts the frames as lost, and the replay goes on (the adapter recovers what it missed from
    REST after it reconnects).
    """

    def __init__(self, timeout_secs: float = LOCKSTEP_TIMEOUT_SECS) -> None:
        self.timeout_secs = timeout_secs
        self.frames_lost = 0
        self.handled = HandledFrames()
        self._server: FrameSender | None = None

    def bind(self, server: "FrameSender") -> None:
        """Connect the simulator end (it is built before the adapter that needs its URLs)."""
        self._server = server

    async def __call__(self) -> None:
        if self._server is None:
            return
        target = self._server.data_frames_sent - self.frames_lost
        try:
            await asyncio.wait_for(self.handled.wait_for(target), self.timeout_secs)
        except TimeoutError:
            lost = self._server.data_frames_sent - self.frames_lost - self.handled.count
            self.frames_lost += max(lost, 0)
            log.warning("lockstep_frames_lost", lost=lost, total_lost=self.frames_lost)


@asynccontextmanager
async def open_venue(settings: Settings, *, fresh: bool = False) -> AsyncIterator[Venue]:
    """Build, start and finally close the venue of `settings.mode`.

    Raises
    ------
    ConfigurationError
        For missing or invalid ``KIS_*`` or ``UPBIT_*`` settings (paper, live), or bad ``SIM_FAULTS``.
    """
    if settings.venue is VenueName.UPBIT:
        from stock_manager.entrypoints.upbit_venue import open_upbit_venue

        async with open_upbit_venue(settings, fresh=fresh) as venue:
            yield venue
        return
    if settings.mode is not Mode.SIM:
        from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
        from stock_manager.adapters.venues.krx.calendar import next_session
        from stock_manager.entrypoints.kis_factory import from_settings

        wall = SystemClock()
        broker = from_settings(settings, clock=wall)
        yield Venue(broker, CalendarSchedule(wall, next_session), wall)  # the daemon closes the broker
        return
    clock = replay_clock(settings)
    replay = build_sim_broker(settings, clock, fresh=fresh)
    try:
        if settings.sim_protocol is SimProtocol.DIRECT:
            yield Venue(replay, replay, clock)
            return
        async with _kis_front(settings, replay) as client:
            yield Venue(client, replay, clock)
    finally:
        await replay.close()


@asynccontextmanager
async def open_recovery_venue(settings: Settings) -> AsyncIterator[Venue | None]:
    """The venue as `stockbot recover` sees it; None when a sim data directory has no replay yet.

    Sim: the journaled replay attached read-only (a running daemon's lock refuses it), behind the same
    protocol as ``run`` so account and order numbers look the same. Paper and live: the KIS adapter.

    Raises
    ------
    ConfigurationError
        For paper and live without KIS settings, or when a running daemon holds the replay.
    """
    if settings.mode is not Mode.SIM:
        async with open_venue(settings) as venue:
            try:
                yield venue
            finally:
                await venue.broker.close()
        return
    from stock_manager.adapters.broker.sim.broker import SimBroker

    replay = SimBroker.attach(settings.sim_state_dir)
    if replay is None:
        yield None
        return
    try:
        if settings.sim_protocol is SimProtocol.DIRECT:
            yield Venue(replay, replay, replay.clock)
            return
        front: AbstractAsyncContextManager[Broker]
        if settings.venue is VenueName.UPBIT:
            from stock_manager.entrypoints.upbit_venue import upbit_front

            front = upbit_front(settings, replay)
        else:
            front = _kis_front(settings, replay)
        async with front as client:
            yield Venue(client, replay, replay.clock)
    finally:
        await replay.close()


@asynccontextmanager
async def _kis_front(settings: Settings, replay: "SimBroker") -> AsyncIterator["KisBroker"]:
    # The KIS-compatible simulator in front of the replay, and the real adapter talking to it.
    from pydantic import SecretStr

    from stock_manager.adapters.broker.kis.broker import KisBroker
    from stock_manager.adapters.broker.kis.config import KisConfig, KisMode
    from stock_manager.adapters.broker.kis_sim.auth import KisCredential
    from stock_manager.adapters.broker.kis_sim.faults import FaultLog
    from stock_manager.adapters.broker.kis_sim.server import DEFAULT_CREDENTIAL, KisExchangeSimulator

    wall = SystemClock()
    credential = KisCredential(
        app_key=DEFAULT_CREDENTIAL.app_key,
        app_secret=DEFAULT_CREDENTIAL.app_secret,
        account=sim_account(replay.replay_id),
        hts_id=SIM_HTS_ID,
    )
    lockstep = Lockstep()
    faults = parse_faults(settings.sim_faults)
    fault_log = FaultLog(settings.sim_state_dir / FAULT_LOG_FILE) if faults is not None else None
    server = KisExchangeSimulator(
        replay,
        mode="paper",
        credentials=(credential,),
        wall_clock=wall,
        rate_limit_per_sec=None,
        faults=faults,
        fault_log=fault_log,
        after_broadcast=lockstep,
        pingpong_interval_secs=None,
    )
    lockstep.bind(server)
    server.gateway.load_tokens(settings.sim_state_dir / "kis-tokens.json")  # KIS remembers its tokens
    await server.start()
    try:
        config = KisConfig(
            mode=KisMode.PAPER,
            app_key=SecretStr(credential.app_key),
            app_secret=SecretStr(credential.app_secret),
            account=credential.account,
            hts_id=credential.hts_id,
            rest_base_url=server.rest_base_url,
            ws_url=server.ws_url,
            rate_limit_per_sec=SIM_RATE_LIMIT_PER_SEC,
            subscribe_pacing_secs=0.0,
            token_cache_dir=settings.data_dir / "sim-kis-tokens",
            **_fault_tuning(faults),
        )
        client = KisBroker(
            config,
            clock=wall,
            market_clock=replay.clock,
            cost_model=krx_cost_model(settings.commission_rate),
            on_frame_handled=lockstep.handled,
        )
        try:
            yield client
        finally:
            await client.close()
    finally:
        await server.stop()


def build_sim_broker(settings: Settings, clock: FixedClock, *, fresh: bool = False) -> "SimBroker":
    """Return the replaying simulated exchange for the settings' period and symbols.

    It resumes the journaled replay of the same parameters; `fresh` starts a new one on a new account.
    """
    from stock_manager.adapters.broker.sim.broker import SimBroker

    if settings.venue is VenueName.UPBIT:
        from stock_manager.adapters.venues.upbit.rules import upbit_cost_model

        costs, market = upbit_cost_model(settings.upbit_fee_rate), "upbit"
    else:
        costs, market = krx_cost_model(settings.commission_rate), "krx"
    return SimBroker(
        symbols=list(settings.sim_symbols),
        start_date=settings.sim_from,
        end_date=settings.sim_to,
        clock=clock,
        state_dir=settings.sim_state_dir,
        speed=settings.sim_speed_factor,
        participation_rate=settings.sim_participation_rate,
        start_cash_krw=settings.sim_start_cash_krw,
        cost_model=costs,
        fresh=fresh,
        venue=market,
    )


def replay_clock(settings: Settings) -> FixedClock:
    """Return the market clock of a replay, set before the first session."""
    return FixedClock(kst_datetime(settings.sim_from, time(0, 0)))


class _FaultTuning(TypedDict, total=False):
    request_timeout_secs: float
    token_issue_interval_secs: float


def _fault_tuning(faults: "FaultKnobs | None") -> _FaultTuning:
    # With faults on: a short REST timeout (an unanswered order is resolved by inquiry within one lockstep
    # step) and the adapter's token issuance interval following the simulator's gate.
    if faults is None:
        return {}
    return {
        "request_timeout_secs": SIM_FAULT_REQUEST_TIMEOUT_SECS,
        "token_issue_interval_secs": faults.token_gate_secs + 1.0,
    }


def sim_account(replay_id: str) -> str:
    """Return the KIS-shaped account (``CANO-ACNT_PRDT_CD``) of a replay: 8 digits derived from its id."""
    digits = int(hashlib.sha256(replay_id.encode()).hexdigest(), 16) % 100_000_000
    return f"{digits:08d}-01"


def parse_faults(spec: str, knobs: type | None = None) -> Any:
    """Return a simulator's fault knobs from ``SIM_FAULTS`` (``name=value`` pairs, comma-separated), or None
    when empty: the KIS simulator's `FaultKnobs` unless another dataclass of knobs (the Upbit simulator's
    `UpbitFaultKnobs`) is given.

    Raises
    ------
    ConfigurationError
        Naming an unknown knob or a value of the wrong type.
    """
    if knobs is None:
        from stock_manager.adapters.broker.kis_sim.faults import FaultKnobs

        knobs = FaultKnobs
    if not spec.strip():
        return None
    known = {f.name: f for f in fields(knobs) if not f.name.startswith("_")}
    defaults = knobs()
    values: dict[str, object] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, raw = part.partition("=")
        name = name.strip()
        if name not in known:
            raise ConfigurationError(f"SIM_FAULTS: unknown knob {name!r}; known: {', '.join(sorted(known))}")
        default = getattr(defaults, name)
        try:
            if isinstance(default, bool):
                if raw.strip().lower() not in {"true", "false", "1", "0"}:
                    raise ValueError(raw)
                values[name] = raw.strip().lower() in {"true", "1"}
            elif isinstance(default, int):
                values[name] = int(raw)
            elif isinstance(default, float):
                values[name] = float(raw)
            else:
                values[name] = raw.strip()
        except ValueError:
            raise ConfigurationError(f"SIM_FAULTS: {name}={raw!r} is not a valid {type(default).__name__}") from None
    with contextlib.suppress(TypeError):
        return knobs(**values)
    raise ConfigurationError(f"SIM_FAULTS: invalid combination {spec!r}")
