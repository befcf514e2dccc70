"""Risk records: decisions (``risk_events``), limit changes with history, observe mode's would-be orders."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import insert_unless_exists
from stock_manager.adapters.storage.engine import to_json_safe
from stock_manager.adapters.storage.tables import observed_orders, risk_events, risk_limit_changes
from stock_manager.service_layer.ports.storage import ObservedOrder, RiskEventRecord, RiskLimitChange

#: Allowed values of ``risk_events.decision``.
RISK_DECISIONS = frozenset({"DENY", "STOP", "KILL"})


class SqlRiskRepository:
    """`RiskRepository` over one connection of a unit of work.

    Snapshots are stored as JSON after `to_json_safe` (Decimal → str, datetime → ISO 8601).
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_event(self, event: RiskEventRecord) -> None:
        """Append one risk decision.

        Raises
        ------
        ValueError
            If `event.decision` is not DENY, STOP or KILL.
        """
        if event.decision not in RISK_DECISIONS:
            raise ValueError(f"risk decision must be one of {sorted(RISK_DECISIONS)}, was {event.decision!r}")
        await self._connection.execute(
            insert(risk_events).values(
                ts_event=event.ts_event,
                account_id=event.account_id,
                rule=event.rule,
                decision=event.decision,
                symbol=event.symbol,
                message=event.message,
                snapshot=to_json_safe(dict(event.snapshot)),
                correlation_id=event.correlation_id,
            )
        )

    async def list_events(self, account_id: str | None = None, since: datetime | None = None) -> list[RiskEventRecord]:
        """Return the decisions of `account_id` and of no account (all without it), at or after `since`."""
        statement: Any = select(risk_events)
        if account_id is not None:
            statement = statement.where(or_(risk_events.c.account_id == account_id, risk_events.c.account_id.is_(None)))
        if since is not None:
            statement = statement.where(risk_events.c.ts_event >= since)
        rows = await self._connection.execute(statement.order_by(risk_events.c.ts_event, risk_events.c.id))
        return [
            RiskEventRecord(
                ts_event=r.ts_event,
                rule=r.rule,
                decision=r.decision,
                message=r.message,
                snapshot=r.snapshot,
                account_id=r.account_id,
                symbol=r.symbol,
                correlation_id=r.correlation_id,
                id=r.id,
            )
            for r in rows
        ]

    async def add_limit_change(self, change: RiskLimitChange) -> None:
        """Append one limit change (the effective value of a limit is its newest row's `new_value`)."""
        await self._connection.execute(
            insert(risk_limit_changes).values(
                name=change.name,
                old_value=change.old_value,
                new_value=change.new_value,
                changed_by=change.changed_by,
                reason=change.reason,
                ts_changed=change.ts_changed,
            )
        )

    async def limit_changes(self) -> list[RiskLimitChange]:
        """Return every limit change, oldest first."""
        rows = await self._connection.execute(select(risk_limit_changes).order_by(risk_limit_changes.c.id))
        return [
            RiskLimitChange(
                name=r.name,
                old_value=r.old_value,
                new_value=r.new_value,
                changed_by=r.changed_by,
                reason=r.reason,
                ts_changed=r.ts_changed,
                id=r.id,
            )
            for r in rows
        ]


class SqlObservedOrderRepository:
    """`ObservedOrderRepository` over one connection of a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, order: ObservedOrder) -> bool:
        """Insert the would-be order; False when one with the same idempotency key is already recorded."""
        values = {name: getattr(order, name) for name in ObservedOrder.__dataclass_fields__}
        statement = insert_unless_exists(self._connection, observed_orders, ["idempotency_key"]).values(**values)
        result = await self._connection.execute(statement)
        return bool(result.rowcount)

    async def list_for_date(self, account_id: str, trading_date: date) -> list[ObservedOrder]:
        """Return the account's would-be orders of `trading_date`, oldest first."""
        rows = await self._connection.execute(
            select(observed_orders)
            .where(observed_orders.c.account_id == account_id, observed_orders.c.trading_date == trading_date)
            .order_by(observed_orders.c.id)
        )
        return [ObservedOrder(**{name: getattr(r, name) for name in ObservedOrder.__dataclass_fields__}) for r in rows]
