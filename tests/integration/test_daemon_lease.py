"""One daemon per account: the lease (an OS file lock next to SQLite, an advisory lock on PostgreSQL) refuses a
second holder naming the first, and is free again within a second of its holder being killed."""

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.lease import lease_for
from stock_manager.adapters.lease.pg_lease import advisory_key, application_name
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.run_lease import run_lease
from stock_manager.service_layer.ports.lease import LeaseHeld

KEY = "kis:50123456-01"


def now() -> datetime:
    return datetime.now(UTC)


def lease(url: str):
    return lease_for(url, KEY, "account 5012****-01", now=now)


async def test_lease_when_a_second_holder_asks_then_refused_naming_the_first(db_url: str):
    first, second = lease(db_url), lease(db_url)
    await first.acquire()
    try:
        # Act
        with pytest.raises(LeaseHeld) as raised:
            await second.acquire()
        # Assert: the holder is named (this process: same host, same PID), and the message says so.
        holder = raised.value.holder
        assert holder is not None and (holder.host, holder.pid) == (socket.gethostname(), os.getpid())
        assert holder.since is not None and abs(holder.since - now()) < timedelta(minutes=1)
        assert str(raised.value).startswith(
            f"another stockbot daemon is running for account 5012****-01 (host "
            f"{socket.gethostname()}, PID {os.getpid()}, since "
        )
        assert await first.is_held() and not await second.is_held()
        assert (await second.holder()) is not None
    finally:
        await first.release()
    # Released: the other one gets it, and nobody else holds it after that one lets go.
    await second.acquire()
    await second.release()
    assert await second.holder() is None


async def test_lease_when_released_twice_or_never_acquired_then_harmless(db_url: str):
    held = lease(db_url)
    await held.release()
    await held.acquire()
    await held.release()
    await held.release()
    assert not await held.is_held()


_HOLDER = textwrap.dedent("""
    import asyncio, sys, time
    from datetime import UTC, datetime
    from stock_manager.adapters.lease import lease_for

    async def main():
        lease = lease_for(sys.argv[1], sys.argv[2], "account 5012****-01", now=lambda: datetime.now(UTC))
        await lease.acquire()
        print("held", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


def start_holder(db_url: str, key: str) -> subprocess.Popen[str]:
    """Start a process that takes the lease of `key` and sleeps; return once it holds it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, db_url, key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    line = holder.stdout.readline() if holder.stdout else ""
    if line.strip() != "held":
        holder.kill()
        raise AssertionError(holder.stderr.read() if holder.stderr else "the holder did not start")
    return holder


async def test_lease_when_its_holder_process_is_killed_then_free_again_within_a_second(db_url: str):
    # Arrange: another process takes the lease and sleeps (as a daemon would trade).
    holder = start_holder(db_url, KEY)
    try:
        with pytest.raises(LeaseHeld) as raised:
            await lease(db_url).acquire()
        assert raised.value.holder is not None and raised.value.holder.pid == holder.pid
        # Act: kill it without a chance to clean up (SIGKILL on POSIX, TerminateProcess on Windows).
        holder.kill()
        killed_at = time.monotonic()
        holder.wait(timeout=10)
        # Assert: the lease is free again within a second.
        mine = lease(db_url)
        while True:
            try:
                await mine.acquire()
                break
            except LeaseHeld:
                assert time.monotonic() - killed_at < 1.0, "the killed holder's lease was not released"
                await asyncio.sleep(0.02)
        await mine.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def test_run_when_another_daemon_holds_the_lease_then_exit_2_naming_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Arrange: another process holds the lease a sim daemon on this database takes.
    monkeypatch.chdir(tmp_path)
    holder = start_holder(db_url, "sim")
    try:
        # Act
        result = CliRunner().invoke(
            app,
            ["run", "--db-url", db_url, "--from", "2023-02-13", "--to", "2023-02-14"],
            env={"DATA_DIR": str(tmp_path / "data")},
        )
    finally:
        holder.kill()
        holder.wait(timeout=10)
    # Assert: refused before anything opened, naming the holder.
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        f"Refused: another stockbot daemon is running for sim mode on this database "
        f"(host {socket.gethostname()}, PID {holder.pid}, since "
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "sim-exchange").exists()


def test_run_lease_is_keyed_by_the_kis_account_in_paper_and_live(tmp_path: Path):
    settings = load_settings(mode="paper", kis_account="50123456-01", data_dir=tmp_path)

    lease = run_lease(settings)

    assert lease.lock_path == tmp_path / "stockbot.db.daemon.lock"  # type: ignore[attr-defined]
    pg = run_lease(load_settings(mode="live", kis_account="50123456-01", db_url="postgresql+psycopg://u@h/db"))
    assert pg.key == advisory_key("kis:50123456-01")  # type: ignore[attr-defined]


def test_lease_keys_and_names_are_stable():
    assert advisory_key(KEY) == advisory_key(KEY) != advisory_key("kis:50123456-02")
    assert advisory_key("sim") == -7967255676055179233  # must never change: old and new versions must agree
    assert application_name(4242, "DESKTOP-1") == "stockbot pid=4242 host=DESKTOP-1"
    assert len(application_name(4242, "x" * 100).encode()) == 63


async def test_run_lease_when_kis_and_upbit_daemons_share_a_database_then_both_hold_one_and_a_second_is_refused(
    db_url: str, tmp_path: Path
):
    kis = run_lease(load_settings(mode="sim", data_dir=tmp_path, db_url=db_url))
    upbit = run_lease(load_settings(mode="sim", venue="upbit", data_dir=tmp_path, db_url=db_url))
    second_upbit = run_lease(load_settings(mode="sim", venue="upbit", data_dir=tmp_path, db_url=db_url))

    await kis.acquire()
    try:
        await upbit.acquire()
        try:
            with pytest.raises(LeaseHeld, match="Upbit sim mode on this database"):
                await second_upbit.acquire()
        finally:
            await upbit.release()
    finally:
        await kis.release()
