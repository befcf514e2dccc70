"""The kill-and-restart loop shared by the fault harnesses of both venues (tests/e2e/fault_harness.py for KIS,
tests/e2e/upbit_fault_harness.py for Upbit).

The daemon is a subprocess started again and again: most runs are killed with `Popen.kill` (SIGKILL) once the
daemon's own ``daemon_state`` row says TRADING, some during start-up; after the planned kills one run plays the
rest of the period uninterrupted. An exit with code 3 (the kill switch tripped) is resumed as a person would
(`stockbot resume --yes`); a venue may accept other exits as part of its protocol (`other_exit`, e.g. Upbit's
418 block); any other exit is a failure.
"""

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Protocol

from sqlalchemy import select

from stock_manager.adapters.storage import tables
from tests.e2e.support import query


class KillPlan(Protocol):
    """The fields of a harness configuration the loop reads (both venues' configurations have them)."""

    data_dir: Path
    db_url: str
    kills: int
    startup_kill_share: float
    trading_kill_secs: tuple[float, float]
    startup_kill_secs: tuple[float, float]
    final_timeout_secs: float
    state_timeout_secs: float


@dataclass(slots=True)
class KillCounts:
    """What the loop did: kills by kind, starts, resumes, and how the last run ended."""

    kills: int = 0
    startup_kills: int = 0
    trading_kills: int = 0
    starts: int = 0
    kill_switch_resumes: int = 0
    finished: bool = False
    failures: list[str] = field(default_factory=list)  # daemon exits that are bugs (crash, stuck)
    startup_secs: list[float] = field(default_factory=list)  # start to TRADING, for runs that got there
    final_run_secs: float = 0.0


def kill_until_done(
    plan: KillPlan,
    counts: KillCounts,
    rng: Random,
    env_for: Callable[[bool], dict[str, str]],
    *,
    other_exit: Callable[[int, Path], bool] = lambda code, log: False,
    say: Callable[[str], None] = lambda _: None,
) -> None:
    """Start, kill and restart the daemon until a run exits 0 or one fails; record everything in `counts`.

    `env_for(final)` gives each start's environment (``final`` for the uninterrupted last run);
    `other_exit(code, log)` returns True when an exit with `code` (its output in `log`) is expected and the
    daemon should simply be started again.
    """
    logs = plan.data_dir / "runs"
    logs.mkdir(parents=True, exist_ok=True)
    while True:
        kind = "final"
        if counts.kills < plan.kills:
            kind = "startup" if rng.random() < plan.startup_kill_share else "trading"
        env = env_for(kind == "final")
        counts.starts += 1
        out = logs / f"run-{counts.starts:04d}.log"
        daemon = _start(env, plan.data_dir, out)
        begun = time.monotonic()
        try:
            if kind == "startup":
                _wait_exit(daemon, rng.uniform(*plan.startup_kill_secs))
            elif kind == "trading":
                _wait_for_trading(plan.db_url, daemon, plan.state_timeout_secs)
                if daemon.poll() is None:
                    counts.startup_secs.append(time.monotonic() - begun)
                _wait_exit(daemon, rng.uniform(*plan.trading_kill_secs))
            else:
                _wait_exit(daemon, plan.final_timeout_secs)
        except _StillRunning:
            daemon.kill()
            daemon.wait()
            if kind == "final":
                counts.failures.append(
                    f"run {counts.starts}: still running after {plan.final_timeout_secs} s (stuck; see {out})"
                )
                return
            counts.kills += 1
            counts.startup_kills += kind == "startup"
            counts.trading_kills += kind == "trading"
            say(f"kill {counts.kills} ({kind}) of start {counts.starts}")
            continue
        except _NeverTrading:
            daemon.kill()
            daemon.wait()
            counts.failures.append(
                f"run {counts.starts}: never reached TRADING in {plan.state_timeout_secs} s (stuck start-up; see {out})"
            )
            return
        code = daemon.returncode
        if code == 0:
            counts.finished = True
            counts.final_run_secs = time.monotonic() - begun
            return
        if code == 3:  # the daemon tripped its kill switch (e.g. repeated venue failures): a person resumes
            counts.kill_switch_resumes += 1
            resumed = subprocess.run(
                [sys.executable, "-m", "stock_manager", "resume", "--yes"],
                env=env,
                cwd=plan.data_dir,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=60,
                check=False,
            )
            if resumed.returncode != 0:
                counts.failures.append(f"resume failed: {resumed.stderr.strip()[-500:]}")
                return
            continue
        if other_exit(code, out):
            continue
        counts.failures.append(f"run {counts.starts}: exit code {code}: {tail(out)}")
        return


def median(values: list[float]) -> float:
    """Return the median of `values` (the upper one of an even count), 0.0 when empty."""
    return sorted(values)[len(values) // 2] if values else 0.0


def tail(path: Path, lines: int = 15) -> str:
    """Return the last `lines` lines of a run's log ("" when it cannot be read)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _StillRunning(Exception):
    pass


class _NeverTrading(Exception):
    pass


def _start(env: dict[str, str], cwd: Path, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as log:  # the child keeps its own handle; a pipe nobody reads would block it
        return subprocess.Popen(
            [sys.executable, "-m", "stock_manager", "run"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )


def _wait_exit(daemon: subprocess.Popen[bytes], secs: float) -> None:
    try:
        daemon.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        raise _StillRunning from None


def _wait_for_trading(db_url: str, daemon: subprocess.Popen[bytes], timeout_secs: float) -> None:
    # Until the daemon_state row of this very process says TRADING (not one a killed predecessor left).
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            return
        try:
            rows = query(db_url, select(tables.daemon_state.c.trading_state, tables.daemon_state.c.pid))
        except Exception:  # the daemon may be creating or migrating the database
            rows = []
        if rows and rows[0][0] == "TRADING" and rows[0][1] == daemon.pid:
            return
        time.sleep(0.05)
    raise _NeverTrading
