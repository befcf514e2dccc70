"""**Port:** the database, as the service layer sees it: a unit of work over repositories.

One `UnitOfWork` is one transaction. Every order state change is one unit of work; an order row is
committed as NEW before the broker is called. Leaving the ``async with`` block without `commit` rolls back.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, Self

from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import Position
from stock_manager.service_layer.ports.ai_storage import AiRepository
from stock_manager.service_layer.ports.records import (
    KILL_SWITCH_ACTIONS,
    DaemonState,
    DailySettlement,
    DuplicateIdempotencyKey,
    EventRecord,
    KillSwitchState,
    ObservedOrder,
    PositionCheckpoint,
    PositionSnapshot,
    RiskEventRecord,
    RiskLimitChange,
    StoredFill,
)

#: The repositories, and the records they exchange (defined in `storage_records`, re-exported here).
__all__ = [
    "KILL_SWITCH_ACTIONS",
    "AiRepository",
    "ControlRepository",
    "DaemonState",
    "DailySettlement",
    "DuplicateIdempotencyKey",
    "EventRecord",
    "EventRepository",
    "FillRepository",
    "KillSwitchState",
    "MarketDataRepository",
    "ObservedOrder",
    "ObservedOrderRepository",
    "OrderRepository",
    "PositionCheckpoint",
    "PositionRepository",
    "PositionSnapshot",
    "RiskEventRecord",
    "RiskLimitChange",
    "RiskRepository",
    "SettlementRepository",
    "StoredFill",
    "StrategyRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


class OrderRepository(Protocol):
    """Orders; `Order.fill_ids` is loaded from the fills table."""

    async def add(self, order: Order) -> Order:
        """Insert a NEW order and return it with its id; raise `DuplicateIdempotencyKey` if the key exists."""
        ...

    async def get(self, order_id: int) -> Order | None:
        """Return the order with this id."""
        ...

    async def strategy_of_orders(self, account_id: str) -> dict[int, str]:
        """Return the strategy of each of the account's orders, by order id."""
        ...

    async def get_by_key(self, idempotency_key: str) -> Order | None:
        """Return the order with this idempotency key."""
        ...

    async def get_by_broker_number(
        self, account_id: str, broker_order_number: str, trading_date: date | None = None
    ) -> Order | None:
        """Return the account's order with this broker order number (leading zeros ignored), of
        `trading_date` when it is given (numbers restart every session)."""
        ...

    async def list_open(self, account_id: str) -> list[Order]:
        """Return the account's NEW, SENT and PARTIAL orders, oldest first."""
        ...

    async def list_for_date(self, account_id: str, trading_date: date) -> list[Order]:
        """Return the account's orders of `trading_date`, oldest first."""
        ...

    async def update(self, order: Order, ts_updated: datetime) -> None:
        """Write the order's status, broker numbers, fill totals, reasons and per-state timestamps."""
        ...


class FillRepository(Protocol):
    """Fills: append-only; the database refuses UPDATE and DELETE."""

    async def add(self, stored: StoredFill, ts_recorded: datetime) -> bool:
        """Append a fill; return False (and change nothing) when its broker fill id is already recorded."""
        ...

    async def exists(self, broker_fill_id: str) -> bool:
        """Return True when a fill with this broker fill id is recorded."""
        ...

    async def list_for_account(self, account_id: str) -> list[StoredFill]:
        """Return all the account's fills in execution order."""
        ...

    async def list_for_date(self, account_id: str, trading_date: date) -> list[StoredFill]:
        """Return the account's fills of the venue's `trading_date`."""
        ...

    async def list_for_order_numbers(self, account_id: str, broker_order_numbers: Collection[str]) -> list[StoredFill]:
        """Return the account's fills of these venue order numbers, whatever their day, in execution order (for
        venues whose numbers never repeat, where an order may fill on several trading days)."""
        ...

    async def list_after(self, account_id: str, fill_id: int) -> list[StoredFill]:
        """Return the account's fills whose row id is greater than `fill_id`, in execution order."""
        ...


class PositionRepository(Protocol):
    """Current positions (a snapshot that recovery recomputes from fills)."""

    async def list_all(self, account_id: str) -> list[Position]:
        """Return the account's positions, including flat symbols with realized PnL."""
        ...

    async def upsert(self, position: Position, ts_updated: datetime) -> None:
        """Insert or replace one position."""
        ...

    async def add_snapshot(self, snapshot: PositionSnapshot) -> None:
        """Insert or replace the close-of-session snapshot of one symbol."""
        ...

    async def list_snapshots(self, account_id: str, trading_date: date) -> list[PositionSnapshot]:
        """Return the snapshots of one session."""
        ...

    async def get_checkpoint(self, account_id: str) -> PositionCheckpoint | None:
        """Return the account's position checkpoint, or None when none was written (or its rows disagree)."""
        ...

    async def put_checkpoint(self, checkpoint: PositionCheckpoint) -> None:
        """Replace the account's position checkpoint."""
        ...


class EventRepository(Protocol):
    """The ``events`` table: market open/close, recovery, errors, risk blocks, kill switch."""

    async def add(self, event: EventRecord) -> None:
        """Append one event."""
        ...

    async def recent(self, limit: int, account_id: str | None = None) -> list[EventRecord]:
        """Return the newest events first."""
        ...

    async def list_kind(self, kind: str, account_id: str | None = None) -> list[EventRecord]:
        """Return every event of `kind`, oldest first."""
        ...


class ControlRepository(Protocol):
    """Kill switches and daemon state.

    A unit of work belongs to one venue's daemon (or to none): the switch it reads is that venue's as the
    daemon must honour it, the ``*`` switch (every daemon) or the venue's own, whichever is set.
    """

    async def get_kill_switch(self, scope: str | None = None) -> KillSwitchState:
        """Return the switch in force for `scope` (default: the unit of work's venue): the ``*`` switch when set,
        else the venue's; inactive when neither is set."""
        ...

    async def set_kill_switch(
        self, active: bool, reason: str, set_by: str, ts: datetime, action: str = "halt", scope: str | None = None
    ) -> None:
        """Set or clear the switch of `scope` (``*`` or a venue; default: the unit of work's venue); on
        PostgreSQL also ``NOTIFY stockbot_kill`` in the same transaction."""
        ...

    async def list_kill_switches(self) -> list[KillSwitchState]:
        """Return every switch ever set, ``*`` first."""
        ...

    async def get_daemon_state(self, account_id: str | None = None, venue: str | None = None) -> DaemonState | None:
        """Return one account's daemon state, or the most recently started one when None (of an account of
        `venue`, when given)."""
        ...

    async def list_daemon_states(self) -> list[DaemonState]:
        """Return every account's daemon state, the most recently started first."""
        ...

    async def put_daemon_state(self, state: DaemonState) -> None:
        """Insert or replace the account's daemon state."""
        ...


class RiskRepository(Protocol):
    """Risk decisions (``risk_events``) and the history of risk limit changes."""

    async def add_event(self, event: RiskEventRecord) -> None:
        """Append one risk decision."""
        ...

    async def list_events(self, account_id: str | None = None, since: datetime | None = None) -> list[RiskEventRecord]:
        """Return the decisions (of the account and of none, at or after `since`), oldest first."""
        ...

    async def add_limit_change(self, change: RiskLimitChange) -> None:
        """Append one limit change."""
        ...

    async def limit_changes(self) -> list[RiskLimitChange]:
        """Return every limit change, oldest first."""
        ...


class ObservedOrderRepository(Protocol):
    """Would-be orders of observe mode."""

    async def add(self, order: ObservedOrder) -> bool:
        """Insert the would-be order; return False (and change nothing) when its key is already recorded."""
        ...

    async def list_for_date(self, account_id: str, trading_date: date) -> list[ObservedOrder]:
        """Return the account's would-be orders of `trading_date`, oldest first."""
        ...


class StrategyRepository(Protocol):
    """Strategies and their dated, versioned parameters."""

    async def ensure_strategy(self, strategy_id: str, name: str, description: str, ts: datetime) -> None:
        """Insert the strategy if it is missing."""
        ...

    async def active_params(self, strategy_id: str, on: date) -> Mapping[str, Any] | None:
        """Return the ACTIVE parameters effective on `on` (latest date ≤ on, highest version), or None."""
        ...

    async def add_params(
        self, strategy_id: str, effective_date: date, params: Mapping[str, Any], status: str, source: str, ts: datetime
    ) -> int:
        """Insert a parameter row as the next version for that date; return its version."""
        ...


class MarketDataRepository(Protocol):
    """Symbols and daily bars."""

    async def upsert_symbol(self, instrument: Instrument, ts: datetime) -> None:
        """Insert or update a symbol's metadata."""
        ...

    async def upsert_daily_bars(self, bars: Sequence[DailyBar], source: str) -> int:
        """Insert or replace daily bars; return how many were written."""
        ...

    async def daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` on or before `end`, oldest first."""
        ...


class AccountRepository(Protocol):
    """The venue accounts the daemon traded (``accounts``)."""

    async def seen(self, account_id: str, venue: str, mode: str, name: str, ts: datetime) -> None:
        """Record that `account_id` of `venue` trades in `mode` (first and last time seen)."""
        ...

    async def venue_of(self, account_id: str) -> str | None:
        """Return the venue of `account_id`, or None when the account was never seen."""
        ...


class SettlementRepository(Protocol):
    """Daily settlements and recovery logs."""

    async def put(self, settlement: DailySettlement) -> None:
        """Insert or replace one session's settlement."""
        ...

    async def get(self, account_id: str, trading_date: date) -> DailySettlement | None:
        """Return one session's settlement."""
        ...

    async def list_all(self, account_id: str, *, with_summary: bool = True) -> list[DailySettlement]:
        """Return the account's settlements in date order; `summary` left empty unless `with_summary`."""
        ...

    async def last(self, account_id: str) -> DailySettlement | None:
        """Return the account's settlement of the latest date, its `summary` left empty (None before any)."""
        ...

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
        """Append one recovery run's record."""
        ...


class UnitOfWork(Protocol):
    """One database transaction over every repository."""

    # Read-only members: an implementation may hold narrower repositories (its own classes).
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def fills(self) -> FillRepository: ...
    @property
    def positions(self) -> PositionRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def control(self) -> ControlRepository: ...
    @property
    def strategies(self) -> StrategyRepository: ...
    @property
    def market_data(self) -> MarketDataRepository: ...
    @property
    def settlements(self) -> SettlementRepository: ...
    @property
    def risk(self) -> RiskRepository: ...
    @property
    def observed_orders(self) -> ObservedOrderRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def ai(self) -> AiRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None:
        """Commit the transaction, then run the callbacks registered with `after_commit` (in order, each once);
        without a commit, leaving the block rolls back and drops them."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction commits; never if it rolls back. A callback must not
        raise (one that does is logged and the rest still run)."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh `UnitOfWork` per transaction."""

    def __call__(self) -> UnitOfWork: ...
