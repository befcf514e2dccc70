"""Fills into the records: notices, the broker's totals after a gap or on a periodic check, each execution once.

Part of `Execution` (the only writer of orders, fills and positions), kept in its own module. KIS gives no
fill id, so every fill is stored under its cumulative identity (`domain.fill_identity`): the WebSocket notice
and the REST totals of ``inquire-daily-ccld`` (TTTC0081R) name the same execution the same way.
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from stock_manager.domain.clock import KST, Clock, kst_datetime
from stock_manager.domain.errors import StockbotError
from stock_manager.domain.fill_identity import fill_day, fill_identity, missing_fills, normalize_order_number
from stock_manager.domain.fills import Fill
from stock_manager.domain.orders import Order, OrderCanceled, OrderEvent, OrderFilled, OrderRejected
from stock_manager.domain.positions import Position
from stock_manager.service_layer.broker_port import Broker, BrokerOrderState
from stock_manager.service_layer.events import plain, record_event
from stock_manager.service_layer.metrics_port import Metrics
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.reconciliation import strip_number
from stock_manager.service_layer.storage_port import StoredFill, UnitOfWorkFactory

if TYPE_CHECKING:
    from stock_manager.service_layer.execution import ExecutionConfig

log = structlog.get_logger("stockbot.execution")

#: A notice dated this far after now by the adapter cannot be of today (clocks differ by a little).
NOTICE_CLOCK_SLACK = timedelta(minutes=1)


class FillRecording:
    """Recording fills and syncing orders from the broker; mixed into `Execution`, whose state it shares.

    Every write happens under ``_lock`` and replaces memory (``positions``, ``open_orders``) only after
    the commit.
    """

    # Provided by Execution.
    config: "ExecutionConfig"
    positions: dict[str, Position]
    open_orders: dict[int, Order]
    _uow: UnitOfWorkFactory
    _broker: Broker
    _clock: Clock
    _notifier: Notifier
    _metrics: Metrics
    _lock: asyncio.Lock
    _notice_refs: set[str]
    _deficits_seen: dict[str, Decimal]
    _rest_covered: dict[tuple[date, str], tuple[Decimal, datetime]]
    _find: Callable[[str, date | None], Awaitable[Order | None]]
    _remember: Callable[[Order], None]
    _stop_locked: Callable[[str], Awaitable[None]]
    apply_event: Callable[[Order, OrderEvent, str, str, str], Awaitable[None]]

    async def sync_from_broker(self, order: Order, reason: str, *, confirmed: bool = True) -> None:
        """Bring one open order in line with the broker's report of it (after a cancel, a reconnect, at the close).

        Executions the broker reports beyond ours are recorded (by cumulative quantity, see
        `domain.fill_identity`); more recorded than the broker executed enters stop mode. With `confirmed`
        False (periodic checks while notices may still be in flight) a shortfall is only recorded when the
        previous check of the same order saw the broker at the same executed quantity.
        """
        if order.id not in self.open_orders or order.broker_order_number is None:
            return
        reports = await self._broker.get_orders(self.config.account_id, order.trading_date)
        number = strip_number(order.broker_order_number)
        report = next((r for r in reports if strip_number(r.broker_order_number) == number), None)
        if report is None:
            return
        broker_fills = [f for f in await self._broker.get_fills(self.config.account_id, order.trading_date)
                        if strip_number(f.broker_order_number) == number]
        await self.record_missing_fills(order.trading_date, order.broker_order_number, broker_fills,
                                        confirmed=confirmed)
        current = self.open_orders.get(order.id)
        if current is not None and report.state is BrokerOrderState.CANCELED:
            await self.apply_event(current, OrderCanceled(self._clock.now(), reason), "order_canceled", "INFO",
                                   f"{current.symbol} order {current.broker_order_number} cancelled: {reason}")
        elif current is not None and report.state is BrokerOrderState.REJECTED:
            await self.apply_event(current, OrderRejected(self._clock.now(), reason), "order_rejected", "WARNING",
                                   f"{current.symbol} order {current.broker_order_number} rejected at the broker")

    async def settle_before_close(self, broker_order_number: str) -> bool:
        """Before a cancel or expiry notice closes one of our working orders, record the executions of it the
        broker reports beyond ours (a fill notice lost, or still on its way behind the cancel); return False
        when the broker could not be read, so the order must stay open in our records.

        Once cancelled, the order executes no more, so its total at the broker is final. It is done while the
        order is still open in our records: a process killed in between, or a failed read, leaves the order
        to the reconciliations that look at open orders (periodic, at the close, at startup), which take the
        broker's state and executions together.
        """
        order = await self._find(broker_order_number)
        if order is None or not order.is_open or order.broker_order_number is None:
            return True
        number = normalize_order_number(order.broker_order_number)
        try:
            broker_fills = [f for f in await self._broker.get_fills(self.config.account_id, order.trading_date)
                            if normalize_order_number(f.broker_order_number) == number]
        except StockbotError as e:
            log.warning("settle_before_close_failed", order=order.broker_order_number, error=str(e))
            return False
        await self.record_missing_fills(order.trading_date, order.broker_order_number, broker_fills)
        return True

    async def reconcile_open_orders(self, reason: str, *, confirmed: bool = True) -> None:
        """Run `sync_from_broker` for every working order (after a stream gap, and periodically)."""
        for order in list(self.open_orders.values()):
            if order.broker_order_number is not None:
                await self.sync_from_broker(order, reason, confirmed=confirmed)

    async def record_missing_fills(
        self, trading_date: date, broker_order_number: str, broker_fills: Sequence[Fill], *, confirmed: bool = True
    ) -> int:
        """Record the executions of one broker order that the broker reports beyond ours; return how many.

        Serialised with every other write, and computed from the database inside the lock, so a notice
        applied while the broker was being asked is not counted again.
        """
        async with self._lock:
            number = normalize_order_number(broker_order_number)
            async with self._uow() as uow:
                recorded = [s.fill for s in await uow.fills.list_for_date(self.config.account_id, trading_date)
                            if normalize_order_number(s.fill.broker_order_number) == number]
            found = missing_fills(self.config.account_id, recorded, broker_fills)
            if found.surplus_quantity > 0:
                surplus = found.surplus_quantity
                await self._stop_locked(f"order {broker_order_number}: {plain(surplus)} more shares recorded as "
                                        "executed than the broker reports")
                return 0
            if not found.fills:
                self._deficits_seen.pop(number, None)
                return 0
            broker_qty = sum((f.quantity for f in broker_fills), Decimal(0))
            if not confirmed and self._deficits_seen.get(number) != broker_qty:
                self._deficits_seen[number] = broker_qty  # maybe a notice in flight: look again next time
                return 0
            self._deficits_seen.pop(number, None)
            for fill in found.fills:
                await self._record_fill(fill, source="recovery")
            return len(found.fills)

    async def _on_its_order_day(self, fill: Fill) -> Fill | None:
        """Return a notice's fill dated on its order's day, or None when that day cannot be told.

        A notice carries only the time of day (KIS H0STCNI0 field 11); the adapter dates it by the market
        clock, which may already be in a later session when a late notice is read. KRX orders are day orders,
        so a fill's day is its order's, and order numbers restart each session: a number with no order of ours
        on the notice's day is an earlier order of ours (same number, symbol and side) unless the broker has
        an order of that number, symbol and side on that day (one placed by hand: an external fill). A notice
        dated after now cannot be of today. When the broker cannot be asked, None: the notice is left to the
        broker's totals (every closed order of ours had them taken in; startup recovery takes the rest).
        """
        day = fill_day(fill)
        if await self._find(fill.broker_order_number, day) is not None:
            return fill
        number = normalize_order_number(fill.broker_order_number)
        order = next((o for o in self.open_orders.values()
                      if o.broker_order_number and normalize_order_number(o.broker_order_number) == number), None)
        if order is None:
            async with self._uow() as uow:
                order = await uow.orders.get_by_broker_number(self.config.account_id, number)
        if (order is None or order.trading_date >= day
                or (order.symbol, order.side) != (fill.symbol, fill.side)):
            return fill
        if fill.ts_filled <= self._clock.now() + NOTICE_CLOCK_SLACK:
            try:
                reports = await self._broker.get_orders(self.config.account_id, day)
            except StockbotError as e:
                await self._ignore_notice(fill, order, f"its day is unknown (the broker's orders could not be "
                                          f"read: {e}); the broker's totals bring in any missing execution",
                                          kind="fill_notice_ignored")
                return None
            if any(normalize_order_number(r.broker_order_number) == number
                   and (r.symbol, r.side) == (fill.symbol, fill.side) for r in reports):
                return fill  # the broker's order of that day, not ours: external
        return replace(fill, ts_filled=kst_datetime(order.trading_date, fill.ts_filled.astimezone(KST).time()))

    async def _ignore_notice(self, fill: Fill, order: Order | None, why: str,
                             kind: str = "duplicate_fill_notice") -> None:
        async with self._uow() as uow:
            await record_event(uow, self._notifier, ts=self._clock.now(), kind=kind,
                               severity="WARNING", message=f"fill notice {fill.broker_fill_id} ignored: {why}",
                               payload={"broker_reference": fill.broker_fill_id},
                               correlation_id=order.correlation_id if order else "", account_id=self.config.account_id)
            await uow.commit()

    async def _already_covered(self, fill: Fill) -> bool:
        # A notice seen before (same adapter id); one for an execution the broker's totals already brought in
        # (a notice in flight while they were read: after a reconnect, a cancel, at the close): executed no
        # later than that read, while shares recorded from the totals still await their notice; or one its
        # order can no longer take: the broker cannot overfill, so it is a copy of an execution already counted.
        # A new execution taken for a covered one (same second as the read) is only delayed: the next look at
        # the broker's totals records it, whereas counting a covered one again could never be undone.
        order = await self._find(fill.broker_order_number, fill_day(fill))
        number = normalize_order_number(fill.broker_order_number)
        key = (fill_day(fill), number)
        covered, ts_read = self._rest_covered.get(key, (Decimal(0), None))
        if fill.broker_fill_id in self._notice_refs:
            why = "seen before"
        elif ts_read is not None and covered >= fill.quantity and fill.ts_filled <= ts_read:
            self._rest_covered[key] = (covered - fill.quantity, ts_read)
            why = "already recorded from the broker's totals"
        elif order is not None and order.filled_quantity + fill.quantity > order.quantity:
            why = "its order is already fully executed in our records"
        elif order is not None and not order.is_open:
            # Closed orders had the broker's totals taken in (at the cancel or expiry, by recovery): final.
            why = "its order is closed and its executions were taken from the broker's totals"
        else:
            return False
        await self._ignore_notice(fill, order, why)
        return True

    async def record_fill(self, fill: Fill, *, source: str) -> bool:
        """Record a fill once with its order and position in one transaction (serialised).

        The fill is stored under its cumulative identity (`domain.fill_identity`): its order's executed
        quantity recorded so far plus its own; the adapter's id is kept in the event as ``broker_reference``.

        Returns
        -------
        bool
            False when that identity is already recorded (the same execution seen by WS and REST).
        """
        async with self._lock:
            return await self._record_fill(fill, source=source)

    async def _record_fill(self, fill: Fill, *, source: str) -> bool:
        # The caller holds self._lock.
        order = await self._find(fill.broker_order_number, fill_day(fill))
        now = self._clock.now()
        day = fill_day(fill)
        number = normalize_order_number(fill.broker_order_number)
        async with self._uow() as uow:
            recorded_qty = sum((s.fill.quantity for s in await uow.fills.list_for_date(self.config.account_id, day)
                                if normalize_order_number(s.fill.broker_order_number) == number), Decimal(0))
            reference = fill.broker_fill_id
            fill = replace(fill, broker_fill_id=fill_identity(self.config.account_id, day, number,
                                                              recorded_qty + fill.quantity))
            if await uow.fills.exists(fill.broker_fill_id):
                return False
            updated = None
            if order is not None:
                updated = copy.deepcopy(order)
                updated.apply(OrderFilled(fill))
                await uow.orders.update(updated, now)
            await uow.fills.add(StoredFill(fill, self.config.account_id, order.id if order else None, source), now)
            position = self.positions.get(fill.symbol) or Position(self.config.account_id, fill.symbol)
            position = position.apply_fill(fill)
            await uow.positions.upsert(position, now)
            corr = order.correlation_id if order else ""
            kind, severity = ("fill", "INFO") if order is not None else ("external_fill", "WARNING")
            await record_event(
                uow, self._notifier, ts=now, kind=kind, severity=severity,
                message=f"{fill.side} {plain(fill.quantity)} {fill.symbol} @ {plain(fill.price)} "
                        f"(order {fill.broker_order_number})",
                payload={"broker_fill_id": fill.broker_fill_id, "broker_reference": reference, "source": source,
                         "commission_krw": fill.commission_krw, "tax_krw": fill.tax_krw},
                correlation_id=corr, account_id=self.config.account_id,
            )
            await uow.commit()
        self.positions[fill.symbol] = position
        if source != "notice":  # a notice of one of these executions may still be on its way
            covered, _ = self._rest_covered.get((day, number), (Decimal(0), None))
            self._rest_covered[(day, number)] = (covered + fill.quantity, now)
        if updated is not None:
            self._remember(updated)
            self._metrics.fill(fill.side.value, fill.quantity, fill.price, updated.signal_price)
        return True
