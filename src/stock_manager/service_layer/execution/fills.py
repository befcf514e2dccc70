"""Fills into the records: notices, the venue's totals after a gap or on a periodic check, each execution once.

Every fill is stored under the identity the venue's `FillIdentity` gives it (a venue trade id, or the
order's cumulative quantity where executions have no id), so a notice and an inquiry name the same
execution the same way. Every write happens under the lock and replaces memory only after the commit.
"""

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import structlog

from stock_manager.domain.errors import StockbotError
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.fills import Fill
from stock_manager.domain.orders import Order, OrderCanceled, OrderFilled, OrderRejected
from stock_manager.domain.positions import Position
from stock_manager.service_layer.events import plain, record_event
from stock_manager.service_layer.execution.ledger import OrderLedger
from stock_manager.service_layer.execution.safety import Safety
from stock_manager.service_layer.execution.state import ExecutionPorts, ExecutionState
from stock_manager.service_layer.ports.broker import BrokerOrderState
from stock_manager.service_layer.ports.storage import StoredFill, UnitOfWork

log = structlog.get_logger("stockbot.execution")

#: A notice dated this far after now by the adapter cannot be of today (clocks differ by a little).
NOTICE_CLOCK_SLACK = timedelta(minutes=1)


class FillRecorder:
    """Records fills and syncs orders from the venue (see module docstring)."""

    def __init__(self, state: ExecutionState, ports: ExecutionPorts, ledger: OrderLedger, safety: Safety) -> None:
        self._state = state
        self._ports = ports
        self._ledger = ledger
        self._safety = safety

    # -- THE VENUE'S TOTALS ---------------------------------------------------------------------------

    async def sync_from_broker(self, order: Order, reason: str, *, confirmed: bool = True) -> None:
        """Bring one open order in line with the venue's report of it (after a cancel, a reconnect, at the close).

        Executions the venue reports beyond ours are recorded; more recorded than the venue executed enters
        stop mode. With `confirmed` False (periodic checks while notices may still be in flight) a shortfall is
        only recorded when the previous check of the same order saw the venue at the same executed quantity.
        """
        if order.id not in self._state.open_orders or order.broker_order_number is None:
            return
        account = self._state.account_id
        reports = await self._ports.broker.get_orders(account, order.trading_date)
        number = normalize_order_number(order.broker_order_number)
        report = next((r for r in reports if normalize_order_number(r.broker_order_number) == number), None)
        if report is None:
            return
        broker_fills = [
            f
            for f in await self._ports.broker.get_fills(account, order.trading_date)
            if normalize_order_number(f.broker_order_number) == number
        ]
        await self.record_missing_fills(
            order.trading_date, order.broker_order_number, broker_fills, confirmed=confirmed
        )
        current = self._state.open_orders.get(order.id)
        if current is not None and report.state is BrokerOrderState.CANCELED:
            await self._ledger.apply_event(
                current,
                OrderCanceled(self._ports.clock.now(), reason),
                "order_canceled",
                "INFO",
                f"{current.symbol} order {current.broker_order_number} cancelled: {reason}",
            )
        elif current is not None and report.state is BrokerOrderState.REJECTED:
            await self._ledger.apply_event(
                current,
                OrderRejected(self._ports.clock.now(), reason),
                "order_rejected",
                "WARNING",
                f"{current.symbol} order {current.broker_order_number} rejected at the broker",
            )

    async def settle_before_close(self, broker_order_number: str) -> bool:
        """Before a cancel or expiry notice closes one of our working orders, record the executions of it the
        venue reports beyond ours (a fill notice lost, or still on its way behind the cancel); return False
        when the venue could not be read, so the order must stay open in our records.

        Once cancelled, the order executes no more, so its total at the venue is final. It is done while the
        order is still open in our records: a process killed in between, or a failed read, leaves the order
        to the reconciliations that look at open orders (periodic, at the close, at startup), which take the
        venue's state and executions together.
        """
        order = await self._ledger.find(broker_order_number)
        if order is None or not order.is_open or order.broker_order_number is None:
            return True
        number = normalize_order_number(order.broker_order_number)
        try:
            broker_fills = [
                f
                for f in await self._ports.broker.get_fills(self._state.account_id, order.trading_date)
                if normalize_order_number(f.broker_order_number) == number
            ]
        except StockbotError as e:
            log.warning("settle_before_close_failed", order=order.broker_order_number, error=str(e))
            return False
        await self.record_missing_fills(order.trading_date, order.broker_order_number, broker_fills)
        return True

    async def reconcile_open_orders(self, reason: str, *, confirmed: bool = True) -> None:
        """Run `sync_from_broker` for every working order (after a stream gap, and periodically)."""
        for order in list(self._state.open_orders.values()):
            if order.broker_order_number is not None:
                await self.sync_from_broker(order, reason, confirmed=confirmed)

    async def record_missing_fills(
        self, trading_date: date, broker_order_number: str, broker_fills: Sequence[Fill], *, confirmed: bool = True
    ) -> int:
        """Record the executions of one venue order that the venue reports beyond ours; return how many.

        Serialised with every other write, and computed from the database inside the lock, so a notice
        applied while the venue was being asked is not counted again.
        """
        state = self._state
        async with state.lock:
            number = normalize_order_number(broker_order_number)
            async with self._ports.uow() as uow:
                recorded = await self.recorded_of_order(uow, trading_date, broker_order_number)
            found = self._ports.venue.fill_identity.missing(state.account_id, recorded, broker_fills)
            if found.surplus_quantity > 0:
                await self._safety.enter_stop_mode(
                    f"order {broker_order_number}: {plain(found.surplus_quantity)} "
                    "more recorded as executed than the broker reports"
                )
                return 0
            if not found.fills:
                state.deficits_seen.pop(number, None)
                return 0
            broker_qty = sum((f.quantity for f in broker_fills), Decimal(0))
            if not confirmed and state.deficits_seen.get(number) != broker_qty:
                state.deficits_seen[number] = broker_qty  # maybe a notice in flight: look again next time
                return 0
            state.deficits_seen.pop(number, None)
            for fill in found.fills:
                await self.record_fill_locked(fill, source="recovery")
            return len(found.fills)

    async def recorded_of_order(self, uow: UnitOfWork, trading_date: date, broker_order_number: str) -> list[Fill]:
        """Return the fills recorded of one venue order: of its `trading_date` where the venue's numbers restart
        each day, else of every day (an order working across days fills on later ones)."""
        account, number = self._state.account_id, normalize_order_number(broker_order_number)
        if self._ports.venue.order_numbers_restart_daily:
            stored = await uow.fills.list_for_date(account, trading_date)
        else:
            stored = await uow.fills.list_for_order_numbers(account, {broker_order_number, number})
        return [s.fill for s in stored if normalize_order_number(s.fill.broker_order_number) == number]

    # -- NOTICES --------------------------------------------------------------------------------------

    async def on_its_order_day(self, fill: Fill) -> Fill | None:
        """Return a notice's fill dated on its order's day, or None when that day cannot be told.

        Only where the venue's order numbers restart each trading day and its notices carry only a time of
        day: the adapter dates a notice by the market clock, which may already be in a later session when a
        late notice is read. Such orders are day orders, so a fill's day is its order's: a number with no order
        of ours on the notice's day is an earlier order of ours (same number, symbol and side) unless the venue
        has an order of that number, symbol and side on that day (one placed by hand: an external fill). A
        notice dated after now cannot be of today. When the venue cannot be asked, None: the notice is left to
        the venue's totals (every closed order of ours had them taken in; startup recovery takes the rest).
        """
        venue = self._ports.venue
        if not venue.order_numbers_restart_daily:
            return fill
        day = fill.trading_date
        if await self._ledger.find(fill.broker_order_number, day) is not None:
            return fill
        number = normalize_order_number(fill.broker_order_number)
        order = next(
            (
                o
                for o in self._state.open_orders.values()
                if o.broker_order_number and normalize_order_number(o.broker_order_number) == number
            ),
            None,
        )
        if order is None:
            async with self._ports.uow() as uow:
                order = await uow.orders.get_by_broker_number(self._state.account_id, number)
        if order is None or order.trading_date >= day or (order.symbol, order.side) != (fill.symbol, fill.side):
            return fill
        if fill.ts_filled <= self._ports.clock.now() + NOTICE_CLOCK_SLACK:
            try:
                reports = await self._ports.broker.get_orders(self._state.account_id, day)
            except StockbotError as e:
                await self.ignore_notice(
                    fill,
                    order,
                    f"its day is unknown (the broker's orders could not be "
                    f"read: {e}); the broker's totals bring in any missing execution",
                    kind="fill_notice_ignored",
                )
                return None
            if any(
                normalize_order_number(r.broker_order_number) == number
                and (r.symbol, r.side) == (fill.symbol, fill.side)
                for r in reports
            ):
                return fill  # the venue's order of that day, not ours: external
        # The same wall time on the order's trading day.
        shift = venue.trading_day.start_of(order.trading_date) - venue.trading_day.start_of(day)
        return replace(fill, ts_filled=fill.ts_filled + shift, trading_date=order.trading_date)

    async def ignore_notice(
        self, fill: Fill, order: Order | None, why: str, kind: str = "duplicate_fill_notice"
    ) -> None:
        """Record that a fill notice was not recorded, and why."""
        async with self._ports.uow() as uow:
            await record_event(
                uow,
                self._ports.notifier,
                ts=self._ports.clock.now(),
                kind=kind,
                severity="WARNING",
                message=f"fill notice {fill.broker_fill_id} ignored: {why}",
                payload={"broker_reference": fill.broker_fill_id},
                correlation_id=order.correlation_id if order else "",
                account_id=self._state.account_id,
            )
            await uow.commit()

    async def already_covered(self, fill: Fill) -> bool:
        """Return True (and record why) when a notice must not be recorded (the caller holds the lock).

        A notice seen before (same adapter reference); one for an execution the venue's totals already brought
        in (a notice in flight while they were read: after a reconnect, a cancel, at the close): executed no
        later than that read, while quantity recorded from the totals still awaits its notice; or one its order
        can no longer take: the venue cannot overfill, so it is a copy of an execution already counted. A new
        execution taken for a covered one (same second as the read) is only delayed: the next look at the
        venue's totals records it, whereas counting a covered one again could never be undone.
        """
        state = self._state
        order = await self._ledger.find(fill.broker_order_number, fill.trading_date)
        number = normalize_order_number(fill.broker_order_number)
        key = (fill.trading_date, number)
        covered, ts_read = state.rest_covered.get(key, (Decimal(0), None))
        if fill.broker_fill_id in state.notice_refs:
            why = "seen before"
        elif ts_read is not None and covered >= fill.quantity and fill.ts_filled <= ts_read:
            state.rest_covered[key] = (covered - fill.quantity, ts_read)
            why = "already recorded from the broker's totals"
        elif order is not None and order.filled_quantity + fill.quantity > order.quantity:
            why = "its order is already fully executed in our records"
        elif order is not None and not order.is_open:
            # Closed orders had the venue's totals taken in (at the cancel or expiry, by recovery): final.
            why = "its order is closed and its executions were taken from the broker's totals"
        else:
            return False
        await self.ignore_notice(fill, order, why)
        return True

    # -- RECORDING ------------------------------------------------------------------------------------

    async def record_fill(self, fill: Fill, *, source: str) -> bool:
        """Record a fill once with its order and position in one transaction (serialised).

        The fill is stored under the venue's identity of it; the adapter's reference is kept in the event
        as ``broker_reference``.

        Returns
        -------
        bool
            False when that identity is already recorded (the same execution seen by stream and inquiry).
        """
        async with self._state.lock:
            return await self.record_fill_locked(fill, source=source)

    async def record_fill_locked(self, fill: Fill, *, source: str) -> bool:
        """As `record_fill`, for a caller that holds the lock."""
        state, ports = self._state, self._ports
        order = await self._ledger.find(fill.broker_order_number, fill.trading_date)
        now = ports.clock.now()
        day = fill.trading_date
        number = normalize_order_number(fill.broker_order_number)
        async with ports.uow() as uow:
            recorded_qty = sum(
                (f.quantity for f in await self.recorded_of_order(uow, day, fill.broker_order_number)), Decimal(0)
            )
            reference = fill.broker_fill_id
            fill = replace(
                fill, broker_fill_id=ports.venue.fill_identity.identify(state.account_id, fill, recorded_qty)
            )
            if await uow.fills.exists(fill.broker_fill_id):
                return False
            updated = None
            if order is not None:
                updated = copy.deepcopy(order)
                updated.apply(OrderFilled(fill))
                await uow.orders.update(updated, now)
            await uow.fills.add(StoredFill(fill, state.account_id, order.id if order else None, source), now)
            position = state.positions.get(fill.symbol) or Position(state.account_id, fill.symbol)
            position = position.apply_fill(fill)
            await uow.positions.upsert(position, now)
            kind, severity = ("fill", "INFO") if order is not None else ("external_fill", "WARNING")
            await record_event(
                uow,
                ports.notifier,
                ts=now,
                kind=kind,
                severity=severity,
                message=f"{fill.side} {plain(fill.quantity)} {fill.symbol} @ {plain(fill.price)} "
                f"(order {fill.broker_order_number})",
                payload={
                    "broker_fill_id": fill.broker_fill_id,
                    "broker_reference": reference,
                    "source": source,
                    "commission_krw": fill.commission_krw,
                    "tax_krw": fill.tax_krw,
                },
                correlation_id=order.correlation_id if order else "",
                account_id=state.account_id,
            )
            await uow.commit()
        state.positions[fill.symbol] = position
        if state.strategy_positions is not None and order is not None:
            key = (order.strategy_id, fill.symbol)
            own = state.strategy_positions.get(key) or Position(state.account_id, fill.symbol)
            state.strategy_positions[key] = own.apply_fill(fill)
        if source != "notice":  # a notice of one of these executions may still be on its way
            covered, _ = state.rest_covered.get((day, number), (Decimal(0), None))
            state.rest_covered[(day, number)] = (covered + fill.quantity, now)
        if updated is not None:
            state.remember(updated)
            ports.metrics.fill(fill.side.value, fill.quantity, fill.price, updated.signal_price)
        return True


def keep_recent_coverage(
    coverage: dict[tuple[date, str], tuple[Decimal, datetime]], since: date
) -> dict[tuple[date, str], tuple[Decimal, datetime]]:
    """Return the totals' coverage of orders of `since` or later (a late notice of them may still come)."""
    return {key: value for key, value in coverage.items() if key[0] >= since}
