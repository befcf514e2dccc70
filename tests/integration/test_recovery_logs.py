"""Every recovery run leaves one ``recovery_logs`` record, dry runs too, and every correction says what it
changes: before and after (on a real database, both backends)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity
from stock_manager.adapters.storage import tables
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Side
from stock_manager.service_layer.recovery import (
    RecoveryInputs,
    apply_plan,
    gather_plan,
    plan_outcome,
    plan_summary,
    record_dry_run,
)
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_recovery import ACCOUNT, DAY, T0, make_signal, start_daemon


async def row_counts(db_engine: AsyncEngine) -> dict[str, int]:
    async with db_engine.connect() as connection:
        return {
            name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in tables.metadata.tables.items()
        }


async def logs(db_engine: AsyncEngine) -> list[dict[str, Any]]:
    async with db_engine.connect() as connection:
        rows = await connection.execute(select(tables.recovery_logs).order_by(tables.recovery_logs.c.id))
        return [dict(r._mapping) for r in rows]


async def broker_differs_from_database(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> FakeBroker:
    """Our order of 10 × 005930 is working in our records; the broker filled 4, then it was cancelled by
    hand; 2 × 000660 were bought by hand. Nothing of it reached the daemon."""
    broker = FakeBroker(clock, ACCOUNT)
    daemon = await start_daemon(uow_factory, broker, clock, RecordingNotifier())
    await daemon.submit(make_signal())
    broker.order_event_handler = None  # the daemon is gone
    [number] = broker.orders
    clock.advance(timedelta(minutes=3))
    broker.execute(number, 4, 72100)
    await broker.cancel_order(ACCOUNT, number, "")
    by_hand = broker.add_order("000660", Side.BUY, Decimal(2), Decimal(150000))
    broker.execute(by_hand.broker_order_number, 2, 150000)
    clock.advance(timedelta(minutes=3))
    return broker


async def test_dry_run_when_broker_differs_then_one_dry_run_record_and_nothing_else_written(
    uow_factory: SqlUnitOfWorkFactory, db_engine: AsyncEngine
):
    # Arrange
    clock = FixedClock(T0)
    broker = await broker_differs_from_database(uow_factory, clock)
    before = await row_counts(db_engine)
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())
    # Act
    await record_dry_run(plan, uow_factory, ACCOUNT, "sim", clock.now(), clock.now())
    # Assert
    after = await row_counts(db_engine)
    assert after == {**before, "recovery_logs": before["recovery_logs"] + 1}
    [log] = (await logs(db_engine))[-1:]
    assert (log["dry_run"], log["outcome"], log["account_id"]) == (True, "CORRECTED", ACCOUNT)
    assert log["summary"] == plan_summary(plan)
    assert [a["kind"] for a in log["summary"]["actions"]] == ["fill", "cancel", "external_order", "external_fill"]


async def test_plan_when_broker_differs_then_each_correction_has_its_before_and_after(
    uow_factory: SqlUnitOfWorkFactory,
):
    clock = FixedClock(T0)
    broker = await broker_differs_from_database(uow_factory, clock)

    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())

    changes = [(a.kind, a.before, a.after) for a in plan.actions]
    assert changes == [
        ("fill", "SENT 0/10; 005930 flat", "PARTIAL 4/10; 005930 4 @ 72100"),
        ("cancel", "PARTIAL 4/10", "CANCELED 4/10"),
        ("external_order", "-", "reported, not adopted"),
        ("external_fill", "000660 flat", "000660 2 @ 150000"),
    ]


async def test_apply_when_broker_differs_then_one_record_and_events_say_before_and_after(
    uow_factory: SqlUnitOfWorkFactory, db_engine: AsyncEngine
):
    # Arrange
    clock = FixedClock(T0)
    broker = await broker_differs_from_database(uow_factory, clock)
    notifier = RecordingNotifier()
    execution = await start_daemon(uow_factory, broker, clock, notifier)
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())
    # Act
    await apply_plan(plan, execution, uow_factory, notifier, clock, mode="sim")
    # Assert
    [log] = await logs(db_engine)
    assert (log["dry_run"], log["outcome"]) == (False, "CORRECTED")
    assert [(a["before"], a["after"]) for a in log["summary"]["actions"]][1] == ("PARTIAL 4/10", "CANCELED 4/10")
    [cancel] = notifier.of_kind("recovery_cancel")
    assert cancel.message.endswith("(PARTIAL 4/10 → CANCELED 4/10)")
    assert {s: p.quantity for s, p in execution.positions.items()} == {"005930": Decimal(4), "000660": Decimal(2)}
    assert plan_outcome(plan) == ("CORRECTED", [])


async def test_outcome_when_holding_differs_then_failed_with_the_reason(uow_factory: SqlUnitOfWorkFactory):
    clock = FixedClock(T0)
    broker = await broker_differs_from_database(uow_factory, clock)
    broker.set_position("005930", 9, 72100)  # 5 more than any execution explains

    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, DAY), CumulativeFillIdentity())

    assert plan_outcome(plan) == ("FAILED", ["005930: 4 shares from our fills, 9 at the broker"])
