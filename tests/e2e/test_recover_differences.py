"""`stockbot recover` on differences the exchange really holds: a fill our database missed, an order of ours
cancelled at the broker, and a holding bought by hand. The dry run shows each and changes nothing; the real
run applies them; what must stay (the external holding) is still reported."""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.observability.masking import partial_account
from stock_manager.adapters.storage import tables
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.config.settings import Settings
from stock_manager.domain.model import OrderType, Side
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.sessions import TradingSession
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.venues import Venue, open_venue
from stock_manager.service_layer.ports.broker import OrderRequest
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import cli_env, dump_database, query, replay_settings, stockbot

pytestmark = pytest.mark.slow

#: With a 5/10-day cross and no volume filter, 005930 and 069500 both cross on 2023-01-10 (the first day):
#: the daemon sends two limit buys before the first print. 000660 gives no signal; it is bought by hand.
DAY = date(2023, 1, 10)
PERIOD = {"SIM_FROM": "2023-01-10", "SIM_TO": "2023-01-13", "SIM_SYMBOLS": "005930,069500,000660"}
PARAMS = {
    "short_window_days": 5,
    "long_window_days": 10,
    "volume_window_days": 20,
    "min_volume_ratio": 0,
    "stop_loss_pct": -5,
    "take_profit_pct": 10,
    "position_value_krw": 2000000,
    "entry_limit_offset_pct": 1,
}
BY_HAND = Decimal(3)  # shares of 000660 bought in HTS while the daemon was down


class ProcessDied(BaseException):
    """The daemon's process ends here (not an Exception: nothing in the daemon may catch it)."""


class DyingSchedule:
    """The replay's schedule, with the daemon's process dying when it starts to play a session."""

    def __init__(self, replay: Any) -> None:
        self._replay = replay

    def sessions(self, on_wait: Any = None) -> Any:
        return self._replay.sessions(on_wait)

    async def run_until_close(self, session: TradingSession) -> None:
        raise ProcessDied(f"killed after the open of {session.trading_date}, before its first print")


@dataclass
class Scene:
    settings: Settings
    env: dict[str, str]
    account: str
    entry_005930: str  # idempotency keys of the daemon's two orders
    entry_069500: str


async def daemon_dies_after_the_open(settings: Settings) -> None:
    """Run the daemon (KIS protocol to the simulator) until it has sent the day's orders, then kill it."""
    async with open_storage(settings, upgrade=False) as storage:
        with pytest.raises(ProcessDied):
            async with open_venue(settings) as venue:
                dying = Venue(venue.broker, DyingSchedule(venue.schedule), venue.clock)
                await build_daemon(settings, storage, dying, notifier=NullNotifier()).run()


async def exchange_goes_on_without_the_daemon(settings: Settings, cancel_number: str) -> None:
    """While the daemon is down: the owner cancels one of its orders and buys 000660 in HTS; the day plays
    to its close (the other order of the daemon fills). Every step is the exchange's own, journaled."""
    exchange = build_sim_broker(settings, replay_clock(settings))  # resumes the journaled replay
    try:
        await exchange.cancel_order(exchange.account_id, cancel_number, "")
        await exchange.place_order(
            OrderRequest(exchange.account_id, "000660", Side.BUY, OrderType.MARKET, BY_HAND, None)
        )
        await exchange.run_until_close(session_for(DAY))
    finally:
        await exchange.close()


@pytest.fixture
async def scene(tmp_path: Path, db_url: str) -> Scene:
    params = tmp_path / "params.json"
    params.write_text(json.dumps(PARAMS), encoding="utf-8")
    settings = replay_settings(
        tmp_path / "data",
        db_url,
        sim_from=date(2023, 1, 10),
        sim_to=date(2023, 1, 13),
        sim_symbols=PERIOD["SIM_SYMBOLS"],
        strategy_params_file=params,
    )
    await daemon_dies_after_the_open(settings)
    rows = query(
        db_url,
        select(
            tables.orders.c.symbol,
            tables.orders.c.status,
            tables.orders.c.idempotency_key,
            tables.orders.c.broker_order_number,
            tables.orders.c.account_id,
        ),
    )
    assert sorted((symbol, status) for symbol, status, *_ in rows) == [("005930", "SENT"), ("069500", "SENT")]
    keys = {symbol: key for symbol, _, key, _, _ in rows}
    numbers = {symbol: number for symbol, _, _, number, _ in rows}
    await exchange_goes_on_without_the_daemon(settings, numbers["069500"])
    env = cli_env(tmp_path / "data", db_url, **PERIOD, STRATEGY_PARAMS_FILE=str(params), COLUMNS="300")
    return Scene(settings, env, rows[0][4], keys["005930"], keys["069500"])


def recovery_logs(db_url: str) -> list[tuple[Any, ...]]:
    columns = (tables.recovery_logs.c.dry_run, tables.recovery_logs.c.outcome, tables.recovery_logs.c.summary)
    return [tuple(r) for r in query(db_url, select(*columns).order_by(tables.recovery_logs.c.id))]


def without_recovery_logs(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: rows for name, rows in dump.items() if name != "recovery_logs"}


async def test_recover_when_fill_missed_order_cancelled_at_broker_and_holding_bought_by_hand_then_dry_run_shows_each_and_changes_nothing(  # noqa: E501
    tmp_path: Path, db_url: str, scene: Scene
):
    # Arrange
    env = scene.env
    journal = scene.settings.sim_state_dir / "journal.jsonl"
    before_db, before_journal = dump_database(db_url), journal.read_bytes()
    logs_before = recovery_logs(db_url)
    # Act
    shown = stockbot("recover", "--dry-run", env=env, cwd=tmp_path)
    as_json = stockbot("recover", "--dry-run", "--json", env=env, cwd=tmp_path)
    # Assert: each difference, with why and before → after, as a table ...
    assert shown.returncode == 0, shown.stdout + shown.stderr
    table = shown.stdout
    assert "would change" in table
    for kind in ("fill", "cancel", "external_order", "external_fill"):
        assert f"{kind} " in table, (kind, table)
    assert "missed fill" in table and "cancelled or expired at the broker" in table
    assert "was not placed by this daemon" in table
    assert "SENT 0/32; 005930 flat" in table and "FILLED 32/32; 005930 32 @ " in table, table
    assert "SENT 0/64" in table and "CANCELED 0/64" in table and "000660 3 @ " in table, table
    # ... and as JSON.
    assert as_json.returncode == 0, as_json.stderr
    plan = json.loads(as_json.stdout)
    masked = partial_account(scene.account)  # the account is shown only partly, in keys too
    assert plan["dry_run"] is True and plan["account_id"] == masked and plan["outcome"] == "CORRECTED"
    actions = {(a["kind"], a["order_key"]): a for a in plan["actions"]}
    assert sorted(kind for kind, _ in actions) == ["cancel", "external_fill", "external_order", "fill"]
    missed = actions[("fill", scene.entry_005930.replace(scene.account, masked))]
    assert missed["before"].startswith("SENT 0/") and missed["after"].startswith("FILLED ")
    assert "005930 flat" in missed["before"] and "005930 " in missed["after"]
    cancelled = actions[("cancel", scene.entry_069500.replace(scene.account, masked))]
    assert cancelled["before"].startswith("SENT 0/") and cancelled["after"].startswith("CANCELED 0/")
    external = actions[("external_fill", None)]
    assert external["before"] == "000660 flat" and external["after"].startswith(f"000660 {BY_HAND} @ ")
    assert Decimal(plan["positions_after"]["000660"]["quantity"]) == BY_HAND
    assert plan["position_differences"] == [] and plan["stop_reasons"] == []
    # Nothing changed, in the database or at the exchange, but the record of each run.
    assert without_recovery_logs(dump_database(db_url)) == without_recovery_logs(before_db)
    assert journal.read_bytes() == before_journal
    logs = recovery_logs(db_url)[len(logs_before) :]
    assert [(dry_run, outcome) for dry_run, outcome, _ in logs] == [(True, "CORRECTED"), (True, "CORRECTED")]
    assert sorted(a["kind"] for a in logs[0][2]["actions"]) == ["cancel", "external_fill", "external_order", "fill"]


async def test_recover_when_applied_then_resolved_external_holding_still_reported_and_restart_finishes_the_period(
    tmp_path: Path, db_url: str, scene: Scene
):
    # Act
    applied = stockbot("recover", env=scene.env, cwd=tmp_path)
    again = stockbot("recover", "--dry-run", "--json", env=scene.env, cwd=tmp_path)
    # Assert: applied, with the same before → after it showed.
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "will change" in applied.stdout and "Recovery applied." in applied.stdout
    assert "CANCELED 0/64" in applied.stdout and "000660 3 @ " in applied.stdout
    orders = {
        key: (status, filled)
        for key, status, filled in query(
            db_url, select(tables.orders.c.idempotency_key, tables.orders.c.status, tables.orders.c.filled_quantity)
        )
    }
    assert orders[scene.entry_005930] == ("FILLED", Decimal(32))
    assert orders[scene.entry_069500] == ("CANCELED", Decimal(0))
    fills = query(
        db_url, select(tables.fills.c.symbol, tables.fills.c.quantity, tables.fills.c.order_id, tables.fills.c.source)
    )
    assert sorted((symbol, quantity, order_id is None, source) for symbol, quantity, order_id, source in fills) == [
        ("000660", BY_HAND, True, "recovery"),
        ("005930", Decimal(32), False, "recovery"),
    ]
    # Our positions are the exchange's holdings.
    held = await exchange_holdings(scene.settings)
    ours = query(db_url, select(tables.positions.c.symbol, tables.positions.c.quantity))
    assert {s: q for s, q in ours if q} == held and held["000660"] == BY_HAND
    # Every correction left an event saying what changed.
    messages = [
        m
        for (m,) in query(
            db_url,
            select(tables.events.c.message).where(tables.events.c.kind.in_(["recovery_cancel", "external_order"])),
        )
    ]
    assert any("SENT 0/64 → CANCELED 0/64" in m for m in messages), messages
    assert any("000660" in m and "was not placed by this daemon" in m for m in messages), messages
    # A second look: only the order bought by hand is reported again; its fill and holding are ours now.
    assert again.returncode == 0, again.stderr
    plan = json.loads(again.stdout)
    assert [a["kind"] for a in plan["actions"]] == ["external_order"]
    assert "000660" in plan["actions"][0]["detail"] and plan["position_differences"] == []
    assert [(dry_run, outcome) for dry_run, outcome, _ in recovery_logs(db_url)[-2:]] == [
        (False, "CORRECTED"),
        (True, "CORRECTED"),
    ]

    # Then the daemon starts again and trades the rest of the period.
    async with open_storage(scene.settings, upgrade=False) as storage:
        async with open_venue(scene.settings) as venue:
            result = await build_daemon(scene.settings, storage, venue, notifier=NullNotifier()).run()
        async with storage.uow_factory() as uow:
            every_fill = [s.fill for s in await uow.fills.list_for_account(scene.account)]
            checkpoint = await uow.positions.get_checkpoint(scene.account)
    held = await exchange_holdings(scene.settings)
    last_day = date.fromisoformat(PERIOD["SIM_TO"])
    assert result.settlements and result.settlements[-1].trading_date == last_day
    positions = positions_from_fills(scene.account, every_fill)
    assert {s: p.quantity for s, p in positions.items() if not p.is_flat} == held
    # The last close left the checkpoint the next start folds from: every fill so far.
    assert checkpoint is not None and checkpoint.trading_date == last_day
    assert checkpoint.positions == positions
    # Each open logged its recovery, and none failed.
    opens = [outcome for dry_run, outcome, _ in recovery_logs(db_url)[-len(result.settlements) :] if not dry_run]
    assert len(opens) == len(result.settlements) and "FAILED" not in opens
    # Nothing left to recover: the run that finds nothing is logged as well.
    final = stockbot("recover", env=scene.env, cwd=tmp_path)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "agree" in final.stdout
    assert recovery_logs(db_url)[-1][:2] == (False, "CLEAN")


async def exchange_holdings(settings: Settings) -> dict[str, Decimal]:
    """Return the exchange's own holdings (the replay attached read-only)."""
    exchange = SimBroker.attach(settings.sim_state_dir)
    assert exchange is not None
    try:
        return {p.symbol: p.quantity for p in await exchange.get_positions(exchange.account_id)}
    finally:
        await exchange.close()
