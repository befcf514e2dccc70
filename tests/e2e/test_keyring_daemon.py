"""A paper daemon whose KIS keys are only in the OS credential store (the in-memory keyring of the root
conftest) logs in to the KIS-compatible simulator and trades; rotating the app secret drops the cached token,
so the next login is issued a new one with the new secret. The setup is that of
`test_kis_protocol_daemon.test_run_paper_when_kis_urls_point_at_a_kis_compatible_server_then_it_trades_there`."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.kis_factory import from_settings
from stock_manager.entrypoints.venues import Venue
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

CREDENTIAL = KisCredential(
    app_key="PSpaperAPPKEY" + "0" * 23, app_secret="S" * 180, account="50123456-01", hts_id="owner01"
)
ROTATED = KisCredential(
    app_key=CREDENTIAL.app_key, app_secret="R" * 180, account=CREDENTIAL.account, hts_id=CREDENTIAL.hts_id
)


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[tuple[KisExchangeSimulator, object, object]]:
    """A KIS-compatible paper server replaying the test period at ×60,000 (with its replay and market clock)."""
    market = replay_settings(tmp_path / "exchange", "sqlite+aiosqlite:///unused.db", sim_speed="60000")
    market_clock = replay_clock(market)
    replay = build_sim_broker(market, market_clock)
    server = KisExchangeSimulator(
        replay, mode="paper", credentials=(CREDENTIAL,), wall_clock=SystemClock(), rate_limit_per_sec=None
    )
    await server.start()
    try:
        yield server, replay, market_clock
    finally:
        await server.stop()
        await replay.close()


@pytest.fixture
def paper_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring, exchange) -> Path:
    """Paper settings in the environment, as an owner's .env would hold them, with no key: the keys are in
    the credential store. Returns the daemon's data directory."""
    server, _, _ = exchange
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KIS_APP_KEY", raising=False)
    monkeypatch.delenv("KIS_APP_SECRET", raising=False)
    data = tmp_path / "daemon"
    for name, value in {
        "MODE": "paper",
        "DATA_DIR": str(data),
        "DB_URL": f"sqlite+aiosqlite:///{data.as_posix()}.db",
        "KIS_ACCOUNT": CREDENTIAL.account,
        "KIS_HTS_ID": CREDENTIAL.hts_id,
        "KIS_REST_BASE_URL": server.rest_base_url,
        "KIS_WS_URL": server.ws_url,
        "KIS_RATE_LIMIT_PER_SEC": "50",
    }.items():
        monkeypatch.setenv(name, value)
    memory_keyring.set_password("stockbot", "KIS_APP_KEY", CREDENTIAL.app_key)
    memory_keyring.set_password("stockbot", "KIS_APP_SECRET", CREDENTIAL.app_secret)
    return data


@pytest.mark.slow
async def test_run_paper_when_the_keys_are_only_in_the_keyring_then_it_logs_in_and_trades(exchange, paper_env):
    # Arrange
    server, replay, market_clock = exchange
    paper = replay_settings(paper_env, load_settings().db_url, mode="paper")
    assert paper.kis_app_key is not None and paper.kis_app_key.get_secret_value() == CREDENTIAL.app_key
    broker = from_settings(paper, clock=SystemClock(), market_clock=market_clock)

    # Act
    async with open_storage(paper, upgrade=False) as storage:
        result = await asyncio.wait_for(
            build_daemon(paper, storage, Venue(broker, replay, market_clock), notifier=NullNotifier()).run(), timeout=90
        )
        async with storage.uow_factory() as uow:
            fills = await uow.fills.list_for_account(result.account_id)

    # Assert: logged in with the keyring's keys, traded, and the cached token on disk is sealed.
    assert result.account_id == CREDENTIAL.account and server.tokens_issued == 1
    assert sorted((f.fill.symbol, f.fill.quantity) for f in fills) == [("005930", Decimal(31)), ("069500", Decimal(63))]
    [cache] = (paper_env / "kis-tokens").glob("kis-token-*.json")
    assert set(json.loads(cache.read_text(encoding="utf-8"))) == {"issued_at", "sealed"}


async def test_rotate_when_the_app_secret_is_replaced_then_the_next_login_is_issued_a_new_token(
    exchange, paper_env, memory_keyring
):
    # Arrange: two logins with the keyring's keys; the second reuses the first one's cached token.
    server, _, market_clock = exchange

    async def login() -> None:
        broker = from_settings(load_settings(), clock=SystemClock(), market_clock=market_clock)
        try:
            await broker.login()
        finally:
            await broker.close()

    await login()
    await login()
    assert [new for _, _, new in server.gateway.token_calls] == [True]
    # The owner regenerates the secret at KIS (the old one is refused from now on) ...
    server.gateway.credentials[:] = [ROTATED]
    server.gateway.token_gate = timedelta(0)

    # Act: ... and rotates it here.
    rotated = await asyncio.to_thread(
        CliRunner().invoke, app, ["secrets", "rotate", "KIS_APP_SECRET", "--stdin"], input=ROTATED.app_secret
    )  # the CLI runs its own event loop
    await login()

    # Assert: the old token was dropped, a token was issued with the new secret, and the rotation is an event.
    assert rotated.exit_code == 0, rotated.output
    assert "1 cached KIS access token(s) dropped" in rotated.stdout and ROTATED.app_secret not in rotated.stdout
    assert memory_keyring.values[("stockbot", "KIS_APP_SECRET")] == ROTATED.app_secret
    assert len(server.gateway.token_calls) == 2
    async with open_storage(load_settings(), upgrade=False) as storage, storage.uow_factory() as uow:
        recorded = [e for e in await uow.events.recent(50) if e.kind == "secret_rotated"]
    assert [e.payload["name"] for e in recorded] == ["KIS_APP_SECRET"]
