"""Rate limits between the simulator and the adapter (§6, pitfalls 11 and 17): the adapter paces itself by
``Remaining-Req`` and never meets a 429 when the simulator's limits are on; a 418 block stops every request,
raises fatal and calls the alert hook."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit import BlockNotice
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.errors import FatalBrokerError
from tests.upbit_sim.support import SignedClient, make_adapter


@pytest.fixture
async def limited(venue: SimBroker) -> AsyncIterator[UpbitExchangeSimulator]:
    server = UpbitExchangeSimulator(venue, wall_clock=SystemClock(), block_after_429s=3, block_secs=30.0)
    await server.start()
    yield server
    await server.stop()


async def test_remaining_req_when_the_adapter_reads_in_bursts_then_it_waits_out_sec_0_and_never_gets_a_429(
    limited: UpbitExchangeSimulator,
):
    eager = make_adapter(limited)  # its own pace is 1,000/s: only the simulator's header holds it back
    paced = make_adapter(limited, config={"rates_per_sec": {}})  # Upbit's documented rates (default 30/s)

    for _ in range(40):
        await eager.get_cash(eager.account_id)
    await asyncio.sleep(1.05)  # the next adapter of the same key starts in a window of its own
    await asyncio.gather(*(paced.get_cash(paced.account_id) for _ in range(40)))

    assert limited.rate_gate.counts == {}  # no 429, no 418
    assert limited.records.requests_per_path["GET /v1/accounts"] == 80
    await eager.close()
    await paced.close()


async def test_limits_when_a_client_ignores_remaining_req_then_429_then_a_418_block(limited: UpbitExchangeSimulator):
    raw = SignedClient(limited)
    await asyncio.sleep(1.01 - time.time() % 1)  # the burst starts a fresh one-second window

    answers = [await raw.get("/v1/accounts") for _ in range(34)]

    statuses = [a.status_code for a in answers]
    assert statuses[:30] == [200] * 30 and statuses[30:32] == [429, 429] and statuses[32] == 418
    assert answers[29].headers["Remaining-Req"] == "group=default; min=1800; sec=0"
    assert answers[30].text == "Too many API requests."
    assert answers[32].headers["Retry-After"] == "30"
    await raw.aclose()


async def test_block_when_upbit_answers_418_then_fatal_the_alert_hook_and_nothing_more_is_sent(
    sim: UpbitExchangeSimulator,
):
    alerts: list[BlockNotice] = []

    async def alert(notice: BlockNotice) -> None:
        alerts.append(notice)

    adapter = make_adapter(sim, on_blocked=alert)
    sim.faults.blocked_requests = 1
    sim.faults.block_secs = 45.0

    with pytest.raises(FatalBrokerError):
        await adapter.get_cash(adapter.account_id)
    sent = sum(sim.records.requests_per_path.values())
    with pytest.raises(FatalBrokerError):
        await adapter.get_positions(adapter.account_id)

    assert [(a.duration_secs, a.stated_by_upbit) for a in alerts] == [(45.0, True)]
    assert sum(sim.records.requests_per_path.values()) == sent == 1  # the second call never left the adapter
    assert sim.fault_log.counts["block"] == 1
    await adapter.close()


async def test_429_burst_when_reads_meet_it_then_retried_after_back_off_and_answered(venue: SimBroker, tmp_path: Path):
    server = UpbitExchangeSimulator(venue, wall_clock=SystemClock(), rate_limits=None)
    await server.start()
    adapter = make_adapter(
        server, config={"rate_limited_backoff_initial_secs": 0.01, "rate_limited_backoff_max_secs": 0.02}
    )
    server.faults.rate_limited_requests = 2

    cash = await adapter.get_cash(adapter.account_id)

    assert cash.orderable_krw > 0
    assert server.rate_gate.counts == {429: 2}
    await adapter.close()
    await server.stop()
