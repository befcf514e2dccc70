"""`stockbot backtest` on the user's files: the documented columns, one-line errors with exit 2, --record."""

import json
from datetime import date

from typer.testing import CliRunner

from stock_manager.entrypoints.cli import app
from stock_manager.research.data import bundled, write_csv
from stock_manager.research.engine import BacktestConfig, run_backtest
from tests.research.support import backtest_rows, fresh_sqlite

runner = CliRunner()


def test_backtest_when_bars_come_from_a_csv_then_same_trades_as_the_bundled_data(tmp_path):
    market = bundled(["000660", "069500"])
    write_csv(market, tmp_path / "bars.csv")
    from stock_manager.research.data import from_files

    config = BacktestConfig(date(2022, 1, 1), date(2023, 6, 30))
    assert backtest_rows(run_backtest(from_files([tmp_path / "bars.csv"]), config)) == backtest_rows(
        run_backtest(market, config)
    )


def test_backtest_cli_when_csv_has_a_bad_row_then_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date,open,high,low,close,volume\nAAA,2023-01-02,100,90,95,99,10\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--data", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "bad.csv row 2: needs low <= open, close <= high" in result.output


def test_backtest_cli_when_a_column_is_missing_then_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date,open,high,low,close\nAAA,2023-01-02,100,110,95,99\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--data", str(bad)])
    assert result.exit_code == 2 and "missing column(s) volume" in result.output


def test_backtest_cli_when_recorded_then_a_named_run_with_its_fills(tmp_path, _sqlite_template, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    db_url = fresh_sqlite(_sqlite_template, tmp_path)
    result = runner.invoke(
        app,
        [
            "backtest",
            "--symbols",
            "005930,069500",
            "--from",
            "2023-02-13",
            "--to",
            "2023-03-03",
            "--out",
            str(tmp_path / "out"),
            "--record",
            "--name",
            "feb",
            "--db-url",
            db_url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["fills"] == 2 and (tmp_path / "out" / "report.html").read_text().count("<svg") == 1
    import asyncio

    from stock_manager.adapters.storage.engine import create_engine
    from stock_manager.research.store import list_runs

    async def runs():
        engine = create_engine(db_url)
        try:
            return await list_runs(engine, "feb")
        finally:
            await engine.dispose()

    (run,) = asyncio.run(runs())
    assert run["kind"] == "BACKTEST" and run["summary"]["fills"] == 2
