"""The fault-injection harness on Upbit: `stockbot run --venue upbit --mode sim` with every fault of the Upbit
simulator on, killed at random moments and restarted until its period is done, then the database compared with
the venue's own records.

The twin of tests/e2e/fault_harness.py (KIS), sharing its kill loop (tests/e2e/kill_loop.py); used by
tests/e2e/test_upbit_fault_injection.py (CI) and benchmarks/upbit_fault_harness.py (long runs). The daemon is a
subprocess killed with `Popen.kill` (SIGKILL), mostly once its own ``daemon_state`` row says TRADING, sometimes
during start-up. The venue (the replay, its matching engine and its journal in ``<data>/sim-upbit``, with the
Upbit-compatible server in front) lives with the daemon and survives each kill through its journal, as a venue
survives its client; the fault log ``faults.jsonl`` beside it counts what was injected over every start.

Faults (`UpbitFaultKnobs`, drawn anew for each start from a seed): 5xx, 429 bursts, 418 blocks, orders executed
but their response lost (hang, closed connection, 500), WebSocket drops, duplicate and delayed ``myOrder`` fill
events.

The invariants (`check_upbit_invariants`), against the journaled replay attached read-only:

* one venue order per idempotency key: every venue order's ``identifier`` (a ``<id>-r1`` re-send counts as
  ``<id>``) is the client order id of exactly one order of ours, which holds that order's uuid; no two venue
  orders share a key; no order of ours claims a uuid the venue does not know;
* every venue trade uuid is recorded exactly once, as a fill of the order of ours that holds the venue order,
  with the venue's volume, price and fee; no fill of ours is no venue trade;
* our orders' final states and executed volumes are the venue's;
* balances: KRW (the start deposit plus sells minus buys and fees, from our fills) and each coin (from our
  fills, and in the positions table), to 8 decimals, equal the venue's ``/v1/accounts`` (balance + locked).
"""

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from stock_manager.adapters.broker.fault_log import FaultLog
from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.storage import tables
from stock_manager.entrypoints.venues import FAULT_LOG_FILE
from tests.e2e.fault_harness import REPORTED_EVENTS
from tests.e2e.kill_loop import KillCounts, kill_until_done, median, tail
from tests.e2e.support import query
from tests.e2e.upbit_invariants import UpbitComparison, check_upbit_invariants

#: Faults on every start (the seed and the lost-response mode are drawn per start).
UPBIT_FAULTS = {
    "error5xx_probability": "0.03",
    "rate_limit_probability": "0.01",
    "rate_limit_burst": "2",
    "block_probability": "0.002",
    "block_secs": "1.5",
    "lost_order_probability": "0.2",
    "duplicate_my_order_events": "true",
    "drop_ws_every_secs": "2.5",
}
#: Faults drawn anew for each start, from these choices.
UPBIT_VARIED_FAULTS = {"lost_mode": ("hang", "close", "error500"), "my_order_delay_secs": ("0", "0.05", "0.3")}
UPBIT_EVENTS = (*REPORTED_EVENTS, "order_resent", "venue_blocked")


@dataclass(frozen=True, slots=True)
class UpbitHarnessConfig:
    """One harness run on Upbit (see `tests.e2e.fault_harness.HarnessConfig` for the shared fields)."""

    data_dir: Path
    db_url: str
    kills: int
    seed: int = 20240301
    period: tuple[date, date] = (date(2024, 3, 1), date(2024, 3, 10))
    speed: str = "20000"
    final_speed: str = "fastest"
    faults: dict[str, str] = field(default_factory=lambda: dict(UPBIT_FAULTS))
    varied_faults: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(UPBIT_VARIED_FAULTS))
    participation_rate: str = "0.25"
    startup_kill_share: float = 0.25
    trading_kill_secs: tuple[float, float] = (0.2, 2.0)
    startup_kill_secs: tuple[float, float] = (0.3, 2.5)
    reconcile_interval_secs: float = 2.0
    final_timeout_secs: float = 300.0
    state_timeout_secs: float = 90.0
    start_cash_krw: Decimal = Decimal(10_000_000)


@dataclass(slots=True)
class UpbitHarnessResult(KillCounts):
    """What happened (the loop's `KillCounts`), and what the comparison found."""

    blocked_exits: int = 0  # the daemon stopped on a 418 block and was started again after it
    faults: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    comparison: UpbitComparison | None = None
    wall_secs: float = 0.0

    @property
    def ok(self) -> bool:
        """Return True when the daemon finished without a failure and every invariant held."""
        return self.finished and not self.failures and self.comparison is not None and self.comparison.ok

    def report(self) -> str:
        """Return the figures as text lines (kills, starts, faults by kind, orders, trades, invariants)."""
        lines = [
            f"kills {self.kills} (start-up {self.startup_kills}, trading {self.trading_kills}); "
            f"starts {self.starts}; kill-switch resumes {self.kill_switch_resumes}; exits on a 418 block "
            f"{self.blocked_exits}; finished {self.finished}; "
            f"wall {self.wall_secs:.1f} s (start to TRADING median {median(self.startup_secs):.2f} s, max "
            f"{max(self.startup_secs, default=0):.2f} s; last run to the end {self.final_run_secs:.1f} s)",
            "faults injected: " + (", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"),
            "daemon events: " + (", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"),
        ]
        if self.comparison is not None:
            lines.append(self.comparison.report())
        lines += [f"  failure: {f}" for f in self.failures[:20]]
        return "\n".join(lines)


def run_upbit_harness(config: UpbitHarnessConfig, *, say: Callable[[str], None] = lambda _: None) -> UpbitHarnessResult:
    """Run the Upbit daemon under faults and kills until its period is done; compare; return the result."""
    started = time.monotonic()
    result = UpbitHarnessResult()
    rng = random.Random(config.seed)
    config.data_dir.mkdir(parents=True, exist_ok=True)

    def blocked(code: int, log: Path) -> bool:
        # A 418 block is fatal by design (stop and alert, upbit-openapi.md §6): a person restarts after it.
        if code == 1 and "Error: UpbitBlocked" in tail(log, 3):
            result.blocked_exits += 1
            time.sleep(float(config.faults.get("block_secs", "1")))
            return True
        return False

    kill_until_done(config, result, rng, lambda final: _env(config, rng, final=final), other_exit=blocked, say=say)
    result.faults = FaultLog.read(config.data_dir / "sim-upbit" / FAULT_LOG_FILE)
    result.events = _event_counts(config.db_url)
    if result.finished:
        venue = SimBroker.attach(config.data_dir / "sim-upbit")
        assert venue is not None, "no replay journal"
        try:
            result.comparison = check_upbit_invariants(venue, config.db_url, config.start_cash_krw)
        finally:
            asyncio.run(venue.close())
    result.wall_secs = time.monotonic() - started
    return result


def _env(config: UpbitHarnessConfig, rng: random.Random, *, final: bool) -> dict[str, str]:
    faults = dict(config.faults)
    if faults:
        faults.setdefault("seed", str(rng.randrange(1_000_000)))
        for name, choices in config.varied_faults.items():
            faults.setdefault(name, rng.choice(choices))
    prefixes = ("SIM_", "DB_URL", "DATA_DIR", "MODE", "VENUE", "LOG_DIR", "SLACK_", "METRICS_", "RISK_", "UPBIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(config.data_dir / "pycache")
    env.update(
        {
            "DATA_DIR": str(config.data_dir),
            "DB_URL": config.db_url,
            "LOG_DIR": str(config.data_dir / "logs"),
            "VENUE": "upbit",
            "MODE": "sim",
            "SIM_FROM": config.period[0].isoformat(),
            "SIM_TO": config.period[1].isoformat(),
            "SIM_SYMBOLS": "KRW-BTC",
            "SIM_SPEED": config.final_speed if final else config.speed,
            "SIM_PARTICIPATION_RATE": config.participation_rate,
            "SIM_START_CASH_KRW": str(config.start_cash_krw),
            "SIM_FAULTS": ",".join(f"{k}={v}" for k, v in faults.items()),
            "RECONCILE_INTERVAL_SECS": str(config.reconcile_interval_secs),
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def _event_counts(db_url: str) -> Counter[str]:
    e = tables.events.c
    rows = query(db_url, select(e.kind, func.count()).where(e.kind.in_(UPBIT_EVENTS)).group_by(e.kind))
    return Counter({kind: count for kind, count in rows})
