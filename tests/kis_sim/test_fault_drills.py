"""Faults for drills and the fault-injection harness: orders executed but left unanswered by probability, the
WebSocket dropped and the tokens expired every N seconds, a shorter token gate, and the log of every fault
injected (which outlives a killed process); and how ``SIM_FAULTS`` sets them up for ``stockbot run``."""

import asyncio
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from stock_manager.adapters.broker.kis_sim import FaultKnobs
from stock_manager.adapters.broker.kis_sim.auth import Gateway
from stock_manager.adapters.broker.kis_sim.faults import FaultLog
from stock_manager.adapters.broker.kis_sim.wire import KisError
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.config.settings import load_settings
from stock_manager.domain.errors import ConfigurationError, TemporaryBrokerError
from stock_manager.entrypoints.venues import FAULT_LOG_FILE, SIM_FAULT_REQUEST_TIMEOUT_SECS, open_venue, parse_faults

from .conftest import CRED, SAMSUNG, KisClient, WallClock, open_session, start_sim, ws_connect

PRICE = ("quotations/inquire-price", "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SAMSUNG})


async def test_unanswered_probability_when_set_then_a_seeded_share_goes_unanswered_and_every_order_is_placed(
    venue: SimBroker, wall: WallClock
) -> None:
    await open_session(venue)
    knobs = FaultKnobs(unanswered_probability=0.5, unanswered_mode="error500", seed=11)
    sim = await start_sim(venue, wall, mode="paper", faults=knobs)
    try:
        async with KisClient(sim) as kis:
            await kis.login()

            async def statuses() -> list[int]:
                return [(await kis.order(qty="1")).status_code for _ in range(8)]

            first = await statuses()
            knobs.reseed()
            second = await statuses()
    finally:
        await sim.stop()

    assert first == second and set(first) == {200, 500}
    assert len(venue.book.orders()) == 16  # executed at the venue, answered or not
    assert sim.fault_log.counts["unanswered_error500"] == first.count(500) * 2


async def test_drop_every_secs_when_set_then_sessions_are_dropped_again_and_again_and_logged(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", faults=FaultKnobs(drop_ws_every_secs=0.1))
    try:
        async with KisClient(sim) as kis:
            key = await kis.approval_key()
            for _ in range(2):
                ws = await ws_connect(sim, key)
                await ws.subscribe("H0STCNT0", SAMSUNG)
                with pytest.raises(ConnectionClosed):
                    await ws.recv(wait_secs=2.0)
    finally:
        await sim.stop()

    assert sim.fault_log.counts["ws_dropped"] >= 2


async def test_expire_every_secs_when_set_then_tokens_expire_while_running_and_a_new_one_works(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(
        venue, wall, mode="paper", faults=FaultKnobs(expire_tokens_every_secs=0.1, token_gate_secs=0.5)
    )
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            before = await kis.get(*PRICE)
            await asyncio.sleep(0.3)
            expired = await kis.get(*PRICE)
            wall.tick(0.6)  # past the shortened token gate
            await kis.login()
            again = await kis.get(*PRICE)
    finally:
        await sim.stop()

    assert before.status_code == 200
    assert expired.json()["msg_cd"] == "EGW00123"
    assert again.status_code == 200 or again.json()["msg_cd"] == "EGW00123"  # the timer may have struck again
    assert sim.fault_log.counts["tokens_expired"] >= 1


async def test_token_gate_when_shortened_then_a_new_token_may_be_asked_sooner_but_not_at_once(
    venue: SimBroker, wall: WallClock
) -> None:
    sim = await start_sim(venue, wall, mode="paper", faults=FaultKnobs(token_gate_secs=1.0))
    try:
        async with KisClient(sim) as kis:
            await kis.login()
            wall.tick(0.5)
            too_soon = await kis.token_call()
            wall.tick(0.6)
            later = await kis.token_call()
    finally:
        await sim.stop()

    assert too_soon.status_code == 403 and too_soon.json()["error_code"] == "EGW00133"
    assert later.status_code == 200


def test_expired_token_when_the_simulator_restarts_then_it_stays_expired(tmp_path: Path, wall: WallClock) -> None:
    path = tmp_path / "kis-tokens.json"
    gateway = Gateway("paper", [CRED], wall)
    gateway.load_tokens(path)
    token = gateway.issue_token(CRED.app_key, CRED.app_secret)
    gateway.expire_tokens()

    restarted = Gateway("paper", [CRED], wall)
    restarted.load_tokens(path)

    with pytest.raises(KisError) as refused:
        restarted.check_token(f"Bearer {token.token}", CRED.app_key)
    assert refused.value.msg_cd == "EGW00123"


def test_fault_log_when_written_then_counts_survive_in_the_file_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "faults.jsonl"
    log = FaultLog(path)
    log.note("error500", path="/uapi/x")
    log.note("ws_dropped", connections=1)
    log.note("error500", path="/uapi/y")
    with path.open("a", encoding="utf-8") as file:
        file.write('{"kind": "unanswe')  # the process was killed mid-line

    counts = FaultLog.read(path)

    assert counts == log.counts == {"error500": 2, "ws_dropped": 1}
    assert FaultLog.read(tmp_path / "none.jsonl") == {}


def test_parse_faults_when_periodic_and_probabilistic_knobs_given_then_they_are_set() -> None:
    knobs = parse_faults(
        "unanswered_probability=0.2, unanswered_mode=close, drop_ws_every_secs=2.5,"
        "expire_tokens_every_secs=3.5,token_gate_secs=1,seed=7"
    )

    assert knobs is not None
    assert (
        knobs.unanswered_probability,
        knobs.unanswered_mode,
        knobs.drop_ws_every_secs,
        knobs.expire_tokens_every_secs,
        knobs.token_gate_secs,
        knobs.seed,
    ) == (0.2, "close", 2.5, 3.5, 1.0, 7)
    with pytest.raises(ConfigurationError, match=r"unknown knob 'drop_every'.*drop_ws_every_secs"):
        parse_faults("drop_every=3")


async def test_sim_venue_when_faults_on_then_the_adapter_times_out_soon_and_each_fault_is_logged_in_the_state_dir(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        mode="sim",
        data_dir=tmp_path / "data",
        sim_from="2023-02-13",
        sim_to="2023-02-14",
        sim_symbols="005930",
        sim_faults="error500_probability=1",
    )

    async with open_venue(settings) as venue:
        await venue.broker.login()
        with pytest.raises(TemporaryBrokerError):
            await venue.broker.get_price("005930")  # every try answered HTTP 500
        timeout = venue.broker.config.request_timeout_secs  # type: ignore[attr-defined]

    assert timeout == SIM_FAULT_REQUEST_TIMEOUT_SECS
    assert FaultLog.read(settings.sim_state_dir / FAULT_LOG_FILE) == {"error500": 5}


async def test_sim_venue_when_no_faults_then_the_adapter_keeps_its_timeout_and_nothing_is_logged(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        mode="sim", data_dir=tmp_path / "data", sim_from="2023-02-13", sim_to="2023-02-14", sim_symbols="005930"
    )

    async with open_venue(settings) as venue:
        timeout = venue.broker.config.request_timeout_secs  # type: ignore[attr-defined]

    assert timeout == 10.0
    assert not (settings.sim_state_dir / FAULT_LOG_FILE).exists()
