"""The fault-injection harness: `stockbot run --mode sim` with the simulator's faults on, killed at random
moments and restarted until its period is done, then the database compared with the exchange's own records.

Used by tests/e2e/test_fault_injection.py (CI) and benchmarks/fault_harness.py (long runs). The daemon is a
subprocess (``python -m stock_manager run``), killed with `Popen.kill` (SIGKILL on POSIX, TerminateProcess
on Windows): mostly once the ``daemon_state`` row of that very process says TRADING, sometimes during
start-up. Each start draws its own fault seed, unanswered-order mode and fill-notice delay, so the runs differ.

The invariants, checked against the journaled replay attached read-only (`SimBroker.attach`):

* every broker order maps to exactly one order of ours, and no order of ours carries a number the broker
  does not know (so no idempotency key ever got two broker orders);
* per broker order, our recorded fills sum to the broker's executed quantity and, exactly, its executed amount
  (none lost, none doubled, no won drifted), and no fill is recorded without its order;
* positions recomputed from our fills equal the broker's holdings, and the positions table agrees; the cost
  basis (quantity × average price) equals the broker's to the won, and so do realized PnL, commission and tax
  of every symbol (our fills folded against the broker's executions folded);
* every order's final state and executed quantity equal the broker's.
"""

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from stock_manager.adapters.broker.kis_sim.faults import FaultLog
from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.storage import tables
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.domain.positions import positions_from_fills
from stock_manager.entrypoints.venues import FAULT_LOG_FILE, sim_account
from stock_manager.service_layer.ports.broker import BrokerOrderState
from tests.e2e.kill_loop import KillCounts, kill_until_done, median
from tests.e2e.support import query

#: Aggressive MA-cross parameters: entries and stop-loss / take-profit exits nearly every session.
BUSY_PARAMS = {
    "short_window_days": 2,
    "long_window_days": 3,
    "min_volume_ratio": 0,
    "stop_loss_pct": -1,
    "take_profit_pct": 1,
    "position_value_krw": 1_000_000,
    "entry_limit_offset_pct": 1,
}
#: A participation rate small enough that an order fills over several prints (partial fills, expiries).
PARTICIPATION_RATE = "0.00002"
SYMBOLS = "005930,000660,005380,035420,069500"
#: Faults on every start (the seed and the unanswered mode are drawn per start).
BASE_FAULTS = {
    "error500_probability": "0.03",
    "rate_limit_probability": "0.03",
    "unanswered_probability": "0.15",
    "duplicate_fill_notices": "true",
    "drop_ws_every_secs": "2.5",
    "expire_tokens_every_secs": "3.5",
    "token_gate_secs": "1",
}
#: Faults drawn anew for each start, from these choices.
VARIED_FAULTS = {"unanswered_mode": ("hang", "close", "error500"), "fill_notice_delay_secs": ("0", "0.05", "0.3")}
#: Order states of ours that the broker calls OPEN.
WORKING = {"SENT", "PARTIAL"}
BROKER_STATE = {
    "FILLED": BrokerOrderState.FILLED,
    "CANCELED": BrokerOrderState.CANCELED,
    "REJECTED": BrokerOrderState.REJECTED,
}


@dataclass(frozen=True, slots=True)
class HarnessConfig:
    """One harness run.

    Attributes
    ----------
    kills : int
        Kills to inject before letting the daemon finish the period.
    startup_kill_share : float
        Share of the kills made during start-up (the rest once the daemon is TRADING).
    trading_kill_secs : tuple[float, float]
        Range of the wait after TRADING before a kill, wall seconds.
    startup_kill_secs : tuple[float, float]
        Range of the wait after the start before a start-up kill, wall seconds.
    speed : str
        ``SIM_SPEED`` (market seconds per wall second, or ``fastest``) of the runs that are killed.
    final_speed : str
        ``SIM_SPEED`` of the last run, which plays the rest of the period uninterrupted.
    final_timeout_secs : float
        How long the last, uninterrupted run may take before it counts as stuck.
    """

    data_dir: Path
    db_url: str
    kills: int
    seed: int = 20230217
    period: tuple[date, date] = (date(2023, 2, 13), date(2023, 3, 3))
    symbols: str = SYMBOLS
    speed: str = "fastest"
    final_speed: str = "fastest"
    faults: dict[str, str] = field(default_factory=lambda: dict(BASE_FAULTS))
    varied_faults: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(VARIED_FAULTS))
    startup_kill_share: float = 0.25
    trading_kill_secs: tuple[float, float] = (0.2, 2.0)
    startup_kill_secs: tuple[float, float] = (0.3, 2.5)
    reconcile_interval_secs: float = 2.0
    final_timeout_secs: float = 300.0
    state_timeout_secs: float = 90.0


@dataclass(slots=True)
class HarnessResult(KillCounts):
    """What happened (the loop's `KillCounts`) and what the comparison found."""

    faults: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    broker_orders: int = 0
    fills: int = 0
    broker_fills: int = 0
    violations: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    wall_secs: float = 0.0
    shifted_notice_fills: int = 0  # notice fills recorded while an earlier notice was missing (totals repaired)
    totals_fills: int = 0  # fills rebuilt from the broker's order totals
    exact_amount_fills: int = 0  # of those, fills whose exact amount price × quantity cannot carry (amount_krw)

    @property
    def ok(self) -> bool:
        """Return True when the daemon finished without a failure and every invariant held."""
        return self.finished and not self.failures and not self.violations

    def report(self) -> str:
        """Return the figures as text lines (kills, starts, faults by kind, orders, fills, invariants)."""
        lines = [
            f"kills {self.kills} (start-up {self.startup_kills}, trading {self.trading_kills}); "
            f"starts {self.starts}; kill-switch resumes {self.kill_switch_resumes}; finished {self.finished}; "
            f"wall {self.wall_secs:.1f} s (start to TRADING median {median(self.startup_secs):.2f} s, max "
            f"{max(self.startup_secs, default=0):.2f} s; last run to the end {self.final_run_secs:.1f} s)",
            "faults injected: " + (", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"),
            "daemon events: " + (", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"),
            f"orders: ours {self.orders}, broker {self.broker_orders}; "
            f"fills: ours {self.fills}, broker executions {self.broker_fills} (notice fills recorded before a "
            f"missed one was repaired from the totals: {self.shifted_notice_fills}); fills from the broker's "
            f"order totals {self.totals_fills}, of which with an exact amount beyond price × quantity "
            f"{self.exact_amount_fills}",
            "invariants: " + ", ".join(f"{k} {'ok' if v else 'VIOLATED'}" for k, v in self.checks.items()),
        ]
        lines += [f"  violation: {v}" for v in self.violations[:40]]
        lines += [f"  failure: {f}" for f in self.failures[:20]]
        return "\n".join(lines)


#: Daemon events worth counting in the report (how the daemon met the faults).
REPORTED_EVENTS = (
    "order_outcome_unknown",
    "order_adopted",
    "order_not_placed",
    "recovery_adopted",
    "recovery_not_placed",
    "recovery_cancel",
    "recovery_reject",
    "duplicate_fill_notice",
    "stop_mode",
    "external_order",
    "external_fill",
    "kill_switch_set",
    "order_rejected",
)


def run_harness(config: HarnessConfig, *, say: Callable[[str], None] = lambda _: None) -> HarnessResult:
    """Run the daemon under faults and kills until its period is done; compare; return the result."""
    started = time.monotonic()
    result = HarnessResult()
    rng = random.Random(config.seed)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    params = config.data_dir / "params.json"
    params.write_text(json.dumps(BUSY_PARAMS), encoding="utf-8")
    kill_until_done(config, result, rng, lambda final: _env(config, params, rng, final=final), say=say)
    result.faults = FaultLog.read(config.data_dir / "sim-exchange" / FAULT_LOG_FILE)
    result.events = _event_counts(config.db_url)
    if result.finished:
        compare(config, result)
    result.wall_secs = time.monotonic() - started
    return result


def compare(config: HarnessConfig, result: HarnessResult) -> None:
    """Check every invariant of the module docstring; fill `result`'s figures, checks and violations."""
    broker = SimBroker.attach(config.data_dir / "sim-exchange")
    assert broker is not None, "no replay journal"
    try:
        account = sim_account(broker.replay_id)
        broker_orders = {normalize_order_number(r.broker_order_number): r for r in broker.book.orders()}
        broker_fills = broker.book.fills()
        holdings = {p.symbol: p for p in broker.book.positions()}
    finally:
        asyncio.run(broker.close())  # releases the journal (nothing else is open)
    o = tables.orders.c
    ours = [
        r._mapping
        for r in query(
            config.db_url,
            select(o.id, o.idempotency_key, o.status, o.broker_order_number, o.filled_quantity, o.quantity).where(
                o.account_id == account
            ),
        )
    ]
    f = tables.fills.c
    fill_rows = [
        r._mapping
        for r in query(
            config.db_url,
            select(
                f.broker_fill_id,
                f.order_id,
                f.symbol,
                f.side,
                f.quantity,
                f.price,
                f.commission_krw,
                f.tax_krw,
                f.ts_filled,
                f.broker_order_number,
                f.source,
                f.trading_date,
                f.amount_krw,
            ).where(f.account_id == account),
        )
    ]
    result.orders, result.broker_orders = len(ours), len(broker_orders)
    result.fills, result.broker_fills = len(fill_rows), len(broker_fills)
    result.totals_fills = sum(r["source"] != "notice" for r in fill_rows)
    result.exact_amount_fills = sum(r["amount_krw"] is not None for r in fill_rows)
    violations: dict[str, list[str]] = {
        name: []
        for name in (
            "one order of ours per broker order",
            "fills equal the broker's executions",
            "positions equal the broker's holdings",
            "order states equal the broker's",
        )
    }

    # 1. Broker orders ↔ our orders, one to one.
    by_number: dict[str, list[Any]] = {}
    for row in ours:
        if row["broker_order_number"]:
            by_number.setdefault(normalize_order_number(row["broker_order_number"]), []).append(row)
    for number in sorted(set(broker_orders) | set(by_number), key=int):
        mine = by_number.get(number, [])
        if len(mine) != 1:
            keys = [r["idempotency_key"] for r in mine]
            where = "at the broker" if number in broker_orders else "NOT at the broker"
            violations["one order of ours per broker order"].append(
                f"broker order {number} ({where}) is claimed by {len(mine)} order(s) of ours: {keys}"
            )
    for row in ours:
        if not row["broker_order_number"] and row["status"] not in ("CANCELED", "REJECTED"):
            violations["one order of ours per broker order"].append(
                f"order {row['idempotency_key']} never resolved: {row['status']} without a broker number"
            )

    # 2. Fills: per broker order, quantity and amount; none without an order.
    recorded: dict[str, list[Any]] = {}
    for row in fill_rows:
        recorded.setdefault(normalize_order_number(row["broker_order_number"]), []).append(row)
        if row["order_id"] is None:
            violations["fills equal the broker's executions"].append(
                f"fill {row['broker_fill_id']} is recorded without an order of ours"
            )
    executed: dict[str, tuple[Decimal, Decimal]] = {}
    for fill in broker_fills:
        qty, amount = executed.get(normalize_order_number(fill.broker_order_number), (Decimal(0), Decimal(0)))
        executed[normalize_order_number(fill.broker_order_number)] = (qty + fill.quantity, amount + fill.notional_krw)
    for number in sorted(set(executed) | set(recorded), key=int):
        broker_qty, broker_amount = executed.get(number, (Decimal(0), Decimal(0)))
        rows = recorded.get(number, [])
        our_qty = sum((r["quantity"] for r in rows), Decimal(0))
        our_amount = sum((_amount(r) for r in rows), Decimal(0))
        if our_qty != broker_qty or our_amount != broker_amount:
            violations["fills equal the broker's executions"].append(
                f"broker order {number}: ours {our_qty} shares / {our_amount} KRW in {len(rows)} fill(s), "
                f"broker {broker_qty} shares / {broker_amount} KRW"
            )

    # 2b. No execution counted twice, even where the totals hide it: a fill from a notice is one of the broker's
    # executions of its order (same quantity, price and second), each at most once, and its identity (the
    # order's executed shares after it) never lies beyond that execution's own place in the broker's sequence.
    # A notice recorded again after the broker's totals had brought its execution in would lie beyond it; one
    # recorded while an earlier notice was missing lies before it (the totals then add the missing shares).
    sequence: dict[str, list[tuple[Decimal, Fill]]] = {}  # number -> [(shares executed after it, execution)]
    for fill in broker_fills:
        number = normalize_order_number(fill.broker_order_number)
        executed_before = sequence[number][-1][0] if number in sequence else Decimal(0)
        sequence.setdefault(number, []).append((executed_before + fill.quantity, fill))
    for number, rows in recorded.items():
        unmatched = list(sequence.get(number, []))
        for row in sorted((r for r in rows if r["source"] == "notice"), key=lambda r: _cumulative(r["broker_fill_id"])):
            cumulative = _cumulative(row["broker_fill_id"])
            same = [
                (end, f)
                for end, f in unmatched
                if (f.ts_filled, f.quantity, f.price) == (row["ts_filled"], row["quantity"], row["price"])
            ]
            if not same:
                violations["fills equal the broker's executions"].append(
                    f"fill {row['broker_fill_id']} from a notice ({row['quantity']} @ {row['price']} at "
                    f"{row['ts_filled']}) is no execution of broker order {number}, or one counted already"
                )
                continue
            end, execution = next(((e, f) for e, f in same if e >= cumulative), same[-1])
            unmatched.remove((end, execution))
            if cumulative > end:
                violations["fills equal the broker's executions"].append(
                    f"fill {row['broker_fill_id']} from a notice is the execution ending at {end} shares: "
                    "counted after executions it was already part of"
                )
            else:
                result.shifted_notice_fills += cumulative < end

    # 3. Positions from our fills = the broker's holdings = our positions table.
    fills = [
        Fill(
            broker_fill_id=r["broker_fill_id"],
            broker_order_number=r["broker_order_number"],
            symbol=r["symbol"],
            side=Side(r["side"]),
            quantity=r["quantity"],
            price=r["price"],
            commission_krw=r["commission_krw"],
            tax_krw=r["tax_krw"],
            ts_filled=r["ts_filled"],
            trading_date=r["trading_date"],
            amount_krw=r["amount_krw"],
        )
        for r in fill_rows
    ]
    positions = positions_from_fills(account, fills)
    p = tables.positions.c
    table = {r[0]: r[1] for r in query(config.db_url, select(p.symbol, p.quantity).where(p.account_id == account))}
    for symbol in sorted(set(holdings) | {s for s, pos in positions.items() if not pos.is_flat} | set(table)):
        ours_qty = positions[symbol].quantity if symbol in positions else Decimal(0)
        broker_qty = holdings[symbol].quantity if symbol in holdings else Decimal(0)
        table_qty = table.get(symbol, Decimal(0))
        if not ours_qty == broker_qty == table_qty:
            violations["positions equal the broker's holdings"].append(
                f"{symbol}: from our fills {ours_qty}, positions table {table_qty}, broker {broker_qty}"
            )
        elif symbol in holdings and not _same_won(
            positions[symbol].quantity * positions[symbol].avg_price,
            holdings[symbol].quantity * holdings[symbol].avg_price,
        ):
            violations["positions equal the broker's holdings"].append(
                f"{symbol}: cost basis from our fills {positions[symbol].quantity} × {positions[symbol].avg_price}, "
                f"broker {holdings[symbol].quantity} × {holdings[symbol].avg_price} (to the won)"
            )
    # Realized PnL of every symbol from our fills equals the broker's own fold of its executions, to the won.
    # (Commission and tax are not compared: the simulator charges them per execution, each rounded down to the
    # won, and fills rebuilt from an order's totals are charged on the total, so they may differ by a won per
    # execution; both are computed on exact amounts.)
    broker_folded = positions_from_fills(account, broker_fills)
    for symbol in sorted(set(broker_folded) | set(positions)):
        ours_pnl = positions[symbol].realized_pnl_krw if symbol in positions else Decimal(0)
        broker_pnl = broker_folded[symbol].realized_pnl_krw if symbol in broker_folded else Decimal(0)
        if not _same_won(ours_pnl, broker_pnl):
            violations["positions equal the broker's holdings"].append(
                f"{symbol}: realized PnL from our fills {ours_pnl} KRW, from the broker's executions {broker_pnl} KRW"
            )

    # 4. Final states and executed quantities.
    for number, rows in by_number.items():
        report = broker_orders.get(number)
        if report is None or len(rows) != 1:
            continue  # already a violation of 1
        row = rows[0]
        expected = BrokerOrderState.OPEN if row["status"] in WORKING else BROKER_STATE.get(row["status"])
        if expected is not report.state or row["filled_quantity"] != report.filled_quantity:
            violations["order states equal the broker's"].append(
                f"order {row['idempotency_key']} ({number}): ours {row['status']} {row['filled_quantity']} filled, "
                f"broker {report.state.value} {report.filled_quantity} filled"
            )
    result.checks = {name: not found for name, found in violations.items()}
    result.violations = [f"{name}: {v}" for name, found in violations.items() for v in found]


# -- PROCESS HANDLING ------------------------------------------------------------------------------------


def _env(config: HarnessConfig, params: Path, rng: random.Random, *, final: bool) -> dict[str, str]:
    faults = dict(config.faults)
    if faults:
        faults.setdefault("seed", str(rng.randrange(1_000_000)))
        for name, choices in config.varied_faults.items():
            faults.setdefault(name, rng.choice(choices))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "SIM_",
                "DB_URL",
                "DATA_DIR",
                "MODE",
                "LOG_DIR",
                "SLACK_",
                "METRICS_",
                "RISK_",
                "STRATEGY_",
                "RECONCILE_",
                "PYTHONDONTWRITEBYTECODE",
            )
        )
    }
    # Dozens of starts: keep their compiled bytecode (outside the source tree) instead of compiling each time.
    env["PYTHONPYCACHEPREFIX"] = str(config.data_dir / "pycache")
    env.update(
        {
            "DATA_DIR": str(config.data_dir),
            "DB_URL": config.db_url,
            "LOG_DIR": str(config.data_dir / "logs"),
            "MODE": "sim",
            "SIM_FROM": config.period[0].isoformat(),
            "SIM_TO": config.period[1].isoformat(),
            "SIM_SYMBOLS": config.symbols,
            "SIM_SPEED": config.final_speed if final else config.speed,
            "SIM_PARTICIPATION_RATE": PARTICIPATION_RATE,
            "SIM_FAULTS": ",".join(f"{k}={v}" for k, v in faults.items()),
            "STRATEGY_PARAMS_FILE": str(params),
            "RECONCILE_INTERVAL_SECS": str(config.reconcile_interval_secs),
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def _amount(row: Any) -> Decimal:
    # A fill's executed amount: the exact one where recorded, else quantity × price.
    return row["amount_krw"] if row["amount_krw"] is not None else row["quantity"] * row["price"]


def _same_won(ours: Decimal, broker: Decimal) -> bool:
    # Equal to the won: averages are kept to 1/10,000 KRW, so folds of different granularity differ by less.
    return abs(ours - broker) < Decimal("0.5")


def _cumulative(fill_id: str) -> Decimal:
    # The order's executed shares after this fill: ``<account>:<YYYYMMDD>:<order>@<shares>``.
    return Decimal(fill_id.rsplit("@", 1)[1])


def _event_counts(db_url: str) -> Counter[str]:
    e = tables.events.c
    rows = query(db_url, select(e.kind, func.count()).where(e.kind.in_(REPORTED_EVENTS)).group_by(e.kind))
    return Counter({kind: count for kind, count in rows})
