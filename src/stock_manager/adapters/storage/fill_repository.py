"""Fills: append-only facts reported by the broker (the database refuses UPDATE and DELETE)."""

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import insert_unless_exists
from stock_manager.adapters.storage.tables import fills
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.service_layer.ports.storage import StoredFill


class SqlFillRepository:
    """`FillRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, stored: StoredFill, ts_recorded: datetime) -> bool:
        """Append a fill; return False, having written nothing, when its broker fill id is recorded.

        One ``INSERT ... ON CONFLICT (broker_fill_id) DO NOTHING``: a duplicate (the same execution from the
        WebSocket notice and from a REST inquiry) raises nothing and leaves the transaction usable.
        """
        fill = stored.fill
        statement = (
            insert_unless_exists(self._connection, fills, ["broker_fill_id"])
            .values(
                broker_fill_id=fill.broker_fill_id,
                order_id=stored.order_id,
                account_id=stored.account_id,
                broker_order_number=fill.broker_order_number,
                symbol=fill.symbol,
                side=fill.side.value,
                quantity=fill.quantity,
                price=fill.price,
                commission_krw=fill.commission_krw,
                tax_krw=fill.tax_krw,
                ts_filled=fill.ts_filled,
                ts_recorded=ts_recorded,
                source=stored.source,
                trading_date=fill.trading_date,
                amount_krw=fill.amount_krw,
            )
            .returning(fills.c.id)
        )
        return (await self._connection.execute(statement)).scalar_one_or_none() is not None

    async def exists(self, broker_fill_id: str) -> bool:
        """Return True when a fill with this broker fill id is recorded."""
        statement = select(fills.c.id).where(fills.c.broker_fill_id == broker_fill_id)
        return (await self._connection.execute(statement)).first() is not None

    async def list_for_account(self, account_id: str) -> list[StoredFill]:
        """Return all the account's fills in execution order (time, then the order they were recorded)."""
        return await self._many(select(fills).where(fills.c.account_id == account_id))

    async def list_for_date(self, account_id: str, trading_date: date) -> list[StoredFill]:
        """Return the account's fills of the venue's `trading_date`, in execution order."""
        statement = select(fills).where(fills.c.account_id == account_id, fills.c.trading_date == trading_date)
        return await self._many(statement)

    async def list_for_order_numbers(self, account_id: str, broker_order_numbers: Collection[str]) -> list[StoredFill]:
        """Return the account's fills of these venue order numbers, whatever their day, in execution order."""
        if not broker_order_numbers:
            return []
        return await self._many(
            select(fills).where(
                fills.c.account_id == account_id, fills.c.broker_order_number.in_(sorted(broker_order_numbers))
            )
        )

    async def list_after(self, account_id: str, fill_id: int) -> list[StoredFill]:
        """Return the account's fills whose row id is greater than `fill_id`, in execution order."""
        return await self._many(select(fills).where(fills.c.account_id == account_id, fills.c.id > fill_id))

    async def _many(self, statement: Select[Any]) -> list[StoredFill]:
        rows = await self._connection.execute(statement.order_by(fills.c.ts_filled, fills.c.id))
        return [_to_stored_fill(row) for row in rows]


def _to_stored_fill(row: Row[Any]) -> StoredFill:
    fill = Fill(
        broker_fill_id=row.broker_fill_id,
        broker_order_number=row.broker_order_number,
        symbol=row.symbol,
        side=Side(row.side),
        quantity=row.quantity,
        price=row.price,
        commission_krw=row.commission_krw,
        tax_krw=row.tax_krw,
        ts_filled=row.ts_filled,
        trading_date=row.trading_date,
        amount_krw=row.amount_krw,
    )
    return StoredFill(fill=fill, account_id=row.account_id, order_id=row.order_id, source=row.source, id=row.id)
