"""Where Upbit orders go, per mode: part of the composition root (`venues.open_venue` dispatches here).

* ``--venue upbit --mode sim``: the replay (`SimBroker` over the bundled 30-minute KRW-BTC candles) behind the
  Upbit-compatible exchange simulator on loopback, reached through the real Upbit adapter (`UpbitBroker`), in
  lockstep like the KIS path (`venues.Lockstep`); ``SIM_PROTOCOL=direct`` uses the replay in-process.
* ``--mode live``: `UpbitBroker` against api.upbit.com (or ``UPBIT_REST_BASE_URL`` / ``UPBIT_WS_URL``) with
  ``UPBIT_ACCESS_KEY`` / ``UPBIT_SECRET_KEY``; the 24/7 sessions of the Upbit calendar in wall time.
* ``--mode paper``: Upbit has no paper account: Upbit's live public data, orders matched by the local engine in a
  journaled paper account (see `upbit_paper_venue`).
"""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from pydantic import SecretStr

from stock_manager.adapters.clock import SystemClock
from stock_manager.config.settings import Mode, Settings, SimProtocol
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.broker import SimBroker
    from stock_manager.adapters.broker.upbit.broker import UpbitBroker
    from stock_manager.adapters.venues.upbit.calendar import MaintenanceWindow
    from stock_manager.entrypoints.venues import Venue

#: The adapter's own pace against the in-process simulator, calls per second per group (replay time is not real
#: time; the simulator then enforces no limit).
SIM_RATES_PER_SEC = 100_000.0


def maintenance_windows(settings: Settings) -> tuple["MaintenanceWindow", ...]:
    """Return ``UPBIT_MAINTENANCE`` as windows (`ConfigurationError` naming a malformed one)."""
    from stock_manager.adapters.venues.upbit.calendar import parse_maintenance

    return parse_maintenance(settings.upbit_maintenance)


def upbit_instruments(settings: Settings) -> list[Instrument]:
    """Return the KRW markets of the settings as instruments (the price-unit table of ``UPBIT_TICK_TABLE_FILE``
    when given, else the built-in one)."""
    from stock_manager.adapters.venues.upbit.rules import load_tick_table, upbit_instrument

    ticks = load_tick_table(settings.upbit_tick_table_file) if settings.upbit_tick_table_file else None
    return [upbit_instrument(symbol, ticks) for symbol in settings.sim_symbols]


def sim_key(replay_id: str) -> tuple[str, str]:
    """Return the API key pair of a replay's simulated account (its account id follows from the access key, so a
    fresh replay is a new account)."""
    digest = hashlib.sha256(f"upbit-sim:{replay_id}".encode()).hexdigest()
    return f"sim{digest[:29]}", hashlib.sha256(f"secret:{digest}".encode()).hexdigest()


@asynccontextmanager
async def open_upbit_venue(settings: Settings, *, fresh: bool = False) -> AsyncIterator["Venue"]:
    """Build, start and finally close the Upbit venue of `settings.mode`.

    Raises
    ------
    ConfigurationError
        Live without ``UPBIT_ACCESS_KEY`` / ``UPBIT_SECRET_KEY``; a malformed ``UPBIT_MAINTENANCE``.
    """
    from stock_manager.entrypoints.venues import Venue, build_sim_broker, replay_clock

    windows = maintenance_windows(settings)
    if settings.mode is Mode.LIVE:
        from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
        from stock_manager.adapters.venues.upbit.calendar import UpbitCalendar

        wall = SystemClock()
        broker = live_broker(settings, wall)
        yield Venue(broker, CalendarSchedule(wall, UpbitCalendar(windows).next_session), wall)
        return
    if settings.mode is Mode.PAPER:
        from stock_manager.entrypoints.upbit_paper_venue import open_upbit_paper_venue

        async with open_upbit_paper_venue(settings, fresh=fresh) as venue:
            yield venue
        return
    clock = replay_clock(settings)
    replay = build_sim_broker(settings, clock, fresh=fresh)
    try:
        if settings.sim_protocol is SimProtocol.DIRECT:
            yield Venue(replay, replay, clock)
            return
        async with upbit_front(settings, replay) as client:
            yield Venue(client, replay, clock)
    finally:
        await replay.close()


def live_broker(settings: Settings, wall: SystemClock) -> "UpbitBroker":
    """Return the Upbit adapter for the owner's keys.

    Raises
    ------
    ConfigurationError
        Naming the missing key settings.
    """
    from stock_manager.adapters.broker.upbit.broker import UpbitBroker
    from stock_manager.adapters.broker.upbit.config import DEFAULT_REST_BASE_URL, DEFAULT_WS_PUBLIC_URL, UpbitConfig
    from stock_manager.adapters.venues.upbit.rules import upbit_cost_model

    if missing := settings.missing_upbit_settings():
        raise ConfigurationError(
            f"--venue upbit --mode {settings.mode} needs these settings: {', '.join(missing)} "
            "(see .env.example, or `stockbot secrets set`)"
        )
    assert settings.upbit_access_key is not None and settings.upbit_secret_key is not None
    ws = settings.upbit_ws_url or DEFAULT_WS_PUBLIC_URL
    config = UpbitConfig(
        access_key=settings.upbit_access_key,
        secret_key=settings.upbit_secret_key,
        rest_base_url=settings.upbit_rest_base_url or DEFAULT_REST_BASE_URL,
        ws_public_url=ws,
        ws_private_url=f"{ws.rstrip('/')}/private",
    )
    return UpbitBroker(
        config,
        markets=settings.sim_symbols,
        clock=wall,
        cost_model=upbit_cost_model(settings.upbit_fee_rate),
        instruments=upbit_instruments(settings),
    )


@asynccontextmanager
async def upbit_front(settings: Settings, replay: "SimBroker") -> AsyncIterator["UpbitBroker"]:
    """The Upbit-compatible simulator in front of `replay`, and the real adapter talking to it in lockstep."""
    from stock_manager.adapters.broker.fault_log import FaultLog
    from stock_manager.adapters.broker.upbit.broker import UpbitBroker
    from stock_manager.adapters.broker.upbit.config import DEFAULT_RATES_PER_SEC, UpbitConfig
    from stock_manager.adapters.broker.upbit_sim.auth import UpbitKey
    from stock_manager.adapters.broker.upbit_sim.faults import UpbitFaultKnobs
    from stock_manager.adapters.broker.upbit_sim.server import UpbitExchangeSimulator
    from stock_manager.adapters.venues.upbit.rules import upbit_cost_model
    from stock_manager.entrypoints.venues import FAULT_LOG_FILE, SIM_FAULT_REQUEST_TIMEOUT_SECS, Lockstep, parse_faults

    access, secret = sim_key(replay.replay_id)
    lockstep = Lockstep()
    faults = parse_faults(settings.sim_faults, UpbitFaultKnobs)
    fault_log = FaultLog(settings.sim_state_dir / FAULT_LOG_FILE) if faults is not None else None
    server = UpbitExchangeSimulator(
        replay,
        keys=(UpbitKey(access, secret),),
        wall_clock=SystemClock(),
        rate_limits=None,
        faults=faults,
        fault_log=fault_log,
        after_broadcast=lockstep,
    )
    lockstep.bind(server)
    await server.start()
    try:
        config = UpbitConfig(
            access_key=SecretStr(access),
            secret_key=SecretStr(secret),
            rest_base_url=server.rest_base_url,
            ws_public_url=server.ws_public_url,
            ws_private_url=server.ws_private_url,
            rates_per_sec=dict.fromkeys(DEFAULT_RATES_PER_SEC, SIM_RATES_PER_SEC),
        )
        if faults is not None:  # a lost order response is resolved by its identifier within one lockstep step
            config = replace(config, request_timeout_secs=SIM_FAULT_REQUEST_TIMEOUT_SECS)
        client = UpbitBroker(
            config,
            markets=settings.sim_symbols,
            clock=SystemClock(),
            cost_model=upbit_cost_model(settings.upbit_fee_rate),
            instruments=upbit_instruments(settings),
            on_frame_handled=lockstep.handled,
        )
        try:
            yield client
        finally:
            await client.close()
    finally:
        await server.stop()
