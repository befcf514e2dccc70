"""Fixtures of the Upbit simulator specifications (see `support`)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from tests.upbit_sim.support import make_venue


@pytest.fixture
async def venue(tmp_path: Path) -> AsyncIterator[SimBroker]:
    broker = make_venue(tmp_path / "venue")
    yield broker
    await broker.close()


@pytest.fixture
async def sim(venue: SimBroker) -> AsyncIterator[UpbitExchangeSimulator]:
    server = UpbitExchangeSimulator(venue, wall_clock=SystemClock(), rate_limits=None)
    await server.start()
    yield server
    await server.stop()
