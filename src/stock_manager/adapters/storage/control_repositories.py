"""Operational records: events, the kill switch, daemon state, strategies and their parameters."""

from collections.abc import Mapping
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.observability.masking import mask, mask_data
from stock_manager.adapters.storage._statements import insert_unless_exists, upsert
from stock_manager.adapters.storage.engine import to_json_safe
from stock_manager.adapters.storage.tables import (
    accounts,
    daemon_state,
    events,
    kill_switch,
    strategies,
    strategy_params,
)
from stock_manager.service_layer.ports.storage import KILL_SWITCH_ACTIONS, DaemonState, EventRecord, KillSwitchState

#: Allowed values of ``strategy_params.status``.
PARAM_STATUSES = frozenset({"DRAFT", "ACTIVE", "RETIRED"})

#: The switches: every daemon's, and each venue's.
KILL_SWITCH_SCOPES = ("*", "krx", "upbit")

#: PostgreSQL channel a daemon LISTENs on; `set_kill_switch` notifies it in the switch's own transaction.
KILL_SWITCH_CHANNEL = "stockbot_kill"


class SqlEventRepository:
    """`EventRepository` over one connection of a unit of work.

    Payloads are stored as JSON after `to_json_safe` (Decimal → str, datetime → ISO 8601): they come back
    as those strings. With an `account_id`, queries return that account's events and the events tied to no
    account (market open and close, the kill switch).
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, event: EventRecord) -> None:
        """Append one event (its `id` is ignored; the database assigns one)."""
        await self._connection.execute(
            insert(events).values(
                ts_event=event.ts_event,
                kind=event.kind,
                severity=event.severity,
                message=mask(event.message),  # no secret is ever stored in an event
                payload=mask_data(to_json_safe(dict(event.payload))),
                correlation_id=event.correlation_id,
                account_id=event.account_id,
            )
        )

    async def recent(self, limit: int, account_id: str | None = None) -> list[EventRecord]:
        """Return up to `limit` newest events, newest first."""
        statement = self._select(account_id).order_by(events.c.ts_event.desc(), events.c.id.desc()).limit(limit)
        return [_to_event(row) for row in await self._connection.execute(statement)]

    async def list_kind(self, kind: str, account_id: str | None = None) -> list[EventRecord]:
        """Return every event of `kind`, oldest first."""
        statement = self._select(account_id).where(events.c.kind == kind).order_by(events.c.ts_event, events.c.id)
        return [_to_event(row) for row in await self._connection.execute(statement)]

    def _select(self, account_id: str | None) -> Any:
        statement = select(events)
        if account_id is not None:
            statement = statement.where(or_(events.c.account_id == account_id, events.c.account_id.is_(None)))
        return statement


class SqlControlRepository:
    """`ControlRepository` over one connection of a unit of work, for the daemon of venue `scope` (``*``: none).

    A daemon honours two switches: ``*`` (``stockbot kill``: every daemon) and its venue's (``kill --venue``,
    and the switch a daemon sets itself, such as its daily loss stop).
    """

    def __init__(self, connection: AsyncConnection, scope: str = "*") -> None:
        self._connection = connection
        self._scope = scope

    async def get_kill_switch(self, scope: str | None = None) -> KillSwitchState:
        """Return the switch in force for `scope` (default: this unit of work's): the ``*`` switch when set, else
        the venue's; inactive (with the newest change's reason and time) when neither is set."""
        scope = scope or self._scope
        rows = {
            row.scope: _switch(row)
            for row in await self._connection.execute(select(kill_switch).where(kill_switch.c.scope.in_({"*", scope})))
        }
        everywhere, own = rows.get("*"), rows.get(scope)
        for switch in (everywhere, own):
            if switch is not None and switch.active:
                return switch
        changed = [s for s in (everywhere, own) if s is not None and s.ts_changed is not None]
        latest = max(changed, key=attrgetter("ts_changed"), default=None)
        return latest or KillSwitchState(active=False, reason="", set_by="", ts_changed=None, scope=scope)

    async def list_kill_switches(self) -> list[KillSwitchState]:
        """Return every switch ever set, ``*`` first, then by venue."""
        rows = await self._connection.execute(select(kill_switch).order_by(kill_switch.c.scope))
        return [_switch(row) for row in rows]

    async def set_kill_switch(
        self, active: bool, reason: str, set_by: str, ts: datetime, action: str = "halt", scope: str | None = None
    ) -> None:
        """Set or clear the switch of `scope` (default: this unit of work's).

        On PostgreSQL, ``pg_notify('stockbot_kill', action)`` runs in the same transaction: listeners hear
        of it exactly when the change commits, and never of a change that rolled back.

        Raises
        ------
        ValueError
            If `action` is not halt, cancel_open or flatten, or `scope` not ``*``, ``krx`` or ``upbit``.
        """
        if action not in KILL_SWITCH_ACTIONS:
            raise ValueError(f"kill switch action must be one of {KILL_SWITCH_ACTIONS}, was {action!r}")
        scope = scope or self._scope
        if scope not in KILL_SWITCH_SCOPES:
            raise ValueError(f"kill switch scope must be one of {KILL_SWITCH_SCOPES}, was {scope!r}")
        values = {
            "scope": scope,
            "active": active,
            "reason": mask(reason),
            "set_by": set_by,
            "ts_changed": ts,
            "action": action,
        }
        await self._connection.execute(upsert(self._connection, kill_switch, ["scope"]), values)
        if self._connection.dialect.name == "postgresql":
            await self._connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": KILL_SWITCH_CHANNEL, "payload": action if active else "clear"},
            )

    async def get_daemon_state(self, account_id: str | None = None, venue: str | None = None) -> DaemonState | None:
        """Return one account's daemon state, or the most recently started one when `account_id` is None (of an
        account of `venue` when given: ``krx``, ``upbit``)."""
        statement = select(daemon_state)
        if account_id is not None:
            statement = statement.where(daemon_state.c.account_id == account_id)
        if venue is not None:
            statement = statement.where(
                daemon_state.c.account_id.in_(select(accounts.c.account_id).where(accounts.c.venue == venue))
            )
        row = (await self._connection.execute(statement.order_by(daemon_state.c.ts_started.desc()).limit(1))).first()
        return None if row is None else DaemonState(**row._mapping)

    async def list_daemon_states(self) -> list[DaemonState]:
        """Return every account's daemon state, the most recently started first."""
        rows = await self._connection.execute(select(daemon_state).order_by(daemon_state.c.ts_started.desc()))
        return [DaemonState(**row._mapping) for row in rows]

    async def put_daemon_state(self, state: DaemonState) -> None:
        """Insert or replace the account's daemon state."""
        values = {column.name: getattr(state, column.name) for column in daemon_state.columns}
        values["stop_reason"] = mask(state.stop_reason)  # shown by `stockbot status`
        await self._connection.execute(upsert(self._connection, daemon_state, ["account_id"]), values)


class SqlStrategyRepository:
    """`StrategyRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def ensure_strategy(self, strategy_id: str, name: str, description: str, ts: datetime) -> None:
        """Insert the strategy if it is missing; an existing one is left as it is."""
        statement = insert_unless_exists(self._connection, strategies, ["strategy_id"]).values(
            strategy_id=strategy_id, name=name, description=description, ts_created=ts
        )
        await self._connection.execute(statement)

    async def active_params(self, strategy_id: str, on: date) -> Mapping[str, Any] | None:
        """Return the ACTIVE parameters effective on `on` (latest date ≤ on, highest version), or None."""
        statement = (
            select(strategy_params.c.params)
            .where(
                strategy_params.c.strategy_id == strategy_id,
                strategy_params.c.status == "ACTIVE",
                strategy_params.c.effective_date <= on,
            )
            .order_by(strategy_params.c.effective_date.desc(), strategy_params.c.version.desc())
            .limit(1)
        )
        params = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if params is None else dict(params)

    async def add_params(
        self, strategy_id: str, effective_date: date, params: Mapping[str, Any], status: str, source: str, ts: datetime
    ) -> int:
        """Insert a parameter row as the next version for that date and return its version (1, 2, ...).

        `params` is stored as JSON after `to_json_safe` (Decimal → str).

        Raises
        ------
        ValueError
            If `status` is not DRAFT, ACTIVE or RETIRED.
        LookupError
            If the strategy was never added with `ensure_strategy`.
        """
        if status not in PARAM_STATUSES:
            raise ValueError(f"strategy parameter status must be one of {sorted(PARAM_STATUSES)}, was {status!r}")
        known = select(strategies.c.strategy_id).where(strategies.c.strategy_id == strategy_id)
        if (await self._connection.execute(known)).first() is None:
            raise LookupError(f"strategy {strategy_id!r} is not in the database; call ensure_strategy first")
        latest = select(func.max(strategy_params.c.version)).where(
            strategy_params.c.strategy_id == strategy_id, strategy_params.c.effective_date == effective_date
        )
        version = ((await self._connection.execute(latest)).scalar_one_or_none() or 0) + 1
        await self._connection.execute(
            insert(strategy_params).values(
                strategy_id=strategy_id,
                effective_date=effective_date,
                version=version,
                status=status,
                params=to_json_safe(dict(params)),
                source=source,
                ts_created=ts,
            )
        )
        return version


def _to_event(row: Row[Any]) -> EventRecord:
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


def _switch(row: Row[Any]) -> KillSwitchState:
    return KillSwitchState(
        active=row.active,
        reason=row.reason,
        set_by=row.set_by,
        ts_changed=row.ts_changed,
        action=row.action,
        scope=row.scope,
    )
