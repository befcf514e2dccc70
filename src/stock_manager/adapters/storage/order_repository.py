"""Orders: the single source of truth of every order the daemon decided to place."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from stock_manager.adapters.storage._statements import insert_unless_exists
from stock_manager.adapters.storage.tables import fills, orders
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OPEN_STATUSES, OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.service_layer.ports.storage import DuplicateIdempotencyKey

_OPEN = sorted(s.value for s in OPEN_STATUSES)


class SqlOrderRepository:
    """`OrderRepository` over one connection of a unit of work.

    Parameters
    ----------
    connection : AsyncConnection
        The unit of work's connection; every statement runs in its transaction.
    mode : str
        Written to ``orders.mode`` for the orders this repository adds (``sim``, ``paper``, ``live``).
    """

    def __init__(self, connection: AsyncConnection, mode: str) -> None:
        self._connection = connection
        self._mode = mode

    async def add(self, order: Order) -> Order:
        """Insert `order` and return it (the same object) with its id set.

        The insert is ``ON CONFLICT (idempotency_key) DO NOTHING``: a duplicate key makes no statement fail,
        so the unit of work stays usable, e.g. to load the existing order with `get_by_key`.

        Raises
        ------
        DuplicateIdempotencyKey
            If an order with the same idempotency key exists; nothing is written.
        ValueError
            If `order` already has an id.
        """
        if order.id is not None:
            raise ValueError(f"order {order.idempotency_key} already has id {order.id}; use update")
        values = _order_values(order) | {
            "idempotency_key": order.idempotency_key,
            "account_id": order.account_id,
            "mode": self._mode,
            "strategy_id": order.strategy_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "order_type": order.order_type.value,
            "intent": order.intent.value,
            "quantity": order.quantity,
            "limit_price": order.limit_price,
            "signal_price": order.signal_price,
            "client_order_id": order.client_order_id,
            "correlation_id": order.correlation_id,
            "trading_date": order.trading_date,
            "ts_created": order.ts_created,
            "ts_updated": order.ts_created,
        }
        statement = (
            insert_unless_exists(self._connection, orders, ["idempotency_key"]).values(values).returning(orders.c.id)
        )
        order_id = (await self._connection.execute(statement)).scalar_one_or_none()
        if order_id is None:
            raise DuplicateIdempotencyKey(f"an order with idempotency key {order.idempotency_key!r} exists")
        order.id = order_id
        return order

    async def get(self, order_id: int) -> Order | None:
        """Return the order with this id, with its fill ids."""
        return await self._one(select(orders).where(orders.c.id == order_id))

    async def strategy_of_orders(self, account_id: str) -> dict[int, str]:
        """Return the strategy of each of the account's orders, by order id."""
        statement = select(orders.c.id, orders.c.strategy_id).where(orders.c.account_id == account_id)
        return {row.id: row.strategy_id for row in await self._connection.execute(statement)}

    async def get_by_key(self, idempotency_key: str) -> Order | None:
        """Return the order with this idempotency key, with its fill ids."""
        return await self._one(select(orders).where(orders.c.idempotency_key == idempotency_key))

    async def get_by_broker_number(
        self, account_id: str, broker_order_number: str, trading_date: date | None = None
    ) -> Order | None:
        """Return the account's order with this broker order number, leading zeros ignored; only an order of
        `trading_date` when it is given.

        A venue may pad numbers in one call and not another (``"11774"``, ``"0000011774"``); both find the same
        order. Where broker numbers restart every session, so when several orders match the newest one is returned
        (give the session's date to find only its order: a number of today may be an older order's too).
        """
        wanted = broker_order_number.strip().lstrip("0")
        if not wanted:
            return None
        statement = select(orders).where(
            orders.c.account_id == account_id, func.ltrim(func.trim(orders.c.broker_order_number), "0") == wanted
        )
        if trading_date is not None:
            statement = statement.where(orders.c.trading_date == trading_date)
        statement = statement.order_by(orders.c.id.desc()).limit(1)
        return await self._one(statement)

    async def list_open(self, account_id: str) -> list[Order]:
        """Return the account's NEW, SENT and PARTIAL orders, oldest first."""
        statement = select(orders).where(orders.c.account_id == account_id, orders.c.status.in_(_OPEN))
        return await self._many(statement.order_by(orders.c.ts_created, orders.c.id))

    async def list_for_date(self, account_id: str, trading_date: date) -> list[Order]:
        """Return the account's orders of `trading_date`, oldest first."""
        statement = select(orders).where(orders.c.account_id == account_id, orders.c.trading_date == trading_date)
        return await self._many(statement.order_by(orders.c.ts_created, orders.c.id))

    async def update(self, order: Order, ts_updated: datetime) -> None:
        """Write the order's status, broker numbers, fill totals, reasons and per-state timestamps.

        Raises
        ------
        LookupError
            If `order` has no id or no row has its id.
        """
        if order.id is None:
            raise LookupError(f"order {order.idempotency_key} was never added")
        statement = (
            update(orders).where(orders.c.id == order.id).values(_order_values(order) | {"ts_updated": ts_updated})
        )
        result = await self._connection.execute(statement)
        if result.rowcount != 1:
            raise LookupError(f"order {order.id} ({order.idempotency_key}) is not in the database")

    # -- LOADING ---------------------------------------------------------------------------------------

    async def _one(self, statement: Select[Any]) -> Order | None:
        found = await self._many(statement)
        return found[0] if found else None

    async def _many(self, statement: Select[Any]) -> list[Order]:
        rows = (await self._connection.execute(statement)).all()
        fill_ids = await self._fill_ids(row.id for row in rows)
        return [_to_order(row, fill_ids.get(row.id, set())) for row in rows]

    async def _fill_ids(self, order_ids: Iterable[int]) -> dict[int, set[str]]:
        ids = list(order_ids)
        if not ids:
            return {}
        statement = select(fills.c.order_id, fills.c.broker_fill_id).where(fills.c.order_id.in_(ids))
        found: dict[int, set[str]] = {}
        for order_id, broker_fill_id in await self._connection.execute(statement):
            found.setdefault(order_id, set()).add(broker_fill_id)
        return found


def _order_values(order: Order) -> dict[str, Any]:
    # The columns that change over an order's life (what `update` writes).
    return {
        "status": order.status.value,
        "status_reason": order.status_reason,
        "reason": order.reason,
        "broker_order_number": order.broker_order_number,
        "venue_order_ref": order.venue_order_ref,
        "filled_quantity": order.filled_quantity,
        "filled_amount_krw": order.filled_amount_krw,
        "ts_sent": order.ts_sent,
        "ts_partial": order.ts_partial,
        "ts_filled": order.ts_filled,
        "ts_canceled": order.ts_canceled,
        "ts_rejected": order.ts_rejected,
    }


def _to_order(row: Row[Any], fill_ids: set[str]) -> Order:
    return Order(
        id=row.id,
        idempotency_key=row.idempotency_key,
        account_id=row.account_id,
        strategy_id=row.strategy_id,
        symbol=row.symbol,
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        quantity=row.quantity,
        limit_price=row.limit_price,
        intent=Intent(row.intent),
        reason=row.reason,
        trading_date=row.trading_date,
        ts_created=row.ts_created,
        correlation_id=row.correlation_id,
        signal_price=row.signal_price,
        client_order_id=row.client_order_id,
        status=OrderStatus(row.status),
        status_reason=row.status_reason,
        broker_order_number=row.broker_order_number,
        venue_order_ref=row.venue_order_ref,
        filled_quantity=row.filled_quantity,
        filled_amount_krw=row.filled_amount_krw,
        ts_sent=row.ts_sent,
        ts_partial=row.ts_partial,
        ts_filled=row.ts_filled,
        ts_canceled=row.ts_canceled,
        ts_rejected=row.ts_rejected,
        fill_ids=fill_ids,
    )
