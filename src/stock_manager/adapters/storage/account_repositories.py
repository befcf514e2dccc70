"""Per-account records: the accounts, current positions, close-of-session snapshots, daily settlements,
recovery logs."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import dialect_insert, upsert
from stock_manager.adapters.storage.engine import to_json_safe
from stock_manager.adapters.storage.tables import (
    accounts,
    daily_settlements,
    position_checkpoints,
    position_snapshots,
    positions,
    recovery_logs,
)
from stock_manager.domain.positions import Position
from stock_manager.service_layer.ports.storage import DailySettlement, PositionCheckpoint, PositionSnapshot


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
            .where(position_snapshots.c.account_id == account_id, position_snapshots.c.trading_date == trading_date)
            .order_by(position_snapshots.c.symbol)
        )
        return [PositionSnapshot(**row._mapping) for row in await self._connection.execute(statement)]

    async def get_checkpoint(self, account_id: str) -> PositionCheckpoint | None:
        """Return the account's position checkpoint; None when there is none, or when its rows disagree on
        the point they reached (then it cannot be trusted, and the caller folds every fill)."""
        statement = select(position_checkpoints).where(position_checkpoints.c.account_id == account_id)
        rows = (await self._connection.execute(statement)).all()
        if not rows:
            return None
        marks = {
            (
                r.trading_date,
                r.through_fill_id,
                r.last_ts_filled,
                r.last_broker_fill_id,
                r.ts_created,
                r.last_trading_date,
            )
            for r in rows
        }
        if len(marks) != 1:
            return None
        first = rows[0]
        return PositionCheckpoint(
            account_id=account_id,
            positions={
                r.symbol: Position(
                    account_id, r.symbol, r.quantity, r.avg_price, r.realized_pnl_krw, r.commission_krw, r.tax_krw
                )
                for r in rows
            },
            trading_date=first.trading_date,
            through_fill_id=first.through_fill_id,
            last_ts_filled=first.last_ts_filled,
            last_broker_fill_id=first.last_broker_fill_id,
            last_trading_date=first.last_trading_date,
            ts_created=first.ts_created,
        )

    async def put_checkpoint(self, checkpoint: PositionCheckpoint) -> None:
        """Replace the account's position checkpoint (one row per symbol, the point repeated on each)."""
        await self._connection.execute(
            delete(position_checkpoints).where(position_checkpoints.c.account_id == checkpoint.account_id)
        )
        if not checkpoint.positions:
            return
        mark = {
            "trading_date": checkpoint.trading_date,
            "through_fill_id": checkpoint.through_fill_id,
            "last_ts_filled": checkpoint.last_ts_filled,
            "last_broker_fill_id": checkpoint.last_broker_fill_id,
            "ts_created": checkpoint.ts_created,
            "last_trading_date": checkpoint.last_trading_date,
        }
        await self._connection.execute(
            insert(position_checkpoints),
            [
                {
                    "account_id": checkpoint.account_id,
                    "symbol": p.symbol,
                    "quantity": p.quantity,
                    "avg_price": p.avg_price,
                    "realized_pnl_krw": p.realized_pnl_krw,
                    "commission_krw": p.commission_krw,
                    "tax_krw": p.tax_krw,
                    **mark,
                }
                for p in checkpoint.positions.values()
            ],
        )


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

    async def list_all(self, account_id: str, *, with_summary: bool = True) -> list[DailySettlement]:
        """Return the account's settlements in date order.

        Without `with_summary` the `summary` of each is left empty and not read: it lists every order of
        its day, which the market open, needing only the equity, would otherwise read for every session.
        """
        columns = [c for c in daily_settlements.columns if with_summary or c.name != "summary"]
        statement = (
            select(*columns)
            .where(daily_settlements.c.account_id == account_id)
            .order_by(daily_settlements.c.trading_date)
        )
        return [_to_settlement(row) for row in await self._connection.execute(statement)]

    async def last(self, account_id: str) -> DailySettlement | None:
        """Return the account's settlement of the latest date without its summary (one row, by the primary key)."""
        statement = (
            select(*(c for c in daily_settlements.columns if c.name != "summary"))
            .where(daily_settlements.c.account_id == account_id)
            .order_by(daily_settlements.c.trading_date.desc())
            .limit(1)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _to_settlement(row)

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
    return DailySettlement(**{"summary": {}, **row._mapping})


class SqlAccountRepository:
    """`AccountRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def seen(self, account_id: str, venue: str, mode: str, name: str, ts: datetime) -> None:
        """Insert the account, or update its venue, mode, name and last-seen time."""
        statement = dialect_insert(self._connection, accounts).values(
            account_id=account_id, venue=venue, mode=mode, name=name, ts_first_seen=ts, ts_last_seen=ts
        )
        statement = statement.on_conflict_do_update(
            index_elements=["account_id"], set_={"venue": venue, "mode": mode, "name": name, "ts_last_seen": ts}
        )
        await self._connection.execute(statement)

    async def venue_of(self, account_id: str) -> str | None:
        """Return the account's venue, or None."""
        statement = select(accounts.c.venue).where(accounts.c.account_id == account_id)
        return (await self._connection.execute(statement)).scalar_one_or_none()
