"""Per-account results: current positions, close-of-session snapshots, daily settlements, recovery logs."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import upsert
from stock_manager.adapters.storage.engine import to_json_safe
from stock_manager.adapters.storage.tables import (
    daily_settlements,
    position_snapshots,
    positions,
    recovery_logs,
)
from stock_manager.domain.positions import Position
from stock_manager.service_layer.storage_port import DailySettlement, PositionSnapshot


class SqlPositionRepository:
    """`PositionRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def list_all(self, account_id: str) -> list[Position]:
        """Return the account's positions by symbol, including flat symbols with realized PnL."""
        statement = select(positions).where(positions.c.account_id == account_id).order_by(positions.c.symbol)
        return [
            Position(
                account_id=row.account_id,
                symbol=row.symbol,
                quantity=row.quantity,
                avg_price=row.avg_price,
                realized_pnl_krw=row.realized_pnl_krw,
                commission_krw=row.commission_krw,
                tax_krw=row.tax_krw,
            )
            for row in await self._connection.execute(statement)
        ]

    async def upsert(self, position: Position, ts_updated: datetime) -> None:
        """Insert or replace one position."""
        values = {
            "account_id": position.account_id,
            "symbol": position.symbol,
            "quantity": position.quantity,
            "avg_price": position.avg_price,
            "realized_pnl_krw": position.realized_pnl_krw,
            "commission_krw": position.commission_krw,
            "tax_krw": position.tax_krw,
            "ts_updated": ts_updated,
        }
        await self._connection.execute(upsert(self._connection, positions, ["account_id", "symbol"]), values)

    async def add_snapshot(self, snapshot: PositionSnapshot) -> None:
        """Insert or replace the close-of-session snapshot of one symbol."""
        key = ["account_id", "trading_date", "symbol"]
        values = {column.name: getattr(snapshot, column.name) for column in position_snapshots.columns}
        await self._connection.execute(upsert(self._connection, position_snapshots, key), values)

    async def list_snapshots(self, account_id: str, trading_date: date) -> list[PositionSnapshot]:
        """Return the snapshots of one session, by symbol."""
        statement = (
            select(position_snapshots)
            .where(
                position_snapshots.c.account_id == account_id,
                position_snapshots.c.trading_date == trading_date,
            )
            .order_by(position_snapshots.c.symbol)
        )
        return [PositionSnapshot(**row._mapping) for row in await self._connection.execute(statement)]


class SqlSettlementRepository:
    """`SettlementRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def put(self, settlement: DailySettlement) -> None:
        """Insert or replace one session's settlement; `summary` is stored as JSON (see `to_json_safe`)."""
        values = {column.name: getattr(settlement, column.name) for column in daily_settlements.columns}
        values["summary"] = to_json_safe(settlement.summary)
        await self._connection.execute(
            upsert(self._connection, daily_settlements, ["account_id", "trading_date"]), values
        )

    async def get(self, account_id: str, trading_date: date) -> DailySettlement | None:
        """Return one session's settlement."""
        statement = select(daily_settlements).where(
            daily_settlements.c.account_id == account_id, daily_settlements.c.trading_date == trading_date
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _to_settlement(row)

    async def list_all(self, account_id: str) -> list[DailySettlement]:
        """Return the account's settlements in date order."""
        statement = (
            select(daily_settlements)
            .where(daily_settlements.c.account_id == account_id)
            .order_by(daily_settlements.c.trading_date)
        )
        return [_to_settlement(row) for row in await self._connection.execute(statement)]

    async def add_recovery_log(
        self,
        account_id: str,
        mode: str,
        dry_run: bool,
        outcome: str,
        summary: Mapping[str, Any],
        ts_started: datetime,
        ts_finished: datetime,
    ) -> None:
        """Append one recovery run's record; `summary` is stored as JSON (see `to_json_safe`)."""
        await self._connection.execute(
            insert(recovery_logs).values(
                account_id=account_id,
                mode=mode,
                dry_run=dry_run,
                outcome=outcome,
                summary=to_json_safe(summary),
                ts_started=ts_started,
                ts_finished=ts_finished,
            )
        )


def _to_settlement(row: Row[Any]) -> DailySettlement:
    return DailySettlement(**row._mapping)
