"""Positions, settlements, events, kill switch, daemon state, strategy parameters and daily bars."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import Side
from stock_manager.domain.positions import Position
from stock_manager.service_layer.ports.storage import (
    DaemonState,
    DailySettlement,
    EventRecord,
    KillSwitchState,
    PositionSnapshot,
)

T0 = datetime(2024, 3, 4, 6, 30, tzinfo=UTC)  # 15:30 KST
ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)


async def test_upsert_position_when_symbol_exists_then_replaces_it(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = Position(ACCOUNT, "005930", Decimal(10), Decimal("72100.1234"), Decimal(0), Decimal(101), Decimal(0))
    second = Position(
        ACCOUNT, "005930", Decimal(0), Decimal(0), Decimal("12345.6789"), Decimal("202.5"), Decimal("1300")
    )
    flat_other = Position(ACCOUNT, "000660", realized_pnl_krw=Decimal("-500"))
    async with uow_factory() as uow:
        await uow.positions.upsert(first, T0)
        await uow.positions.upsert(flat_other, T0)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.positions.upsert(second, T0 + timedelta(minutes=1))
        await uow.commit()

    async with uow_factory() as uow:
        listed = await uow.positions.list_all(ACCOUNT)
        other_account = await uow.positions.list_all("other")

    assert listed == [flat_other, second]
    assert other_account == []


async def test_add_snapshot_when_taken_twice_then_keeps_the_last(uow_factory: SqlUnitOfWorkFactory) -> None:
    snapshot = PositionSnapshot(
        ACCOUNT, DAY, "005930", Decimal(10), Decimal("72100.5"), Decimal(73000), Decimal(730000),
        Decimal("8995"), Decimal(0), T0,
    )  # fmt: skip
    corrected = replace(
        snapshot, close_price=Decimal(73100), market_value_krw=Decimal(731000), unrealized_pnl_krw=Decimal(9995)
    )
    async with uow_factory() as uow:
        await uow.positions.add_snapshot(snapshot)
        await uow.positions.add_snapshot(corrected)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.positions.list_snapshots(ACCOUNT, DAY) == [corrected]
        assert await uow.positions.list_snapshots(ACCOUNT, DAY + timedelta(days=1)) == []


async def test_put_settlement_when_repeated_then_replaces_and_lists_in_date_order(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    def settlement(day: date, end_equity: str) -> DailySettlement:
        return DailySettlement(
            ACCOUNT, day, "sim", Decimal(10_000_000), Decimal(end_equity), Decimal("9270000"), Decimal(1500),
            Decimal("8995.5"), Decimal("140.5271"), Decimal(0), 2, 3, Decimal("0.000140"),
            {"best": "005930", "pnl_krw": Decimal("10495.5"), "at": T0}, T0,
        )  # fmt: skip

    async with uow_factory() as uow:
        await uow.settlements.put(settlement(DAY + timedelta(days=1), "10000001"))
        await uow.settlements.put(settlement(DAY, "10000000"))
        await uow.settlements.put(settlement(DAY, "10010495.5"))
        await uow.commit()

    async with uow_factory() as uow:
        one = await uow.settlements.get(ACCOUNT, DAY)
        listed = await uow.settlements.list_all(ACCOUNT)
        missing = await uow.settlements.get(ACCOUNT, DAY - timedelta(days=1))

    assert one is not None and one.end_equity_krw == Decimal("10010495.5") and one.return_pct == Decimal("0.00014")
    assert one.summary == {"best": "005930", "pnl_krw": "10495.5", "at": T0.isoformat()}
    assert [s.trading_date for s in listed] == [DAY, DAY + timedelta(days=1)]
    assert missing is None


async def test_add_event_when_payload_has_decimals_and_datetimes_then_stored_as_text(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    payload = {
        "price": Decimal("72100.0001"),
        "rate": Decimal("0.000140527"),
        "at": T0,
        "day": DAY,
        "side": Side.BUY,
        "nested": {"fills": [Decimal(1), ("a", 2)], 3: None},
        "note": "킬 스위치",
        "ratio": float("nan"),
    }
    async with uow_factory() as uow:
        await uow.events.add(EventRecord(T0, "risk_block", "WARNING", "blocked", payload, "c-9", ACCOUNT))
        await uow.commit()

    async with uow_factory() as uow:
        [event] = await uow.events.list_kind("risk_block")

    assert event.payload == {
        "price": "72100.0001",
        "rate": "0.000140527",
        "at": "2024-03-04T06:30:00+00:00",
        "day": "2024-03-04",
        "side": "BUY",
        "nested": {"fills": ["1", ["a", 2]], "3": None},
        "note": "킬 스위치",
        "ratio": "nan",
    }
    assert event == EventRecord(T0, "risk_block", "WARNING", "blocked", event.payload, "c-9", ACCOUNT, event.id)
    assert event.id is not None


async def test_recent_events_when_filtered_by_account_then_newest_first_with_global_events(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.events.add(EventRecord(T0, "market_open", "INFO", "open"))
        await uow.events.add(EventRecord(T0 + timedelta(seconds=1), "order", "INFO", "mine", account_id=ACCOUNT))
        await uow.events.add(EventRecord(T0 + timedelta(seconds=2), "order", "INFO", "theirs", account_id="x"))
        await uow.events.add(EventRecord(T0 + timedelta(seconds=3), "market_close", "INFO", "close"))
        await uow.commit()

    async with uow_factory() as uow:
        everything = await uow.events.recent(10)
        mine = await uow.events.recent(10, account_id=ACCOUNT)
        latest_two = await uow.events.recent(2)
        orders = await uow.events.list_kind("order")

    assert [e.message for e in everything] == ["close", "theirs", "mine", "open"]
    assert [e.message for e in mine] == ["close", "mine", "open"]
    assert [e.message for e in latest_two] == ["close", "theirs"]
    assert [e.message for e in orders] == ["mine", "theirs"]


async def test_kill_switch_when_never_set_then_inactive(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.control.get_kill_switch() == KillSwitchState(False, "", "", None)


async def test_kill_switch_when_set_then_cleared_then_reads_each_state(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "daily loss limit", "stockbot kill", T0)
        await uow.commit()
    async with uow_factory() as uow:
        set_state = await uow.control.get_kill_switch()
        await uow.control.set_kill_switch(False, "stockbot resume", "operator", T0 + timedelta(hours=1))
        await uow.commit()
    async with uow_factory() as uow:
        cleared = await uow.control.get_kill_switch()

    assert set_state == KillSwitchState(True, "daily loss limit", "stockbot kill", T0)
    assert cleared == KillSwitchState(False, "stockbot resume", "operator", T0 + timedelta(hours=1))


async def test_daemon_state_when_two_accounts_then_latest_started_is_the_default(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    older = DaemonState(ACCOUNT, "paper", "TRADING", "", DAY, Decimal("10000000.5"), 4242, T0, T0)
    newer = DaemonState("SIM-1", "sim", "STARTING", "", None, None, None, T0 + timedelta(hours=1), T0)
    async with uow_factory() as uow:
        assert await uow.control.get_daemon_state() is None
        await uow.control.put_daemon_state(older)
        await uow.control.put_daemon_state(newer)
        await uow.control.put_daemon_state(replace(older, trading_state="STOPPED"))
        await uow.commit()

    async with uow_factory() as uow:
        latest = await uow.control.get_daemon_state()
        mine = await uow.control.get_daemon_state(ACCOUNT)

    assert latest == newer
    assert mine == replace(older, trading_state="STOPPED")


async def test_active_params_when_several_dates_versions_and_statuses_then_picks_latest_active(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.strategies.ensure_strategy("ma_cross", "MA 50/200 cross", "", T0)
        await uow.strategies.ensure_strategy("ma_cross", "renamed is ignored", "", T0)
        versions = [
            await uow.strategies.add_params("ma_cross", date(2024, 1, 2), {"fast": 50}, "ACTIVE", "seed", T0),
            await uow.strategies.add_params("ma_cross", date(2024, 3, 4), {"fast": 20}, "ACTIVE", "file", T0),
            await uow.strategies.add_params("ma_cross", date(2024, 3, 4), {"fast": 30}, "ACTIVE", "file", T0),
            await uow.strategies.add_params("ma_cross", date(2024, 3, 4), {"fast": 40}, "DRAFT", "ai", T0),
            await uow.strategies.add_params(
                "ma_cross", date(2024, 3, 5), {"fast": 60, "rate": Decimal("0.000140527")}, "ACTIVE", "file", T0
            ),
        ]
        await uow.commit()

    async with uow_factory() as uow:
        before_any = await uow.strategies.active_params("ma_cross", date(2024, 1, 1))
        first_day = await uow.strategies.active_params("ma_cross", date(2024, 1, 2))
        between = await uow.strategies.active_params("ma_cross", date(2024, 3, 3))
        on_day = await uow.strategies.active_params("ma_cross", DAY)
        later = await uow.strategies.active_params("ma_cross", date(2024, 12, 31))
        unknown = await uow.strategies.active_params("nope", DAY)

    assert versions == [1, 1, 2, 3, 1]
    assert before_any is None and unknown is None
    assert first_day == {"fast": 50} and between == {"fast": 50}
    assert on_day == {"fast": 30}  # the DRAFT version 3 is not active
    assert later == {"fast": 60, "rate": "0.000140527"}


async def test_upsert_daily_bars_when_overlapping_then_replaces_and_reads_oldest_first(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    def bar(day: int, close: str) -> DailyBar:
        return DailyBar("005930", date(2024, 3, day), Decimal(72000), Decimal(73000), Decimal("71000.5"),
                        Decimal(close), Decimal("12345678.1234"))  # fmt: skip

    async with uow_factory() as uow:
        await uow.market_data.upsert_symbol(krx_instrument("005930", name="삼성전자"), T0)
        await uow.market_data.upsert_symbol(krx_instrument("005930", name="삼성전자보통주"), T0)
        written = await uow.market_data.upsert_daily_bars([bar(4, "72500"), bar(5, "72600"), bar(6, "72700")], "kis")
        rewritten = await uow.market_data.upsert_daily_bars([bar(6, "72800.25"), bar(7, "72900")], "kis")
        nothing = await uow.market_data.upsert_daily_bars([], "kis")
        await uow.commit()

    async with uow_factory() as uow:
        last_two_by_6th = await uow.market_data.daily_bars("005930", date(2024, 3, 6), 2)
        all_bars = await uow.market_data.daily_bars("005930", date(2024, 12, 31), 100)
        before = await uow.market_data.daily_bars("005930", date(2024, 3, 3), 5)

    assert (written, rewritten, nothing) == (3, 2, 0)
    assert last_two_by_6th == [bar(5, "72600"), bar(6, "72800.25")]
    assert [b.trading_date.day for b in all_bars] == [4, 5, 6, 7]
    assert before == []
