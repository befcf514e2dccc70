"""Paper trading on Upbit: ``stockbot run --venue upbit --mode paper`` on the live public market data of the
Upbit-compatible simulator (a separate process replaying real 30-minute KRW-BTC candles at 7,200× real time,
reached only through its public REST and WebSocket endpoints, with no key), the orders matched by the local engine
in the journaled paper account. The daemon is SIGKILLed while it trades and started again: afterwards every paper
order is one order of ours, every paper fill is recorded once, and the holdings agree, on SQLite and PostgreSQL.
"""

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from stock_manager.adapters.broker.upbit_paper import PaperAccount
from stock_manager.adapters.storage import tables
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.domain.positions import positions_from_fills
from tests.e2e.support import query, stockbot

pytestmark = pytest.mark.slow

REPLAY = ("2024-03-01", "2024-03-03")
SPEED = "7200"  # market seconds per wall second: a UTC day in 12 s
EXCHANGE_SIM = (sys.executable, "-m", "stock_manager", "exchange-sim", "--venue", "upbit")


@pytest.fixture
def upbit_public_data(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Run `stockbot exchange-sim --venue upbit` replaying `REPLAY`; yield its REST URL and its output file."""
    out = tmp_path / "exchange-sim.out"
    env = {"DATA_DIR": str(tmp_path / "exchange"), "LOG_DIR": str(tmp_path / "exchange-logs")}
    with out.open("wb") as log:
        sim = subprocess.Popen(
            [*EXCHANGE_SIM, "--from", REPLAY[0], "--to", REPLAY[1], "--speed", SPEED, "--rest-port", "0"],
            env=_base_env() | env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        found = _wait_for(lambda: re.search(r"REST\s+(http://127\.0\.0\.1:\d+)", out.read_text()), 60, "sim start")
        yield found.group(1), out
    finally:
        sim.kill()
        sim.wait(10)


def test_upbit_paper_when_killed_mid_run_and_restarted_then_no_duplicate_order_and_every_fill_once(
    tmp_path: Path, db_url: str, upbit_public_data: tuple[str, Path]
):
    rest_url, sim_out = upbit_public_data
    data_dir = tmp_path / "data"
    env = _base_env() | {
        "DATA_DIR": str(data_dir),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_URL": db_url,
        "UPBIT_REST_BASE_URL": rest_url,
        "UPBIT_WS_URL": rest_url.replace("http://", "ws://") + "/websocket/v1",
        "UPBIT_PAPER_CLOCK": "venue",
        "UPBIT_PAPER_CASH_KRW": "20000000",
        "RISK_MAX_QUOTE_AGE_SECS": "900",  # the replay's trades are 7.5 market minutes apart
        "RECONCILE_INTERVAL_SECS": "2",
    }
    # Act: the daemon trades; it is killed (SIGKILL) once it has orders, and started again.
    first = _start_daemon(env, tmp_path, tmp_path / "daemon-1.out")
    try:
        _wait_for(lambda: len(_orders(db_url)) >= 3 or first.poll() is not None, 120, "three orders")
        assert first.poll() is None, (tmp_path / "daemon-1.out").read_text()
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        first.wait(10)
    killed_with = len(_orders(db_url))
    second = _start_daemon(env, tmp_path, tmp_path / "daemon-2.out")
    try:
        _wait_for(lambda: "replay finished" in sim_out.read_text() or second.poll() is not None, 240, "the replay")
        assert second.poll() is None, (tmp_path / "daemon-2.out").read_text()
        time.sleep(3)  # the last trades reach the daemon
        stopped = stockbot("kill", "--venue", "upbit", "--reason", "replay over", "--wait", "30", env=env, cwd=tmp_path)
        assert stopped.returncode == 0, stopped.stderr
        second.wait(60)
    finally:
        if second.poll() is None:
            second.kill()
    said = (tmp_path / "daemon-2.out").read_text()
    assert "stockbot upbit paper: KRW-BTC" in said and "Traceback" not in said
    # Assert: the paper account (journal) and our database agree exactly.
    paper = PaperAccount.attach(data_dir / "upbit-paper")
    assert paper is not None
    try:
        paper_orders = paper.engine.orders()
        paper_fills = paper.fills()
        paper_positions = {p.symbol: p.quantity for p in paper.positions()}
        account = paper.account_id
    finally:
        paper.close()
    ours = _orders(db_url)
    assert account.startswith("UPBIT-PAPER-") and {o.account_id for o in ours} == {account}
    assert len(ours) > killed_with, "the restarted daemon traded on"
    numbers = Counter(o.broker_order_number for o in ours if o.broker_order_number is not None)
    assert all(n == 1 for n in numbers.values()), "no paper order is two orders of ours"
    assert set(numbers) == {o.broker_order_number for o in paper_orders}, "each paper order is one of ours"
    assert len({o.idempotency_key for o in ours}) == len(ours)
    by_number = {o.broker_order_number: o for o in paper_orders}
    assert all(
        (o.filled_quantity, o.client_order_id) == (by_number[n].filled_quantity, by_number[n].client_order_id)
        for o in ours
        if (n := o.broker_order_number) is not None
    )
    recorded = _fills(db_url)
    assert len(paper_fills) > 0
    assert sorted(f.broker_fill_id for f in recorded) == sorted(f.broker_fill_id for f in paper_fills)
    assert {f.broker_fill_id: (f.quantity, f.price) for f in recorded} == {
        f.broker_fill_id: (f.quantity, f.price) for f in paper_fills
    }
    folded = positions_from_fills(account, recorded)
    assert {s: p.quantity for s, p in folded.items() if p.quantity} == paper_positions


def _base_env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "200",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def _start_daemon(env: dict[str, str], cwd: Path, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "stock_manager", "run", "--venue", "upbit", "--mode", "paper"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_for[T](probe: Callable[[], T], timeout_secs: float, what: str) -> T:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        try:
            if found := probe():
                return found
        except Exception:  # the database may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _orders(db_url: str) -> list:
    return query(db_url, select(tables.orders).order_by(tables.orders.c.id))


def _fills(db_url: str) -> list[Fill]:
    return [
        Fill(
            broker_fill_id=r.broker_fill_id,
            broker_order_number=r.broker_order_number,
            symbol=r.symbol,
            side=Side(r.side),
            quantity=Decimal(r.quantity),
            price=Decimal(r.price),
            commission_krw=Decimal(r.commission_krw),
            tax_krw=Decimal(r.tax_krw),
            ts_filled=r.ts_filled,
            trading_date=r.trading_date,
        )
        for r in query(db_url, select(tables.fills).order_by(tables.fills.c.id))
    ]
