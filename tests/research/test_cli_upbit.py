"""`stockbot backtest --venue upbit` and `stockbot optimize --venue upbit`: the Bitcoin strategies on the bundled
KRW-BTC candles, the figures of the in-memory replay, one-line errors with exit 2."""

import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.entrypoints.cli import app
from stock_manager.research.intraday import IntradayConfig, run_intraday, strategies_of, upbit_replay
from stock_manager.research.metrics import summarize

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    for name in ("VENUE", "SIM_SYMBOLS", "STRATEGIES", "DB_URL"):
        monkeypatch.delenv(name, raising=False)


def test_backtest_upbit_when_run_then_the_replays_figures_and_every_output(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            *("backtest", "--venue", "upbit", "--strategies", "grid"),
            *("--from", "2024-03-01", "--to", "2024-03-05", "--out", str(out), "--json"),
        ],
    )

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    market, venue = upbit_replay(["KRW-BTC"])
    config = IntradayConfig(
        date(2024, 3, 1), date(2024, 3, 5), strategies_of([STRATEGIES["grid"]]), limits=printed_limits()
    )
    expected = summarize(run_intraday(market, venue, config))
    assert Decimal(printed["end_equity_krw"]) == expected["end_equity_krw"]
    assert printed["fills"] == expected["fills"] > 0 and printed["symbols"] == ["KRW-BTC"]
    assert printed["period"] == "2024-03-01..2024-03-05" and printed["sessions"] == 5
    orders = (out / "orders.csv").read_text(encoding="utf-8").splitlines()
    assert len(orders) - 1 == expected["orders"] and all(",grid" in line for line in orders[1:])
    assert {p.name for p in out.iterdir()} >= {"equity.png", "report.html", "trades.csv", "fills.csv", "summary.json"}


def printed_limits():
    from stock_manager.config.settings import load_settings
    from stock_manager.entrypoints.bootstrap import risk_limits

    return risk_limits(load_settings(venue="upbit"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["backtest", "--venue", "upbit", "--strategies", "nope"], "unknown strategy nope; known: ma_cross_50_200"),
        (
            ["backtest", "--venue", "upbit", "--from", "2030-01-01", "--to", "2030-02-01"],
            "no 30-minute candles of KRW-BTC",
        ),
        (["backtest", "--venue", "upbit", "--fill-model", "close"], "--fill-model is not available with --venue upbit"),
        (["backtest", "--strategies", "grid"], "--strategies is available with --venue upbit"),
        (["optimize", "--venue", "upbit", "--spec", "optimize.upbit.example.yaml"], "needs --strategy naming one"),
        (
            ["optimize", "--venue", "upbit", "--strategy", "grid", "--spec", "optimize.upbit.example.yaml"],
            "unknown strategy parameter(s) in the search file: k, ma_filter_days, position_value_krw",
        ),
    ],
)
def test_upbit_research_cli_when_the_input_is_bad_then_one_line_and_exit_2(args, words):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert words in result.output and result.output.strip().count("\n") == 0


def test_optimize_upbit_when_run_then_walk_forward_windows_and_every_trial(tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text(
        "objective: return_pct\ntrials: 2\nseed: 3\n"
        "walk_forward: {in_sample_days: 10, out_of_sample_days: 5}\n"
        "params: {levels: {low: 6, high: 14, step: 2}, band_pct: [3, 5, 8]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["optimize", "--venue", "upbit", "--strategy", "grid", "--spec", str(spec), "--jobs", "1"]
    result = runner.invoke(app, [*args, "--from", "2024-03-01", "--to", "2024-03-20", "--out", str(out), "--json"])

    assert result.exit_code == 0, result.output
    document = json.loads((out / "optimize.json").read_text(encoding="utf-8"))
    assert [w["out_of_sample"] for w in document["windows"]] == ["2024-03-11..2024-03-15", "2024-03-16..2024-03-20"]
    assert len(document["trials"]) == 4
    assert all(
        t["objective_in_sample"] is not None and t["objective_out_of_sample"] is not None for t in document["trials"]
    )
    assert document["baseline"] == STRATEGIES["grid"].default_params().to_mapping()
    assert document["verdict"]
