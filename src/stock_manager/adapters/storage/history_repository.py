"""`History` over SQLAlchemy: the dashboard's searches of orders, events, strategy parameters and research runs.

Meant for the read-only engine (`read_only.create_read_only_engine`): each `SqlHistoryFactory` call opens one
connection, whose first statement starts one snapshot, and rolls it back at the end.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from stock_manager.adapters.storage.order_repository import SqlOrderRepository
from stock_manager.adapters.storage.tables import backtest_runs, events, orders, strategy_params
from stock_manager.domain.orders import Order
from stock_manager.service_layer.ports.history import SEVERITIES, OrderFilter, ParamsRow, ResearchRun
from stock_manager.service_layer.ports.records import EventRecord

#: The most rows one search returns, whatever is asked.
MAX_ROWS = 1_000


class SqlHistory(SqlOrderRepository):
    """`History` over one connection (orders are loaded as `SqlOrderRepository` loads them, fill ids too)."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection, mode="")
        self._conn = connection

    async def orders(self, account_id: str, where: OrderFilter) -> list[Order]:
        """Return the account's orders matching `where`, newest first."""
        statement = select(orders).where(orders.c.account_id == account_id)
        if where.date_from is not None:
            statement = statement.where(orders.c.trading_date >= where.date_from)
        if where.date_to is not None:
            statement = statement.where(orders.c.trading_date <= where.date_to)
        if where.symbol:
            statement = statement.where(orders.c.symbol == where.symbol)
        if where.strategy_id:
            statement = statement.where(orders.c.strategy_id == where.strategy_id)
        if where.statuses:
            statement = statement.where(orders.c.status.in_(where.statuses))
        limit = max(1, min(where.limit, MAX_ROWS))
        return await self._many(statement.order_by(orders.c.ts_created.desc(), orders.c.id.desc()).limit(limit))

    async def strategies(self, account_id: str) -> list[str]:
        """Return the strategy ids of the account's orders, sorted."""
        statement = select(orders.c.strategy_id).where(orders.c.account_id == account_id).distinct()
        return sorted(row[0] for row in await self._conn.execute(statement))

    async def events_for(self, correlation_id: str) -> list[EventRecord]:
        """Return every event of one decision, oldest first (none for an empty id)."""
        if not correlation_id:
            return []
        statement = select(events).where(events.c.correlation_id == correlation_id)
        return [_event(row) for row in await self._conn.execute(statement.order_by(events.c.ts_event, events.c.id))]

    async def events(
        self, *, min_severity: str = "DEBUG", after_id: int = 0, limit: int = 100, account_id: str | None = None
    ) -> list[EventRecord]:
        """Return up to `limit` newest events at or above `min_severity` with an id above `after_id`, newest first.

        Raises
        ------
        ValueError
            If `min_severity` is not one of `SEVERITIES`.
        """
        if min_severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, was {min_severity!r}")
        wanted = SEVERITIES[SEVERITIES.index(min_severity) :]
        statement = select(events).where(events.c.id > after_id, events.c.severity.in_(wanted))
        if account_id is not None:
            statement = statement.where(or_(events.c.account_id == account_id, events.c.account_id.is_(None)))
        statement = statement.order_by(events.c.id.desc()).limit(max(1, min(limit, MAX_ROWS)))
        return [_event(row) for row in await self._conn.execute(statement)]

    async def params_rows(self, status: str | None = None) -> list[ParamsRow]:
        """Return the ``strategy_params`` rows (of `status` when given), newest effective date first."""
        statement = select(strategy_params)
        if status is not None:
            statement = statement.where(strategy_params.c.status == status)
        statement = statement.order_by(strategy_params.c.effective_date.desc(), strategy_params.c.version.desc())
        return [
            ParamsRow(
                id=row.id,
                strategy_id=row.strategy_id,
                effective_date=row.effective_date,
                version=row.version,
                status=row.status,
                params=dict(row.params),
                source=row.source,
                ts_created=row.ts_created,
            )
            for row in await self._conn.execute(statement.limit(MAX_ROWS))
        ]

    async def research_runs(self, limit: int = 50) -> list[ResearchRun]:
        """Return up to `limit` recorded research runs (``backtest_runs``), newest first."""
        statement = select(backtest_runs).order_by(backtest_runs.c.id.desc()).limit(max(1, min(limit, MAX_ROWS)))
        return [
            ResearchRun(
                id=row.id,
                name=row.name,
                kind=row.kind,
                strategy_id=row.strategy_id,
                period_from=row.period_from,
                period_to=row.period_to,
                symbols=tuple(row.symbols),
                summary=dict(row.summary),
                ts_created=row.ts_created,
            )
            for row in await self._conn.execute(statement)
        ]


class SqlHistoryFactory:
    """Open a `SqlHistory` on its own connection of `engine` (the `HistoryFactory` port)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[SqlHistory]:
        """Yield a `SqlHistory`; its snapshot is rolled back (nothing is ever written) when the block ends."""
        async with self.engine.connect() as connection:
            try:
                yield SqlHistory(connection)
            finally:
                await connection.rollback()


def _event(row: Row[Any]) -> EventRecord:
    return EventRecord(
        id=row.id,
        ts_event=row.ts_event,
        kind=row.kind,
        severity=row.severity,
        message=row.message,
        payload=row.payload,
        correlation_id=row.correlation_id,
        account_id=row.account_id,
    )
