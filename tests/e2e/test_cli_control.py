"""The owner's controls as they are used: `stockbot` subprocesses against a running or crashed daemon."""

import json
import os
import random
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert, select

from stock_manager.adapters.observability.masking import partial_account
from stock_manager.adapters.storage import tables
from stock_manager.adapters.storage.engine import sync_db_url
from stock_manager.domain.fill_matching import normalize_order_number
from tests.e2e.support import cli_env, dump_database, query, start_stockbot, stockbot

pytestmark = pytest.mark.slow


def wait_for_state(db_url: str, wanted: str, timeout_secs: float, process: Any = None) -> None:
    """Wait until the daemon (`process`, when given: its own row, not one a killed predecessor left) is `wanted`."""
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return  # it finished (or died) first
        try:
            rows = query(db_url, select(tables.daemon_state.c.trading_state, tables.daemon_state.c.pid))
        except Exception:
            rows = []
        if rows and rows[0][0] == wanted and (process is None or rows[0][1] == process.pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"daemon never reached {wanted}")


def test_kill_when_daemon_is_trading_then_it_stops_within_a_second_and_stays_stopped(tmp_path: Path, db_url: str):
    # Arrange: a slow replay (about 6 s per session) so the daemon is mid-session when the switch is set.
    env = cli_env(tmp_path / "data", db_url, SIM_SPEED="4000")
    daemon = start_stockbot("run", env=env, cwd=tmp_path)
    try:
        wait_for_state(db_url, "TRADING", 60)
        # Act
        killed = stockbot("kill", "--reason", "test: stop now", env=env, cwd=tmp_path)
        daemon.wait(timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    # Assert: the daemon noticed, recorded it, and exited with the kill switch's code and message.
    assert killed.returncode == 0, killed.stderr
    assert "Kill switch set" in killed.stdout and "has stopped" in killed.stdout
    assert daemon.returncode == 3
    assert "Stopped by the kill switch: test: stop now" in daemon.stderr.read()
    # From the switch being committed to the daemon's exit being recorded (both wall-clock times).
    [(ts_set,)] = query(db_url, select(tables.kill_switch.c.ts_changed))
    [(ts_exited,)] = query(db_url, select(tables.daemon_state.c.ts_heartbeat))
    assert 0 < (ts_exited - ts_set).total_seconds() < 1.0
    kinds = [r[0] for r in query(db_url, select(tables.events.c.kind))]
    assert "kill_switch_set" in kinds and "kill_switch" in kinds
    assert query(db_url, select(tables.daemon_state.c.trading_state))[0][0] == "EXITED"
    # The switch is latched: a new daemon refuses to start until `resume`.
    refused = stockbot("run", env=env, cwd=tmp_path)
    assert refused.returncode == 3 and "stockbot resume" in refused.stderr
    declined = stockbot("resume", env=env, cwd=tmp_path, input_text="n\n")
    assert declined.returncode == 1
    assert query(db_url, select(tables.kill_switch.c.active))[0][0]
    resumed = stockbot("resume", "--yes", env=env, cwd=tmp_path)
    assert resumed.returncode == 0
    assert not query(db_url, select(tables.kill_switch.c.active))[0][0]


#: At most this many kills, then the daemon is let finish (the fault-injection harness kills it hundreds of
#: times, with faults on).
KILLS = 4


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL: the fault-injection harness
def test_restart_when_daemon_is_sigkilled_repeatedly_then_no_duplicate_order_and_no_lost_fill(
    tmp_path: Path, db_url: str
):
    # Arrange: the same replay uninterrupted, as the reference.
    reference_db = f"sqlite+aiosqlite:///{(tmp_path / 'reference.db').as_posix()}"
    reference = stockbot("run", env=cli_env(tmp_path / "ref", reference_db), cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    env = cli_env(tmp_path / "data", db_url, SIM_SPEED="60000")  # about 0.4 s per session
    rng = random.Random(20230217)
    kills = 0
    # Act: SIGKILL the daemon at random moments, start it again, until it finishes the period.
    for attempt in range(15):
        daemon = start_stockbot("run", env=env, cwd=tmp_path)
        try:
            if kills == KILLS:  # enough: this run plays the rest of the period
                daemon.wait(timeout=120)
            elif attempt % 4 == 3:  # now and then during start-up (login, recovery) ...
                daemon.wait(timeout=rng.uniform(0.5, 3.0))
            else:  # ... mostly while trading, however long start-up takes on this machine
                wait_for_state(db_url, "TRADING", 60, process=daemon)
                daemon.wait(timeout=rng.uniform(0.3, 3.0))
        except Exception:
            os.kill(daemon.pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
            daemon.wait()
            if kills == KILLS:
                pytest.fail("the daemon did not finish the period in 120 s")
            kills += 1
            continue
        assert daemon.returncode == 0, daemon.stderr.read()
        break
    else:
        pytest.fail("the daemon never finished the period")
    # Assert
    assert kills >= 2
    columns = (tables.orders.c.idempotency_key, tables.orders.c.status, tables.orders.c.broker_order_number)

    def orders(url: str) -> list[tuple[str, ...]]:
        # An order adopted by recovery keeps the number as the inquiry gives it ("0000000002"), the order
        # answer of a paper account gives it short ("2"): the same number (kis-openapi.md, order-number formats).
        return sorted(
            (key.split(":", 1)[1], status, normalize_order_number(number) if number else number)
            for key, status, number in query(url, select(*columns))
        )

    def fills(url: str) -> list[tuple[object, ...]]:
        return sorted(
            tuple(r)
            for r in query(
                url,
                select(
                    tables.fills.c.broker_fill_id,
                    tables.fills.c.quantity,
                    tables.fills.c.price,
                    tables.fills.c.order_id.is_(None),
                ),
            )
        )

    assert orders(db_url) == orders(reference_db)  # one broker order per decision, none lost
    assert fills(db_url) == fills(reference_db)  # every fill exactly once, none external
    assert len(query(db_url, select(tables.daily_settlements.c.trading_date))) == len(
        query(reference_db, select(tables.daily_settlements.c.trading_date))
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # both databases: test_recover_differences.py
def test_recover_dry_run_when_database_differs_from_broker_then_shows_each_difference_and_changes_nothing(
    tmp_path: Path, db_url: str
):
    # Arrange: a finished replay, then an order the daemon committed as NEW but never sent (a crash between
    # commit and send), so the database and the broker differ.
    env = cli_env(tmp_path / "data", db_url)
    assert stockbot("run", env=env, cwd=tmp_path).returncode == 0
    [(account, day)] = query(db_url, select(tables.daemon_state.c.account_id, tables.daemon_state.c.trading_date))
    order = dict(query(db_url, select(tables.orders).limit(1))[0]._mapping)
    order.update(
        id=None,
        idempotency_key=f"{account}:manual-crash-test",
        status="NEW",
        broker_order_number=None,
        filled_quantity=Decimal(0),
        filled_amount_krw=Decimal(0),
        ts_sent=None,
        ts_filled=None,
        trading_date=day,
    )
    order.pop("id")
    engine = create_sync_engine(sync_db_url(db_url))
    with engine.begin() as connection:
        connection.execute(insert(tables.orders).values(**order))
    engine.dispose()
    before_db = dump_database(db_url)
    journal = tmp_path / "data" / "sim-exchange" / "journal.jsonl"
    before_journal = journal.read_bytes()
    # Act
    shown = stockbot("recover", "--dry-run", env=env, cwd=tmp_path)
    as_json = stockbot("recover", "--dry-run", "--json", env=env, cwd=tmp_path)
    # Assert: the difference is shown, as a table and as JSON, and nothing changed anywhere.
    assert shown.returncode == 0, shown.stderr
    assert "not_placed" in shown.stdout and "would" in shown.stdout
    plan = json.loads(as_json.stdout)
    assert plan["dry_run"] is True
    assert [a["kind"] for a in plan["actions"]] == ["not_placed"]
    assert plan["actions"][0]["order_key"] == f"{partial_account(account)}:manual-crash-test"  # shown partly
    after_db = dump_database(db_url)
    dry_runs = after_db.pop("recovery_logs")[len(before_db.pop("recovery_logs")) :]
    assert after_db == before_db
    logged = [dict(zip(tables.recovery_logs.columns.keys(), row, strict=True)) for row in dry_runs]
    assert [(r["dry_run"], r["outcome"]) for r in logged] == [(True, "CORRECTED"), (True, "CORRECTED")]  # a record each
    assert journal.read_bytes() == before_journal
    # Applying it (without --dry-run) does change the order, and only that.
    applied = stockbot("recover", env=env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    status = query(
        db_url,
        select(tables.orders.c.status, tables.orders.c.status_reason).where(
            tables.orders.c.idempotency_key == f"{account}:manual-crash-test"
        ),
    )
    assert status[0][0] == "CANCELED" and "not placed" in status[0][1]


def test_status_when_replay_finished_then_json_shows_mode_positions_and_events(tmp_path: Path, db_url: str):
    env = cli_env(tmp_path / "data", db_url)
    assert stockbot("run", env=env, cwd=tmp_path).returncode == 0

    shown = stockbot("status", "--json", env=env, cwd=tmp_path)

    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["daemon"]["mode"] == "sim" and status["daemon"]["trading_state"] == "EXITED"
    assert sorted(p["symbol"] for p in status["positions"]) == ["005930", "069500"]
    assert status["open_orders"] == []
    assert status["kill_switch"]["active"] is False
    assert status["events"] and status["events"][0]["kind"] == "market_close"
    table = stockbot("status", env=env, cwd=tmp_path)
    assert "Mode sim" in table.stdout and "005930" in table.stdout
