"""**Port:** searches of the record for people looking back (the dashboard): orders by filter, the events of one
decision, the newest events by severity, strategy parameter rows, recorded research runs. Read-only; every call is
its own snapshot.
"""

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from stock_manager.domain.orders import Order
from stock_manager.service_layer.ports.records import EventRecord

#: Event severities, lowest first (``events.severity``).
SEVERITIES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders to find: every given condition holds (None or empty: any).

    Attributes
    ----------
    date_from, date_to : date | None
        The venue's trading date, both ends included.
    statuses : tuple[str, ...]
        `OrderStatus` values (``NEW``, ``SENT``, ``PARTIAL``, ``FILLED``, ``CANCELED``, ``REJECTED``).
    limit : int
        At most this many orders, the newest first.
    """

    date_from: date | None = None
    date_to: date | None = None
    symbol: str | None = None
    strategy_id: str | None = None
    statuses: tuple[str, ...] = ()
    limit: int = 200


@dataclass(frozen=True, slots=True)
class ParamsRow:
    """One ``strategy_params`` row."""

    id: int
    strategy_id: str
    effective_date: date
    version: int
    status: str
    params: Mapping[str, Any]
    source: str
    ts_created: datetime


@dataclass(frozen=True, slots=True)
class ResearchRun:
    """One recorded research run (``backtest_runs``: `stockbot backtest|optimize|divergence --record`).

    Attributes
    ----------
    kind : str
        ``BACKTEST``, ``OPTIMIZE`` or ``DIVERGENCE``.
    summary : Mapping[str, Any]
        The run's figures as recorded (JSON-safe; money as strings of KRW).
    """

    id: int
    name: str
    kind: str
    strategy_id: str
    period_from: date
    period_to: date
    symbols: tuple[str, ...]
    summary: Mapping[str, Any]
    ts_created: datetime


class History(Protocol):
    """Read-only searches over one snapshot of the database."""

    async def orders(self, account_id: str, where: OrderFilter) -> list[Order]:
        """Return the account's orders matching `where`, newest first."""
        ...

    async def strategies(self, account_id: str) -> list[str]:
        """Return the strategy ids of the account's orders, sorted."""
        ...

    async def events_for(self, correlation_id: str) -> list[EventRecord]:
        """Return every event of one decision (its correlation id), oldest first."""
        ...

    async def events(
        self, *, min_severity: str = "DEBUG", after_id: int = 0, limit: int = 100, account_id: str | None = None
    ) -> list[EventRecord]:
        """Return up to `limit` newest events at or above `min_severity` with an id above `after_id`, newest
        first (with `account_id`: that account's and those tied to no account)."""
        ...

    async def params_rows(self, status: str | None = None) -> list[ParamsRow]:
        """Return the ``strategy_params`` rows (of `status` when given), newest effective date first."""
        ...

    async def research_runs(self, limit: int = 50) -> list[ResearchRun]:
        """Return up to `limit` recorded research runs, newest first."""
        ...


class HistoryFactory(Protocol):
    """Opens a `History` over a fresh read-only snapshot: ``async with history() as h: ...``."""

    def __call__(self) -> AbstractAsyncContextManager[History]: ...
