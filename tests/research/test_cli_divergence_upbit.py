"""`stockbot divergence --venue upbit`: the table, the JSON and the chart of a period the daemon traded on Upbit
(its direct sim replay on a migrated SQLite database), ``--record``; bad input is one line and exit 2."""

import asyncio
import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.entrypoints.cli import app
from stock_manager.research.store import list_runs
from tests.research.support import fresh_sqlite, upbit_daemon_replay

runner = CliRunner()
PERIOD = ("--from", "2024-03-01", "--to", "2024-03-05")


@pytest.fixture(autouse=True)
def _environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    for name in ("VENUE", "SIM_SYMBOLS", "STRATEGIES", "DB_URL", "MODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def traded(tmp_path, _sqlite_template) -> tuple[str, str]:
    """Return (database URL, account) of the daemon's Upbit sim replay of 2024-03-01..2024-03-05."""
    db_url = fresh_sqlite(_sqlite_template, tmp_path)
    account = asyncio.run(upbit_daemon_replay(tmp_path, db_url, date(2024, 3, 1), date(2024, 3, 5)))
    return db_url, account


def test_divergence_upbit_cli_when_the_daemon_traded_then_table_json_and_chart(tmp_path, traded):
    db_url, account = traded
    out = tmp_path / "out"

    args = ["divergence", "--venue", "upbit", *PERIOD, "--db-url", db_url, "--out", str(out), "--record"]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    text = result.output
    assert f"upbit account {account} (sim), 2024-03-01..2024-03-05" in text
    assert "strategies volatility_breakout, grid, turtle" in text
    assert "Trade by trade (first fill: KST (UTC))" in text and "By strategy" in text
    assert "2024-03-05 09:00:00 KST (2024-03-05 00:00:00 UTC)" in text  # the day boundary exit, both zones
    assert "PnL difference daemon − backtest: 0 KRW" in text
    document = json.loads((out / "divergence.json").read_text(encoding="utf-8"))
    assert document["venue"] == "upbit" and document["account"] == account and document["mode"] == "sim"
    assert document["strategies"] == ["volatility_breakout", "grid", "turtle"]
    assert document["missing"] == [] and document["extra"] == [] and len(document["pairs"]) > 10
    assert Decimal(document["pnl_difference_krw"]) == 0
    assert {Decimal(v) for v in document["decomposition_krw"].values()} == {0}
    assert document["pairs"][0]["first_fill_daemon"].endswith("+00:00")  # stored and written UTC
    assert all("E" not in p["quantity_daemon"] for p in document["pairs"])  # plain decimals, 8 places at most
    assert (out / "divergence.png").stat().st_size > 0
    assert "recorded as divergence run 1" in text
    runs = asyncio.run(_runs(db_url))
    assert [(r["kind"], r["strategy_id"], r["config"]) for r in runs] == [
        ("DIVERGENCE", "volatility_breakout,grid,turtle", {"account": account, "venue": "upbit"})
    ]
    assert Decimal(runs[0]["summary"]["pnl_difference_krw"]) == 0


async def _runs(db_url: str) -> list[dict]:
    engine = create_engine(db_url)
    try:
        return await list_runs(engine)
    finally:
        await engine.dispose()


def test_divergence_upbit_cli_when_json_then_the_report_and_per_strategy_figures(tmp_path, traded):
    db_url, _ = traded
    args = ["divergence", "--venue", "upbit", *PERIOD, "--strategies", "grid,turtle", "--json"]

    result = runner.invoke(app, [*args, "--db-url", db_url, "--out", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["strategies"] == ["grid", "turtle"] and list(printed["by_strategy"]) == ["grid", "turtle"]
    assert {p["strategy"] for p in printed["pairs"]} == {"grid", "turtle"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from", "2024-03-10", "--to", "2024-03-12"], "no Upbit account has orders in 2024-03-10..2024-03-12"),
        ([*PERIOD, "--account", "NOPE"], "account NOPE has no Upbit orders in 2024-03-01..2024-03-05"),
        ([*PERIOD, "--strategies", "nope"], "unknown strategy nope; known: ma_cross_50_200"),
        (["--from", "2030-01-01", "--to", "2030-01-02"], "no 30-minute candles of KRW-BTC in 2030-01-01..2030-01-02"),
        (["--from", "2024-03-05", "--to", "2024-03-01"], "--from 2024-03-05 is after --to 2024-03-01"),
        (["--from", "March", "--to", "2024-03-01"], "--from must be YYYY-MM-DD, was 'March'"),
    ],
)
def test_divergence_upbit_cli_when_the_input_is_bad_then_one_line_and_exit_2(tmp_path, traded, args, words):
    db_url, _ = traded
    result = runner.invoke(app, ["divergence", "--venue", "upbit", *args, "--db-url", db_url])
    assert result.exit_code == 2, result.output
    assert words in result.output and result.output.strip().count("\n") == 0


def test_divergence_cli_when_strategies_without_upbit_then_one_line_and_exit_2(tmp_path, _sqlite_template):
    db_url = fresh_sqlite(_sqlite_template, tmp_path)
    result = runner.invoke(app, ["divergence", *PERIOD, "--strategies", "grid", "--db-url", db_url])
    assert result.exit_code == 2
    assert "--strategies is available with --venue upbit" in result.output
    assert result.output.strip().count("\n") == 0
