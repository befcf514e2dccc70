"""`UnitOfWork` over SQLAlchemy: one connection, one transaction, every repository.

Leaving the ``async with`` block rolls back whatever was not committed. The transaction begins at the first
statement and, on both backends, runs alone (see `engine`): keep a unit of work short and never hold it
across a broker call. After `commit`, the same unit of work may go on; its next statement begins a new
transaction.
"""

from collections.abc import Callable
from typing import Self

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from stock_manager.adapters.storage.account_repositories import (
    SqlAccountRepository,
    SqlPositionRepository,
    SqlSettlementRepository,
)
from stock_manager.adapters.storage.ai_repository import SqlAiRepository
from stock_manager.adapters.storage.control_repositories import (
    SqlControlRepository,
    SqlEventRepository,
    SqlStrategyRepository,
)
from stock_manager.adapters.storage.fill_repository import SqlFillRepository
from stock_manager.adapters.storage.market_data_repository import SqlMarketDataRepository
from stock_manager.adapters.storage.order_repository import SqlOrderRepository
from stock_manager.adapters.storage.risk_repositories import SqlObservedOrderRepository, SqlRiskRepository

log = structlog.get_logger("stockbot.storage")


class SqlUnitOfWork:
    """One database transaction over every repository (the `UnitOfWork` port).

    Parameters
    ----------
    engine : AsyncEngine
        From `engine.create_engine`.
    mode : str
        The daemon's mode (``sim``, ``paper``, ``live``), written to ``orders.mode`` of orders it adds.
    kill_scope : str
        The venue whose kill switch the unit of work reads and sets by default (``*``: none, every daemon's).

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
    accounts: SqlAccountRepository
    ai: SqlAiRepository

    def __init__(self, engine: AsyncEngine, *, mode: str = "", kill_scope: str = "*") -> None:
        self._engine = engine
        self._mode = mode
        self._kill_scope = kill_scope
        self._connection: AsyncConnection | None = None
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use; make a new one per transaction")
        connection = self._connection = await self._engine.connect()
        self.orders = SqlOrderRepository(connection, self._mode)
        self.fills = SqlFillRepository(connection)
        self.positions = SqlPositionRepository(connection)
        self.events = SqlEventRepository(connection)
        self.control = SqlControlRepository(connection, self._kill_scope)
        self.strategies = SqlStrategyRepository(connection)
        self.market_data = SqlMarketDataRepository(connection)
        self.settlements = SqlSettlementRepository(connection)
        self.risk = SqlRiskRepository(connection)
        self.observed_orders = SqlObservedOrderRepository(connection)
        self.accounts = SqlAccountRepository(connection)
        self.ai = SqlAiRepository(connection)
        return self

    async def __aexit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        self._after_commit.clear()  # what was not committed is not announced
        if connection is None:
            return
        try:
            await connection.rollback()  # whatever was not committed
        finally:
            await connection.close()

    async def commit(self) -> None:
        """Commit the transaction (nothing happens when no statement ran since the last commit), then run the
        `after_commit` callbacks registered since the last commit."""
        await self._require_connection().commit()
        callbacks, self._after_commit = self._after_commit, []
        run_after_commit(callbacks)

    async def rollback(self) -> None:
        """Roll back what was done since the last commit and drop its `after_commit` callbacks; the unit of work
        stays usable."""
        self._after_commit.clear()
        await self._require_connection().rollback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after the next successful `commit`; dropped on rollback or when the block is left."""
        self._require_connection()
        self._after_commit.append(callback)

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
    kill_scope : str
        The venue whose kill switch it reads and sets by default (see `SqlUnitOfWork`).
    """

    def __init__(self, engine: AsyncEngine, *, mode: str = "", kill_scope: str = "*") -> None:
        self.engine = engine
        self._mode = mode
        self.kill_scope = kill_scope

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work; enter it with ``async with``."""
        return SqlUnitOfWork(self.engine, mode=self._mode, kill_scope=self.kill_scope)


def run_after_commit(callbacks: list[Callable[[], None]]) -> None:
    """Run each callback once, in order; a failing one is logged and the rest still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception as e:  # a notifier must never break the writer that committed
            log.error("after_commit_callback_failed", error=f"{type(e).__name__}: {e}")
