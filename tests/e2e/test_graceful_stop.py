"""SIGTERM (and SIGINT) stop a running daemon in order: nothing is sent after the signal, the state says
STOPPED with the reason and then EXITED, the exit code is 128 + the signal's number, and a restart resumes the
same replay cleanly (recovery finds the order left working, nothing is sent twice)."""

import json
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from tests.e2e.support import cli_env, query, start_stockbot, stockbot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals (Windows: CTRL_C/CTRL_BREAK, unit-tested)"),
]

#: 005380 (Hyundai Motor): a golden-cross limit buy at the 2023-04-12 pre-open that never fills that day.
WORKING_ORDER = {"SIM_FROM": "2023-04-12", "SIM_TO": "2023-04-14", "SIM_SYMBOLS": "005380"}


def journal_places(data_dir: Path) -> int:
    journal = data_dir / "sim-exchange" / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
    return sum(1 for line in lines if json.loads(line).get("type") == "place")


def wait_for(predicate, timeout_secs: float, what: str) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(what)


def test_signal_when_mid_session_then_nothing_more_is_sent_state_stopped_and_a_restart_resumes(
    tmp_path: Path, db_url: str
):
    # Each signal once, each database once: the stop path is the same code for both signals and both databases.
    signum = signal.SIGTERM if db_url.startswith("sqlite") else signal.SIGINT
    # Arrange: a replay at about 6 s per session, with the limit buy working at the broker.
    data_dir = tmp_path / "data"
    env = cli_env(data_dir, db_url, SIM_SPEED="4000", **WORKING_ORDER)
    daemon = start_stockbot("run", env=env, cwd=tmp_path)
    try:
        wait_for(
            lambda: [s for (s,) in query(db_url, select(tables.orders.c.status))] == ["SENT"],
            90,
            "the daemon never had a working order",
        )
        placed_before = journal_places(data_dir)
        # Act
        daemon.send_signal(signum)
        daemon.wait(timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    stderr = daemon.stderr.read()

    # Assert: the documented code, the reason said, nothing sent after the signal, the order left working.
    assert daemon.returncode == 128 + signum, stderr
    assert f"{signum.name} received: stopping in order" in stderr and "Traceback" not in stderr
    assert f"Stopped in order: {signum.name} received" in stderr and "1 order(s) left working" in stderr
    assert journal_places(data_dir) == placed_before == 1
    [(state, reason)] = query(db_url, select(tables.daemon_state.c.trading_state, tables.daemon_state.c.stop_reason))
    assert (state, reason) == ("EXITED", f"{signum.name} received")
    stopped = query(db_url, select(tables.events.c.message).where(tables.events.c.kind == "daemon_stopped"))
    assert [m for (m,) in stopped] == [
        f"stopped in order ({signum.name} received): nothing new sent since; 1 order(s) left working at the "
        "broker; exiting"
    ]
    states = {s for (s,) in query(db_url, select(tables.risk_events.c.decision))}
    assert "KILL" not in states  # a stop request is not the kill switch: nothing is latched
    [(active,)] = query(db_url, select(tables.kill_switch.c.active)) or [(False,)]
    assert not active

    # Act: start again; it resumes the same replay to its end.
    resumed = stockbot("run", env=env | {"SIM_SPEED": "fastest"}, cwd=tmp_path, timeout=180)

    # Assert: recovery found the working order, nothing was sent twice, every session settled once.
    assert resumed.returncode == 0, resumed.stderr
    orders = query(db_url, select(tables.orders.c.symbol, tables.orders.c.side, tables.orders.c.trading_date))
    assert len(orders) == len(set(orders))
    settled = [str(d) for (d,) in query(db_url, select(tables.daily_settlements.c.trading_date))]
    assert sorted(settled) == ["2023-04-12", "2023-04-13", "2023-04-14"]
    [(state,)] = query(db_url, select(tables.daemon_state.c.trading_state))
    assert state == "EXITED"
