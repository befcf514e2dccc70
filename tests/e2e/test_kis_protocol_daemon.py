"""The whole daemon over the KIS protocol: `--mode sim` through the KIS adapter and the KIS-compatible simulator
makes exactly the trades of the in-process replay, and `--mode paper` trades at whatever KIS-compatible
server `KIS_REST_BASE_URL` / `KIS_WS_URL` name."""

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.kis_factory import from_settings
from stock_manager.entrypoints.venues import Venue, open_venue
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

pytestmark = pytest.mark.slow


async def trade(settings) -> dict[str, object]:
    """Run the replay of `settings` to its end; return its trades in a protocol-independent form."""
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        async with storage.uow_factory() as uow:
            fills = await uow.fills.list_for_account(result.account_id)
            orders = [
                o for s in result.settlements for o in await uow.orders.list_for_date(result.account_id, s.trading_date)
            ]
    return {
        "orders": sorted(
            (
                o.symbol,
                o.side.value,
                o.order_type.value,
                o.quantity,
                o.limit_price,
                o.status.value,
                o.filled_quantity,
                o.trading_date,
            )
            for o in orders
        ),
        "fills": sorted(
            (
                f.fill.symbol,
                f.fill.side.value,
                f.fill.quantity,
                f.fill.price,
                f.fill.commission_krw,
                f.fill.tax_krw,
                f.fill.ts_filled,
            )
            for f in fills
        ),
        "settlements": [
            (s.trading_date, s.realized_pnl_krw, s.commission_krw, s.tax_krw, s.end_equity_krw)
            for s in result.settlements
        ],
    }


async def test_run_sim_when_through_kis_protocol_then_same_trades_as_the_in_process_replay(tmp_path: Path, db_url: str):
    # Arrange
    direct = replay_settings(
        tmp_path / "direct", f"sqlite+aiosqlite:///{(tmp_path / 'direct.db').as_posix()}", sim_protocol="direct"
    )
    through_kis = replay_settings(tmp_path / "kis", db_url, sim_protocol="kis")

    # Act
    expected = await trade(direct)
    actual = await trade(through_kis)

    # Assert: orders, fills (price, costs, time) and every session's result, to the won.
    assert actual == expected
    assert len(expected["orders"]) == 2 and len(expected["fills"]) == 2  # the period's two golden crosses


async def test_run_paper_when_kis_urls_point_at_a_kis_compatible_server_then_it_trades_there(tmp_path: Path):
    # Arrange: a KIS-compatible server (paper) somewhere, replaying the period in real time ×60,000;
    # the daemon knows it only by the settings an owner would write in .env.
    market = replay_settings(tmp_path / "exchange", "sqlite+aiosqlite:///unused.db", sim_speed="60000")
    market_clock = replay_clock(market)
    exchange = build_sim_broker(market, market_clock)
    credential = KisCredential(
        app_key="PSpaperAPPKEY" + "0" * 23, app_secret="S" * 180, account="50123456-01", hts_id="owner01"
    )
    server = KisExchangeSimulator(
        exchange, mode="paper", credentials=(credential,), wall_clock=SystemClock(), rate_limit_per_sec=None
    )
    await server.start()
    paper = replay_settings(
        tmp_path / "daemon",
        f"sqlite+aiosqlite:///{(tmp_path / 'paper.db').as_posix()}",
        mode="paper",
        kis_app_key=credential.app_key,
        kis_app_secret=credential.app_secret,
        kis_account=credential.account,
        kis_hts_id=credential.hts_id,
        kis_rest_base_url=server.rest_base_url,
        kis_ws_url=server.ws_url,
        kis_rate_limit_per_sec=50,
    )
    # The calendar schedule of paper mode follows the wall clock; here the server's replay is the session
    # source, so the test hands the daemon the server's session timing (everything else is paper's own).
    broker = from_settings(paper, clock=SystemClock(), market_clock=market_clock)
    try:
        async with open_storage(paper, upgrade=False) as storage:
            # Act
            result = await asyncio.wait_for(
                build_daemon(paper, storage, Venue(broker, exchange, market_clock), notifier=NullNotifier()).run(),
                timeout=90,
            )
            async with storage.uow_factory() as uow:
                fills = await uow.fills.list_for_account(result.account_id)
    finally:
        await server.stop()
        await exchange.close()

    # Assert: it logged in with the owner's key, traded the configured account, and its orders and fills
    # are the server's.
    assert result.account_id == "50123456-01"
    assert server.tokens_issued == 1
    received = server.records.orders_received
    assert [o.body["PDNO"] for o in received] == ["005930", "069500"]
    assert all(o.tr_id == "VTTC0012U" for o in received)  # the paper TR of a cash buy
    assert sorted((f.fill.symbol, f.fill.quantity) for f in fills) == [("005930", Decimal(31)), ("069500", Decimal(63))]


def test_run_paper_when_no_keys_then_it_fails_at_once_naming_every_missing_setting(tmp_path: Path):
    from tests.e2e.support import cli_env, stockbot

    env = {
        k: v
        for k, v in cli_env(tmp_path / "data", f"sqlite+aiosqlite:///{(tmp_path / 'p.db').as_posix()}").items()
        if not k.startswith("KIS_")
    }
    env["KIS_ACCOUNT"] = "50123456-01"  # one of the four given: the other three are named

    refused = stockbot("run", "--mode", "paper", env=env, cwd=tmp_path)

    assert refused.returncode == 2
    assert "KIS_APP_KEY" in refused.stderr and "KIS_APP_SECRET" in refused.stderr and "KIS_HTS_ID" in refused.stderr
    assert "KIS_ACCOUNT" not in refused.stderr.replace("KIS_ACCOUNT=", "")
    assert "Traceback" not in refused.stderr and not (tmp_path / "data" / "sim-exchange").exists()
