"""The kill switch and observe mode as the owner uses them: `stockbot` subprocesses against a running daemon,
on SQLite and PostgreSQL."""

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from tests.e2e.support import cli_env, query, start_stockbot, stockbot

pytestmark = pytest.mark.slow

#: 005380 (Hyundai Motor): a golden-cross limit buy at the 2023-04-12 pre-open that never fills that day.
WORKING_ORDER = {"SIM_FROM": "2023-04-12", "SIM_TO": "2023-04-14", "SIM_SYMBOLS": "005380"}


def wait_for_sent_order(db_url: str, timeout_secs: float) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        try:
            rows = query(db_url, select(tables.orders.c.status))
        except Exception:
            rows = []
        if rows and rows[0][0] == "SENT":
            return
        time.sleep(0.05)
    raise AssertionError("the daemon never had a working order")


def test_kill_cancel_open_when_daemon_has_a_working_order_then_it_is_cancelled_and_daemon_exits_within_a_second(
    tmp_path: Path, db_url: str
):
    # Arrange: a replay at about 6 s per session, with the limit buy working at the broker.
    env = cli_env(tmp_path / "data", db_url, SIM_SPEED="4000", **WORKING_ORDER)
    daemon = start_stockbot("run", env=env, cwd=tmp_path)
    try:
        wait_for_sent_order(db_url, 90)
        # Act
        killed = stockbot("kill", "--cancel-open", "--reason", "test: cancel and stop", env=env, cwd=tmp_path)
        daemon.wait(timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    # Assert: the daemon exited with the kill switch's code, having cancelled its working order.
    assert killed.returncode == 0, killed.stderr
    assert "cancel_open" in killed.stdout and "has stopped" in killed.stdout
    assert daemon.returncode == 3
    assert "1 open order(s) cancelled" in daemon.stderr.read()
    [(ts_set, action)] = query(db_url, select(tables.kill_switch.c.ts_changed, tables.kill_switch.c.action))
    [(ts_exited, state)] = query(
        db_url, select(tables.daemon_state.c.ts_heartbeat, tables.daemon_state.c.trading_state)
    )
    assert action == "cancel_open" and state == "EXITED"
    assert 0 < (ts_exited - ts_set).total_seconds() < 1.0
    [(status, reason)] = query(db_url, select(tables.orders.c.status, tables.orders.c.status_reason))
    assert status == "CANCELED" and "kill switch" in reason
    journal = (tmp_path / "data" / "sim-exchange" / "journal.jsonl").read_text(encoding="utf-8")
    assert any(json.loads(line).get("type") == "cancel" for line in journal.splitlines())
    decisions = query(db_url, select(tables.risk_events.c.rule, tables.risk_events.c.decision))
    assert ("kill_switch", "KILL") in decisions


def test_run_when_observe_mode_then_would_be_orders_recorded_and_the_broker_sees_nothing(tmp_path: Path, db_url: str):
    env = cli_env(tmp_path / "data", db_url)

    observed = stockbot("run", "--order-mode", "observe", env=env, cwd=tmp_path)

    assert observed.returncode == 0, observed.stderr
    assert query(db_url, select(tables.orders.c.id)) == []
    would_be = query(
        db_url,
        select(
            tables.observed_orders.c.symbol, tables.observed_orders.c.side, tables.observed_orders.c.trading_date
        ).order_by(tables.observed_orders.c.id),
    )
    assert [(s, side, str(d)) for s, side, d in would_be] == [
        ("005930", "BUY", "2023-02-17"),
        ("069500", "BUY", "2023-02-23"),
    ]
    journal = (tmp_path / "data" / "sim-exchange" / "journal.jsonl").read_text(encoding="utf-8")
    assert not any(json.loads(line).get("type") in ("place", "cancel") for line in journal.splitlines())
    kinds = [k for (k,) in query(db_url, select(tables.events.c.kind))]
    assert kinds.count("order_observed") == 2 and "order_sent" not in kinds


def test_kill_flatten_when_daemon_holds_a_position_then_it_is_sold_at_market_before_the_daemon_exits(
    tmp_path: Path, db_url: str
):
    # Arrange: the 005930 entry of 2023-02-17 filled, and the daemon trading the next sessions.
    env = cli_env(tmp_path / "data", db_url, SIM_SPEED="4000", SIM_SYMBOLS="005930", SIM_FROM="2023-02-17")
    daemon = start_stockbot("run", env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while not query(db_url, select(tables.fills.c.id)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert query(db_url, select(tables.fills.c.id)), "the entry never filled"
        # Act
        killed = stockbot("kill", "--flatten", "--reason", "test: flatten", "--wait", "20", env=env, cwd=tmp_path)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    # Assert: a market sell of the whole position, filled, and nothing held.
    assert killed.returncode == 0, killed.stderr
    assert daemon.returncode == 3
    sells = query(
        db_url,
        select(
            tables.orders.c.strategy_id, tables.orders.c.order_type, tables.orders.c.status, tables.orders.c.quantity
        ).where(tables.orders.c.side == "SELL"),
    )
    assert [(s, t, st) for s, t, st, _ in sells] == [("kill_switch", "MARKET", "FILLED")]
    fills = query(db_url, select(tables.fills.c.side, tables.fills.c.quantity))
    bought = sum(q for side, q in fills if side == "BUY")
    sold = sum(q for side, q in fills if side == "SELL")
    assert bought == sold > 0
