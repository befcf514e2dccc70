"""The settlements the open and the close read: every one once, then only the latest row per session."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.service_layer.ports.storage import DailySettlement
from stock_manager.service_layer.settled_sessions import SettledSessions

ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 6, 30, 0, 123456, tzinfo=UTC)


def settlement(day: date, end_equity: str, ts: datetime = T0) -> DailySettlement:
    return DailySettlement(
        ACCOUNT, day, "sim", Decimal(10_000_000), Decimal(end_equity), Decimal("9270000"), Decimal(1500),
        Decimal("8995.5"), Decimal("140.5271"), Decimal(0), 2, 3, Decimal("0.000140"), {"orders": []}, ts,
    )  # fmt: skip


async def put(uow_factory: SqlUnitOfWorkFactory, *settlements: DailySettlement) -> None:
    async with uow_factory() as uow:
        for s in settlements:
            await uow.settlements.put(s)
        await uow.commit()


async def everything_before(uow_factory: SqlUnitOfWorkFactory, day: date) -> list[DailySettlement]:
    async with uow_factory() as uow:
        return [s for s in await uow.settlements.list_all(ACCOUNT, with_summary=False) if s.trading_date < day]


async def test_settled_sessions_when_a_daemon_settles_day_after_day_then_it_reads_them_all_once(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    sessions = SettledSessions(ACCOUNT)
    await put(uow_factory, settlement(DAY - timedelta(days=1), "9990000.123456789"))
    for i in range(5):
        day = DAY + timedelta(days=i)
        async with uow_factory() as uow:
            at_open = await sessions.before(uow, day)
        async with uow_factory() as uow:
            at_close = await sessions.before(uow, day)
        stored = settlement(day, f"{10_000_000 + i}.123456789", T0 + timedelta(days=i))
        await put(uow_factory, stored)
        sessions.stored(stored)

        assert at_open == at_close == await everything_before(uow_factory, day)
    async with uow_factory() as uow:
        after_all = await sessions.before(uow, DAY + timedelta(days=9))

    assert after_all == await everything_before(uow_factory, date.max)
    assert sessions.reads_all == 1
    # Held as stored: the database's eight decimals, not the amount that was put.
    assert after_all[-1].end_equity_krw == Decimal("10000004.12345679")


async def test_settled_sessions_when_another_writer_changed_the_latest_row_then_it_reads_them_all_again(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    sessions = SettledSessions(ACCOUNT)
    await put(uow_factory, settlement(DAY, "10000000"))
    async with uow_factory() as uow:
        await sessions.before(uow, DAY + timedelta(days=1))
    await put(uow_factory, settlement(DAY + timedelta(days=1), "10000100", T0 + timedelta(days=1)))  # not ours

    async with uow_factory() as uow:
        got = await sessions.before(uow, DAY + timedelta(days=2))

    assert got == await everything_before(uow_factory, DAY + timedelta(days=2)) and len(got) == 2
    assert sessions.reads_all == 2


async def test_last_settlement_when_none_then_none_else_the_latest_date_without_summary(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.settlements.last(ACCOUNT) is None
    await put(uow_factory, settlement(DAY + timedelta(days=1), "10000001"), settlement(DAY, "10000000"))

    async with uow_factory() as uow:
        last = await uow.settlements.last(ACCOUNT)

    assert last is not None and last.trading_date == DAY + timedelta(days=1) and last.summary == {}
    assert last.ts_created == T0
