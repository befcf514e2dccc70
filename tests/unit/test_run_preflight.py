"""Before a sim run starts: a period where nothing can trade is refused, symbols without data are named, and a
replay that starts a new simulated account although a journal exists says so."""

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.marketdata.coverage import SymbolCoverage, period_coverage
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.preflight import new_account_notice, replay_parameters, replay_problems

ALL = "005930,000660,005380,035420,069500"


def test_coverage_of_2024_when_four_symbols_end_in_2023_then_they_have_no_session():
    coverage = {c.symbol: c for c in period_coverage(ALL.split(","), date(2024, 1, 2), date(2024, 6, 28))}

    assert coverage["005930"].sessions_in_period > 100
    assert {s for s, c in coverage.items() if not c.sessions_in_period} == {"000660", "005380", "035420", "069500"}
    assert coverage["000660"].last == date(2023, 12, 22)


def test_replay_problems_when_some_symbols_lack_data_then_a_warning_names_them_and_their_last_day():
    coverage = period_coverage(ALL.split(","), date(2024, 1, 2), date(2024, 6, 28))

    refusal, warnings = replay_problems(coverage, date(2024, 1, 2), date(2024, 6, 28), 200)

    assert refusal is None
    assert warnings == [
        "no market data for 000660 (its data ends 2023-12-22), 005380 (its data ends 2023-12-22), "
        "035420 (its data ends 2023-12-22), 069500 (its data ends 2023-12-22) in 2024-01-02 → "
        "2024-06-28: they will not trade"
    ]


def test_replay_problems_when_data_ends_inside_the_period_then_warned_until_when():
    coverage = period_coverage(["005930", "000660"], date(2023, 12, 1), date(2024, 1, 31))

    _, warnings = replay_problems(coverage, date(2023, 12, 1), date(2024, 1, 31), 200)

    assert warnings == ["000660's data ends 2023-12-22, before 2024-01-31: it trades until then"]


def test_replay_problems_when_no_symbol_has_the_history_then_refused_naming_it():
    coverage = [SymbolCoverage("005930", date(1990, 9, 11), date(2023, 12, 22), 7, date(1990, 10, 10), 20)]

    refusal, _ = replay_problems(coverage, date(1990, 10, 1), date(1990, 10, 10), 200)

    assert refusal == (
        "nothing to trade in 1990-10-01 → 1990-10-10: 005930 has 20 daily bar(s) before 1990-10-10 "
        "and the strategy needs 201 (long_window_days 200 + 1)"
    )


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (("1990-10-01", "1990-10-10"), "nothing to trade in 1990-10-01 → 1990-10-10: 005930 has 20 daily bar(s)"),
        (
            ("2030-01-02", "2030-02-01"),
            "nothing to trade in 2030-01-02 → 2030-02-01: no market data for 005930 (its data ends 2026-01-15)",
        ),
        (("1980-01-02", "1980-02-01"), "no market data for 005930 (its data starts 1990-09-11)"),
    ],
)
def test_run_when_the_period_has_nothing_to_trade_then_exit_2_naming_symbols_and_period(
    tmp_path, monkeypatch, period, expected
):
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(
        app,
        ["run", "--fresh", "--from", period[0], "--to", period[1], "--symbols", "005930"],
        env={"DATA_DIR": str(tmp_path / "data"), "DB_URL": None},
    )

    assert result.exit_code == 2, result.output
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


def journal(settings, **changes) -> None:
    params = {**replay_parameters(settings), **changes, "generation": 0}
    settings.sim_state_dir.mkdir(parents=True)
    (settings.sim_state_dir / "journal.jsonl").write_text(
        json.dumps({"type": "start", "params": params}) + "\n", encoding="utf-8"
    )


def test_new_account_notice_when_the_period_and_symbols_differ_from_the_journal_then_said_with_the_journals(
    tmp_path: Path,
):
    settings = load_settings(data_dir=tmp_path, sim_from="2023-02-13", sim_to="2023-03-03", sim_symbols="005930")
    journal(settings, start_date="2023-01-02", symbols=["005930", "069500"])

    notice = new_account_notice(settings, fresh=False)

    assert notice == (
        "a new simulated account: the period and symbols differ from the journal's (2023-01-02 → "
        "2023-03-03, 005930,069500); the replay journaled before is archived"
    )


def test_new_account_notice_when_same_replay_then_none_and_when_fresh_then_said(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path, sim_from="2023-02-13", sim_to="2023-03-03")
    assert new_account_notice(settings, fresh=False) is None  # no journal yet: nothing to compare with
    journal(settings)

    assert new_account_notice(settings, fresh=False) is None
    assert new_account_notice(settings, fresh=True) == (
        "a new simulated account (--fresh): the replay journaled before is archived"
    )


async def test_new_account_notice_agrees_with_the_journal_the_simulator_writes(tmp_path: Path):
    from stock_manager.entrypoints.bootstrap import build_sim_broker, replay_clock

    settings = load_settings(data_dir=tmp_path, sim_from="2023-02-13", sim_to="2023-02-17", sim_symbols="005930")
    broker = build_sim_broker(settings, replay_clock(settings))
    await broker.close()
    later = load_settings(data_dir=tmp_path, sim_from="2023-02-13", sim_to="2023-02-24", sim_symbols="005930")

    assert new_account_notice(settings, fresh=False) is None
    assert new_account_notice(later, fresh=False) == (
        "a new simulated account: the period differs from the journal's (2023-02-13 → 2023-02-17, 005930); the "
        "replay journaled before is archived"
    )
