"""Orders and fills in the database: idempotency, exact round-trips, append-only fills, rollback."""

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.storage.tables import fills
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order, OrderAccepted, OrderFilled
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.storage import DuplicateIdempotencyKey, EventRecord, StoredFill

T0 = datetime(2024, 3, 4, 0, 5, 1, 123456, tzinfo=UTC)  # 09:05:01 KST
ACCOUNT = "50123456-01"


def make_order(key: str = "ma_cross:005930:ENTRY:2024-03-04T09:05", **changes: object) -> Order:
    order = Order(
        idempotency_key=key,
        account_id=ACCOUNT,
        strategy_id="ma_cross",
        symbol="005930",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(10),
        limit_price=Decimal("72100"),
        intent=Intent.ENTRY,
        reason="MA50 crossed above MA200 on volume",
        trading_date=date(2024, 3, 4),
        ts_created=T0,
        correlation_id="c-1",
        signal_price=Decimal("72050"),
    )
    return replace(order, **changes) if changes else order


def make_fill(fill_id: str = "F-1", quantity: str = "4", **changes: object) -> Fill:
    fill = Fill(
        broker_fill_id=fill_id,
        broker_order_number="0000011774",
        symbol="005930",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal("72100"),
        commission_krw=Decimal("40.5187"),
        tax_krw=Decimal(0),
        ts_filled=T0 + timedelta(seconds=30),
        trading_date=kst_date(T0),
    )
    return replace(fill, **changes) if changes else fill


async def test_add_order_when_key_is_new_then_assigns_id_and_reads_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.orders.add(make_order())
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.orders.get(added.id or -1)

    assert added.id is not None
    assert loaded is not None and loaded.id == added.id and loaded.status is OrderStatus.NEW


async def test_add_order_when_key_exists_then_raises_and_existing_order_is_retrievable(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # Arrange
    async with uow_factory() as uow:
        first = await uow.orders.add(make_order(reason="first"))
        await uow.commit()

    # Act: the same decision again, in one unit of work that goes on after the refusal
    async with uow_factory() as uow:
        with pytest.raises(DuplicateIdempotencyKey):
            await uow.orders.add(make_order(reason="second"))
        existing = await uow.orders.get_by_key(make_order().idempotency_key)
        await uow.events.add(EventRecord(T0, "order_duplicate", "INFO", "same decision again"))
        await uow.commit()

    # Assert: the first order stands, and the unit of work stayed usable after the refusal
    assert existing is not None and existing.id == first.id and existing.reason == "first"
    async with uow_factory() as uow:
        assert len(await uow.orders.list_for_date(ACCOUNT, date(2024, 3, 4))) == 1
        assert len(await uow.events.list_kind("order_duplicate")) == 1


async def test_update_order_when_every_field_set_then_round_trips_exactly(uow_factory: SqlUnitOfWorkFactory) -> None:
    # Arrange: every column that can hold a value holds one, with the most decimals the columns allow
    order = make_order(
        quantity=Decimal("12345.6789"), limit_price=Decimal("12345.6789"), signal_price=Decimal("0.0001")
    )
    async with uow_factory() as uow:
        await uow.orders.add(order)
        order.apply(OrderAccepted("11774", T0 + timedelta(seconds=1), venue_order_ref="06010"))
        fill = make_fill("F-1", "1", price=Decimal("12345.6789"))
        order.apply(OrderFilled(fill))
        await uow.fills.add(StoredFill(fill, ACCOUNT, order.id, "notice"), T0)
        order.status_reason = "부분 체결"
        order.ts_canceled = T0 + timedelta(hours=6)
        order.ts_rejected = T0 + timedelta(hours=7)
        await uow.orders.update(order, ts_updated=T0 + timedelta(minutes=1))
        await uow.commit()

    # Act
    async with uow_factory() as uow:
        loaded = await uow.orders.get(order.id or -1)

    # Assert
    assert loaded is not None
    for name in (f.name for f in fields(Order) if f.name != "events"):
        assert getattr(loaded, name) == getattr(order, name), name
    assert loaded.quantity == Decimal("12345.6789") and loaded.signal_price == Decimal("0.0001")
    assert str(loaded.quantity.normalize()) == "12345.6789"  # exact, to the column's 8 decimal places
    assert loaded.filled_amount_krw == Decimal("12345.6789") and loaded.status is OrderStatus.PARTIAL
    assert loaded.ts_sent is not None and loaded.ts_sent.utcoffset() == timedelta(0)
    assert loaded.events == []


async def test_add_order_when_market_order_then_null_prices_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        order = await uow.orders.add(make_order(order_type=OrderType.MARKET, limit_price=None, signal_price=None))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.orders.get_by_key(order.idempotency_key)
    assert loaded is not None and loaded.limit_price is None and loaded.signal_price is None


async def test_get_by_broker_number_when_zero_padded_either_way_then_finds_the_order(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        order = await uow.orders.add(make_order())
        order.apply(OrderAccepted("11774", T0))  # KIS paper order response
        await uow.orders.update(order, T0)
        await uow.commit()

    async with uow_factory() as uow:
        padded = await uow.orders.get_by_broker_number(ACCOUNT, "0000011774")  # KIS inquiry
        plain = await uow.orders.get_by_broker_number(ACCOUNT, "11774")
        other_account = await uow.orders.get_by_broker_number("99999999-01", "11774")
        other_number = await uow.orders.get_by_broker_number(ACCOUNT, "117740")

    assert padded is not None and padded.id == order.id
    assert plain is not None and plain.id == order.id
    assert other_account is None and other_number is None


async def test_list_open_when_orders_in_every_status_then_returns_new_sent_partial_oldest_first(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    statuses = [OrderStatus.FILLED, OrderStatus.PARTIAL, OrderStatus.NEW, OrderStatus.CANCELED, OrderStatus.SENT]
    async with uow_factory() as uow:
        for i, status in enumerate(statuses):
            order = await uow.orders.add(make_order(f"k{i}", ts_created=T0 + timedelta(seconds=i)))
            order.status = status
            await uow.orders.update(order, T0)
        await uow.commit()

    async with uow_factory() as uow:
        open_orders = await uow.orders.list_open(ACCOUNT)

    assert [o.idempotency_key for o in open_orders] == ["k1", "k2", "k4"]


async def test_add_fill_when_new_then_recorded_and_loaded_into_order_fill_ids(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        order = await uow.orders.add(make_order())
        first = await uow.fills.add(StoredFill(make_fill("F-1"), ACCOUNT, order.id, "notice"), T0)
        second = await uow.fills.add(StoredFill(make_fill("F-2", "6"), ACCOUNT, order.id, "recovery"), T0)
        external = await uow.fills.add(StoredFill(make_fill("X-1", symbol="000660"), ACCOUNT, None, "recovery"), T0)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.orders.get(order.id or -1)
        listed = await uow.fills.list_for_account(ACCOUNT)
        exists = await uow.fills.exists("F-2")

    assert first and second and external and exists
    assert loaded is not None and loaded.fill_ids == {"F-1", "F-2"}
    assert [s.fill.broker_fill_id for s in listed] == ["F-1", "F-2", "X-1"]
    assert listed[0] == StoredFill(make_fill("F-1"), ACCOUNT, order.id, "notice")
    assert listed[2].order_id is None


async def test_add_fill_when_broker_fill_id_exists_then_returns_false_and_writes_nothing(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.fills.add(StoredFill(make_fill("F-1"), ACCOUNT, None, "notice"), T0)
        await uow.commit()

    async with uow_factory() as uow:
        duplicate = await uow.fills.add(StoredFill(make_fill("F-1", "9"), ACCOUNT, None, "recovery"), T0)
        still_usable = await uow.fills.add(StoredFill(make_fill("F-2"), ACCOUNT, None, "recovery"), T0)
        await uow.commit()

    async with uow_factory() as uow:
        listed = await uow.fills.list_for_account(ACCOUNT)
    assert duplicate is False and still_usable is True
    assert [(s.fill.broker_fill_id, s.fill.quantity, s.source) for s in listed] == [
        ("F-1", Decimal(4), "notice"),
        ("F-2", Decimal(4), "recovery"),
    ]


async def test_list_fills_for_date_when_fills_span_a_day_boundary_then_uses_their_trading_date(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    kst_midnight = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # 2024-03-05 00:00 KST
    async with uow_factory() as uow:
        for fill_id, ts in (("before", kst_midnight - timedelta(microseconds=1)), ("at", kst_midnight)):
            fill = make_fill(fill_id, ts_filled=ts, trading_date=kst_date(ts))
            await uow.fills.add(StoredFill(fill, ACCOUNT, None, "notice"), T0)
        await uow.commit()

    async with uow_factory() as uow:
        on_4th = await uow.fills.list_for_date(ACCOUNT, date(2024, 3, 4))
        on_5th = await uow.fills.list_for_date(ACCOUNT, date(2024, 3, 5))

    assert [s.fill.broker_fill_id for s in on_4th] == ["before"]
    assert [s.fill.broker_fill_id for s in on_5th] == ["at"]


@pytest.mark.parametrize(
    "statement",
    [pytest.param(update(fills).values(price=Decimal(1)), id="update"), pytest.param(delete(fills), id="delete")],
)
async def test_change_fill_when_recorded_then_database_refuses(
    uow_factory: SqlUnitOfWorkFactory, db_engine: AsyncEngine, statement: object
) -> None:
    async with uow_factory() as uow:
        await uow.fills.add(StoredFill(make_fill("F-1"), ACCOUNT, None, "notice"), T0)
        await uow.commit()

    with pytest.raises(DBAPIError, match="append-only"):
        async with db_engine.begin() as connection:
            await connection.execute(statement)  # type: ignore[call-overload]

    async with uow_factory() as uow:
        assert [s.fill for s in await uow.fills.list_for_account(ACCOUNT)] == [make_fill("F-1")]


async def test_leave_unit_of_work_when_not_committed_then_nothing_is_written(
    uow_factory: SqlUnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        order = await uow.orders.add(make_order())
        await uow.fills.add(StoredFill(make_fill("F-1"), ACCOUNT, order.id, "notice"), T0)
        await uow.control.set_kill_switch(True, "test", "pytest", T0)

    async with db_engine.connect() as connection:
        counts = [
            (await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one()
            for table in ("orders", "fills", "kill_switch")
        ]
    assert counts == [0, 0, 0]


async def test_leave_unit_of_work_when_error_raised_then_rolls_back_and_reraises(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with uow_factory() as uow:
            await uow.orders.add(make_order())
            raise RuntimeError("boom")

    async with uow_factory() as uow:
        assert await uow.orders.get_by_key(make_order().idempotency_key) is None
