"""``stockbot exchange-sim``: the simulator replaying the market by itself, its banner, and its clean stop."""

import asyncio
from datetime import date
from pathlib import Path

import httpx
from typer.testing import CliRunner

from stock_manager.adapters.broker.kis_sim import DEFAULT_CREDENTIAL
from stock_manager.adapters.broker.kis_sim.standalone import ExchangeSimOptions, run_exchange_sim
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.entrypoints.cli import app

from .conftest import SAMSUNG


class Console:
    """Collects the printed lines and tells when the replay has finished."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.finished = asyncio.Event()

    def say(self, line: str) -> None:
        self.lines.append(line)
        if "replay finished" in line:
            self.finished.set()


async def test_exchange_sim_when_run_then_prints_urls_and_credential_plays_and_stops_cleanly(tmp_path: Path) -> None:
    console = Console()
    lines = console.lines
    stop = asyncio.Event()
    options = ExchangeSimOptions(
        mode="paper",
        rest_port=0,
        ws_port=0,
        date_from=date(2023, 12, 20),
        date_to=date(2023, 12, 21),
        symbols=[SAMSUNG],
        speed=None,
        state_dir=tmp_path / "state",
        rate_limit_per_sec=None,
    )
    task = asyncio.create_task(run_exchange_sim(options, console.say, stop))
    await asyncio.wait_for(console.finished.wait(), 30)
    env = dict(line.split("=", 1) for line in lines if line.startswith("KIS_"))
    async with httpx.AsyncClient(base_url=env["KIS_REST_BASE_URL"]) as http:
        token = await http.post(
            "/oauth2/tokenP",
            json={"grant_type": "client_credentials", "appkey": env["KIS_APP_KEY"], "appsecret": env["KIS_APP_SECRET"]},
        )

    stop.set()
    code = await task

    assert code == 0 and lines[-1] == "KIS exchange simulator stopped."
    assert env["KIS_ACCOUNT"] == DEFAULT_CREDENTIAL.account and env["KIS_HTS_ID"] == DEFAULT_CREDENTIAL.hts_id
    assert env["KIS_WS_URL"].startswith("ws://127.0.0.1:")
    assert [line.split()[1] for line in lines if line.startswith("session ")] == ["2023-12-20", "2023-12-21"]
    assert token.status_code == 200
    resumed = SimBroker.attach(tmp_path / "state")  # the journal was released and records the whole period
    assert resumed is not None and resumed.finished
    await resumed.close()


async def test_exchange_sim_when_cancelled_then_sockets_and_journal_are_released(tmp_path: Path) -> None:
    console = Console()
    lines = console.lines
    options = ExchangeSimOptions(
        mode="real",
        rest_port=0,
        ws_port=0,
        date_from=date(2023, 12, 20),
        date_to=date(2023, 12, 20),
        symbols=[SAMSUNG],
        speed=None,
        state_dir=tmp_path / "state",
    )
    task = asyncio.create_task(run_exchange_sim(options, console.say))
    await asyncio.wait_for(console.finished.wait(), 30)
    url = next(line.split("=", 1)[1] for line in lines if line.startswith("KIS_REST_BASE_URL="))

    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    async with httpx.AsyncClient() as http:
        try:
            await http.get(url)
            refused = False
        except httpx.ConnectError:
            refused = True
    assert refused
    attached = SimBroker.attach(tmp_path / "state")  # no lock left behind
    assert attached is not None
    await attached.close()


def test_exchange_sim_cli_when_mode_unknown_then_exit_2_with_a_one_line_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["exchange-sim", "--mode", "live"], env={"DATA_DIR": str(tmp_path)})

    assert result.exit_code == 2
    assert "--mode must be paper or real" in result.output


def test_exchange_sim_cli_when_dates_malformed_then_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["exchange-sim", "--from", "2023/12/20"], env={"DATA_DIR": str(tmp_path)})

    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
