"""End to end on the bundled data through the CLI, on SQLite and PostgreSQL: a sim run with the nightly jobs on
writes a journal per session and parameter drafts; rejecting one changes nothing; approving one changes the
next session's parameters, visible in the orders' reasons; the history says who, when and why."""

import json
from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from stock_manager.adapters.storage import tables
from stock_manager.entrypoints.cli import app
from tests.e2e.support import query

runner = CliRunner()
FIRST = ("2023-02-13", "2023-03-03")  # 14 sessions; two golden crosses with the defaults (005930, 069500)
SECOND = ("2023-03-06", "2023-06-30")
#: The first run's universe (the research searches on it); the second trades all five bundled symbols: the
#: parameters are the strategy's, whatever it trades.
FIRST_SYMBOLS, SECOND_SYMBOLS = "005930,069500", "005930,000660,005380,035420,069500"


def stockbot(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_nightly_jobs_then_journals_and_drafts_and_only_an_approval_changes_the_next_sessions(
    tmp_path, db_url, monkeypatch
):
    # Arrange: a replay with the journal after every close and proposals after every 7th.
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_URL": db_url,
        "SIM_SYMBOLS": FIRST_SYMBOLS,
        "SIM_PROTOCOL": "direct",
        "AI_JOURNAL_AFTER_CLOSE": "true",
        "AI_PROPOSE_NIGHTLY": "true",
        "AI_PROPOSE_EVERY_SESSIONS": "7",
        "AI_PROPOSE_TRIALS": "16",
        "AI_JOURNAL_LANGUAGE": "en",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    # Act 1: the first run.
    output = stockbot("run", "--from", FIRST[0], "--to", FIRST[1])

    # Assert: a journal per session, drafts after the 7th and 14th closes, each run recorded.
    settled = [r.trading_date for r in query(db_url, select(tables.daily_settlements.c.trading_date))]
    journals = query(db_url, select(tables.trade_journals))
    drafts = query(db_url, select(tables.strategy_param_drafts).order_by(tables.strategy_param_drafts.c.id))
    assert len(settled) == 14 and sorted(j.trading_date for j in journals) == sorted(settled)
    assert "AI jobs: 14 journal(s), 2 parameter draft(s)" in output
    assert all(j.status == "ANNOUNCED" and j.model == "facts" for j in journals)
    runs = query(db_url, select(tables.ai_job_runs.c.job, tables.ai_job_runs.c.outcome))
    assert sorted((r.job, r.outcome) for r in runs) == [("journal", "OK")] * 14 + [("propose", "OK")] * 2
    assert [(d.origin, d.status, d.data_until) for d in drafts] == [
        ("optimizer", "VALIDATED", date(2023, 2, 21)),
        ("optimizer", "VALIDATED", date(2023, 3, 3)),
    ]
    entry = next(j for j in journals if j.trading_date == date(2023, 2, 17))
    assert "BUY 31 005930 LIMIT 64,300 KRW → FILLED 31 avg 62,900 KRW — reason: golden cross SMA50" in entry.text
    assert "Against the backtest: period 2023-02-13..2023-02-17" in entry.text
    shown = stockbot("ai", "journal", "show", "--date", "2023-02-17")
    assert "reason: golden cross SMA50 60434 > SMA200 60368" in shown

    # Act 2: reject the first draft; approve the second from the next session (the default).
    stockbot("params", "reject", str(drafts[0].id), "--reason", "older data", "--by", "tester", "--yes")
    assert query(db_url, select(tables.strategy_params)) == []  # rejecting changes nothing
    stockbot(
        "params", "approve", str(drafts[1].id), "--reason", "beats the defaults out of sample", "--by", "owner", "--yes"
    )
    (row,) = query(db_url, select(tables.strategy_params))
    assert (row.status, row.effective_date) == ("ACTIVE", date(2023, 3, 6))

    # Act 3: the next period, on a new simulated account (the nightly jobs off: what is asserted now is which
    # parameters decided its orders).
    monkeypatch.setenv("AI_JOURNAL_AFTER_CLOSE", "false")
    monkeypatch.setenv("AI_PROPOSE_NIGHTLY", "false")
    stockbot("run", "--from", SECOND[0], "--to", SECOND[1], "--symbols", SECOND_SYMBOLS, "--fresh")

    # Assert: its orders were decided with the approved parameters; the draft is APPLIED; the history.
    proposed = drafts[1].proposed_params
    short, long = proposed["short_window_days"], proposed["long_window_days"]
    reasons = [
        r.reason
        for r in query(db_url, select(tables.orders.c.reason).where(tables.orders.c.trading_date >= date(2023, 3, 6)))
    ]
    entries = [r for r in reasons if r.startswith("golden cross")]
    assert entries and all(r.startswith(f"golden cross SMA{short} ") and f"> SMA{long} " in r for r in entries)
    assert not any("SMA50 " in r for r in reasons)
    (applied,) = query(
        db_url, select(tables.strategy_param_drafts).where(tables.strategy_param_drafts.c.id == drafts[1].id)
    )
    assert (applied.status, applied.applied_on, applied.decided_by) == ("APPLIED", date(2023, 3, 6), "owner")
    history = json.loads(stockbot("params", "history", "--json"))
    assert [(h["kind"], h["who"], h["why"]) for h in history] == [
        ("params rejected", "tester", "older data"),
        ("params approved", "owner", "beats the defaults out of sample"),
        ("params applied", "daemon", "approved by owner"),
    ]
    assert all(h["ts"] for h in history)
