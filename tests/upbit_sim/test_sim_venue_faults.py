"""The Upbit sim venue with the simulator's faults on (``SIM_FAULTS``): the adapter's REST timeout is short, so an
order whose response the simulator loses is resolved by its identifier within one lockstep step (the replay
waits `LOCKSTEP_TIMEOUT_SECS` for the adapter, then goes on without it), and every fault is logged in the state
directory."""

from pathlib import Path

from stock_manager.adapters.broker.fault_log import FaultLog
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.venues import (
    FAULT_LOG_FILE,
    LOCKSTEP_TIMEOUT_SECS,
    SIM_FAULT_REQUEST_TIMEOUT_SECS,
    open_venue,
)


def upbit_settings(tmp_path: Path, faults: str = ""):
    return load_settings(
        mode="sim",
        venue="upbit",
        data_dir=tmp_path / "data",
        sim_from="2024-03-01",
        sim_to="2024-03-02",
        sim_symbols="KRW-BTC",
        sim_faults=faults,
    )


async def test_upbit_sim_venue_when_faults_on_then_the_adapter_times_out_within_a_lockstep_step(tmp_path: Path):
    settings = upbit_settings(tmp_path, "error5xx_requests=1")

    async with open_venue(settings) as venue:
        await venue.broker.login()  # the first request answered 500, retried
        timeout = venue.broker.config.request_timeout_secs  # type: ignore[attr-defined]

    assert timeout == SIM_FAULT_REQUEST_TIMEOUT_SECS < LOCKSTEP_TIMEOUT_SECS
    assert FaultLog.read(settings.sim_state_dir / FAULT_LOG_FILE) == {"error500": 1}


async def test_upbit_sim_venue_when_no_faults_then_the_adapter_keeps_its_timeout(tmp_path: Path):
    settings = upbit_settings(tmp_path)

    async with open_venue(settings) as venue:
        timeout = venue.broker.config.request_timeout_secs  # type: ignore[attr-defined]

    assert timeout == 10.0
    assert not (settings.sim_state_dir / FAULT_LOG_FILE).exists()
