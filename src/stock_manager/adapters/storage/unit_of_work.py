"""`UnitOfWork` over SQLAlchemy: one connection, one transaction, every repository.

Leaving the ``async with`` block rolls back whatever was not committed. The transaction begins at the first
statement and, on both backends, runs alone (see `engine`): keep a unit of work short and never hold it
across a broker call. After `commit`, the same unit of work may go on; its next statement begins a new
transaction.
"""

from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from stock_manager.adapters.storage.account_repositories import SqlPositionRepository, SqlSettlementRepository
from stock_manager.adapters.storage.control_repositories import (
    SqlControlRepository,
    SqlEventRepository,
    SqlStrategyRepository,
)
from stock_manager.adapters.storage.fill_repository import SqlFillRepository
from stock_manager.adapters.storage.market_data_repository import SqlMarketDataRepository
from stock_manager.adapters.storage.order_repository import SqlOrderRepository
from stock_manager.adapters.storage.risk_repositories import SqlObservedOrderRepository, SqlRiskRepository


class SqlUnitOfWork:
    """One database transaction over every repository (the `UnitOfWork` port).

    Parameters
    ----------
    engine : AsyncEngine
        From `engine.create_engine`.
    mode : str
        The daemon's mode (``sim``, ``paper``, ``live``), written to ``orders.mode`` of orders it adds.

    Raises
    ------
    RuntimeError
        If the unit of work is entered while already in use, or used outside its ``async with`` block.
    """

    orders: SqlOrderRepository
    fills: SqlFillRepository
    positions: SqlPositionRepository
    events: SqlEventRepository
    control: SqlControlRepository
    strategies: SqlStrategyRepository
    market_data: SqlMarketDataRepository
    settlements: SqlSettlementRepository
    risk: SqlRiskRepository
    observed_orders: SqlObservedOrderRepository

    def __init__(self, engine: AsyncEngine, *, mode: str = "") -> None:
        self._engine = engine
        self._mode = mode
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use; make a new one per transaction")
        connection = self._connection = await self._engine.connect()
        self.orders = SqlOrderRepository(connection, self._mode)
        self.fills = SqlFillRepository(connection)
        self.positions = SqlPositionRepository(connection)
        self.events = SqlEventRepository(connection)
        self.control = SqlControlRepository(connection)
        self.strategies = SqlStrategyRepository(connection)
        self.market_data = SqlMarketDataRepository(connection)
        self.settlements = SqlSettlementRepository(connection)
        self.risk = SqlRiskRepository(connection)
        self.observed_orders = SqlObservedOrderRepository(connection)
        return self

    async def __aexit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.rollback()  # whatever was not committed
        finally:
            await connection.close()

    async def commit(self) -> None:
        """Commit the transaction (nothing happens when no statement ran since the last commit)."""
        await self._require_connection().commit()

    async def rollback(self) -> None:
        """Roll back what was done since the last commit; the unit of work stays usable."""
        await self._require_connection().rollback()

    def _require_connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its 'async with' block")
        return self._connection


class SqlUnitOfWorkFactory:
    """Make a fresh `SqlUnitOfWork` per transaction (the `UnitOfWorkFactory` port).

    Parameters
    ----------
    engine : AsyncEngine
        Shared by every unit of work; dispose of it (``await engine.dispose()``) at shutdown.
    mode : str
        The daemon's mode, written to ``orders.mode`` (see `SqlUnitOfWork`).
    """

    def __init__(self, engine: AsyncEngine, *, mode: str = "") -> None:
        self.engine = engine
        self._mode = mode

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work; enter it with ``async with``."""
        return SqlUnitOfWork(self.engine, mode=self._mode)
