"""The `Broker` contract runs against every implementation: add a venue's harness to `HARNESSES`."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.harness import VenueHarness, fake_harness, kis_harness, sim_harness, upbit_harness
from tests.contract.paper_harness import upbit_paper_harness

HARNESSES = {
    "fake": fake_harness,
    "sim": sim_harness,
    "kis-over-simulator": kis_harness,
    "upbit-over-simulator": upbit_harness,
    "upbit-paper-over-simulator-public-data": upbit_paper_harness,
}


@pytest.fixture(params=sorted(HARNESSES))
async def venue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VenueHarness]:
    harness = await HARNESSES[request.param](tmp_path)
    await harness.broker.subscribe_order_events(harness.events)
    try:
        yield harness
    finally:
        await harness.close()
