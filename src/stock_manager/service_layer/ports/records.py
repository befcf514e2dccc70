"""Records the storage port exchanges with the service layer: rows as plain frozen dataclasses.

The repositories that read and write them are in `storage_port`; these are the shapes only.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from stock_manager.domain.fills import Fill
from stock_manager.domain.positions import Position


class DuplicateIdempotencyKey(Exception):
    """An order with this idempotency key already exists; the caller returns the existing order."""


@dataclass(frozen=True, slots=True)
class StoredFill:
    """A fill as recorded: the domain fill plus its link to our order (None for an external fill).

    `id` is the row's id (``fills.id``, increasing in recording order) once read back; it takes no part in
    equality.
    """

    fill: Fill
    account_id: str
    order_id: int | None
    source: str
    id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PositionCheckpoint:
    """Positions folded from every fill of an account recorded up to one point (``position_checkpoints``).

    Written at each session's close so that a restart folds only the fills recorded after it
    (`service_layer.position_history`).

    Attributes
    ----------
    positions : Mapping[str, Position]
        `positions_from_fills` of those fills, by symbol, flat symbols included.
    trading_date : date
        The session whose close wrote it.
    through_fill_id : int
        Every fill of the account with ``fills.id`` up to this one is folded in (transactions run one at a
        time, so no fill with a smaller id can be recorded later).
    last_ts_filled, last_broker_fill_id : datetime, str
        The execution-order key of the last fill folded in (`domain.positions.execution_order`).
    last_trading_date : date
        That fill's trading date.
    """

    account_id: str
    positions: Mapping[str, Position]
    trading_date: date
    through_fill_id: int
    last_ts_filled: datetime
    last_broker_fill_id: str
    ts_created: datetime
    last_trading_date: date


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One row of the ``events`` table (kind, severity, message, JSON payload, correlation id)."""

    ts_event: datetime
    kind: str
    severity: str
    message: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    correlation_id: str = ""
    account_id: str | None = None
    id: int | None = None


#: What a daemon does when it sees the kill switch: send nothing new; also cancel working orders; also sell
#: every position (each includes the ones before it).
KILL_SWITCH_ACTIONS = ("halt", "cancel_open", "flatten")


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """A kill switch as a daemon sees it; latched until `stockbot resume`.

    `action` is one of `KILL_SWITCH_ACTIONS`; `scope` is the switch's: ``*`` (every daemon) or one venue's.
    """

    active: bool
    reason: str
    set_by: str
    ts_changed: datetime | None
    action: str = "halt"
    scope: str = "*"


@dataclass(frozen=True, slots=True)
class RiskEventRecord:
    """One ``risk_events`` row: a rule's decision (DENY, STOP or KILL) with the inputs it saw."""

    ts_event: datetime
    rule: str
    decision: str
    message: str
    snapshot: Mapping[str, Any] = field(default_factory=dict)
    account_id: str | None = None
    symbol: str | None = None
    correlation_id: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RiskLimitChange:
    """One ``risk_limit_changes`` row; values are text (`str` of the Decimal, int or bool), None = rule off."""

    name: str
    old_value: str | None
    new_value: str | None
    changed_by: str
    reason: str
    ts_changed: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ObservedOrder:
    """A would-be order of observe mode (``observed_orders``): decided, risk-checked, never sent."""

    idempotency_key: str
    account_id: str
    mode: str
    strategy_id: str
    symbol: str
    side: str
    order_type: str
    intent: str
    quantity: Decimal
    limit_price: Decimal | None
    signal_price: Decimal | None
    reason: str
    correlation_id: str
    trading_date: date
    ts_observed: datetime


@dataclass(frozen=True, slots=True)
class DaemonState:
    """What a running (or last) daemon reported about itself for one account.

    `trading_state`: STARTING, WAITING (between sessions; `ts_next_session` says until when), TRADING, STOPPED
    (stop mode, or winding down after a stop request), CLOSED (the session settled) or EXITED.
    """

    account_id: str
    mode: str
    trading_state: str
    stop_reason: str
    trading_date: date | None
    start_equity_krw: Decimal | None
    pid: int | None
    ts_started: datetime
    ts_heartbeat: datetime
    ts_next_session: datetime | None = None


@dataclass(frozen=True, slots=True)
class DailySettlement:
    """One account's result for one session (``daily_settlements``)."""

    account_id: str
    trading_date: date
    mode: str
    start_equity_krw: Decimal
    end_equity_krw: Decimal
    cash_krw: Decimal
    realized_pnl_krw: Decimal
    unrealized_pnl_krw: Decimal
    commission_krw: Decimal
    tax_krw: Decimal
    orders_count: int
    fills_count: int
    return_pct: Decimal
    summary: Mapping[str, Any]
    ts_created: datetime


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position at a session's close, valued at the closing price."""

    account_id: str
    trading_date: date
    symbol: str
    quantity: Decimal
    avg_price: Decimal
    close_price: Decimal
    market_value_krw: Decimal
    unrealized_pnl_krw: Decimal
    realized_pnl_krw: Decimal
    ts_created: datetime
