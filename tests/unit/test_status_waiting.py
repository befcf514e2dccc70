"""`stockbot status` of a daemon waiting between sessions: WAITING for the next session's start in KST, on the
console and in --json (UTC, as every stored time)."""

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.entrypoints import cli_app
from stock_manager.entrypoints.cli import app
from stock_manager.service_layer.ports.records import DaemonState

ACCOUNT = "50123456-01"
T0 = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # Friday 16:00 KST
MONDAY_PRE_OPEN = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Monday 08:30 KST


def seed(data_dir: Path, state: DaemonState) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        url = f"sqlite+aiosqlite:///{(data_dir / 'stockbot.db').as_posix()}"
        await upgrade_to_head(url)
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine, mode="paper")() as uow:
                await uow.control.put_daemon_state(state)
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    before = cli_app.console._width
    cli_app.console.width = 300
    yield {"DATA_DIR": str(tmp_path / "data"), "DB_URL": None, "MODE": None, "KIS_ACCOUNT": None, "COLUMNS": "300"}
    cli_app.console._width = before


def test_status_when_the_daemon_waits_over_the_weekend_then_it_says_until_when_in_kst(env):
    waiting = DaemonState(
        ACCOUNT, "paper", "WAITING", "", date(2026, 12, 4), None, 4242, T0, T0, ts_next_session=MONDAY_PRE_OPEN
    )
    seed(Path(env["DATA_DIR"]), waiting)

    shown = CliRunner().invoke(app, ["status"], env=env)
    data = json.loads(CliRunner().invoke(app, ["status", "--json"], env=env).stdout)

    assert shown.exit_code == 0, shown.output
    assert "state WAITING for 2026-12-07 08:30:00 KST" in shown.output
    assert data["daemon"]["trading_state"] == "WAITING"
    assert data["daemon"]["ts_next_session"] == "2026-12-06T23:30:00+00:00"


def test_status_when_the_daemon_trades_then_no_next_session_is_shown(env):
    seed(Path(env["DATA_DIR"]), DaemonState(ACCOUNT, "paper", "TRADING", "", date(2026, 12, 4), None, 1, T0, T0))

    shown = CliRunner().invoke(app, ["status"], env=env)
    data = json.loads(CliRunner().invoke(app, ["status", "--json"], env=env).stdout)

    assert "state TRADING  session 2026-12-04" in shown.output and "WAITING" not in shown.output
    assert data["daemon"]["ts_next_session"] is None
