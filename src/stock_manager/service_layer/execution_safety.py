"""The safety half of `Execution`: observe mode, the last check before the broker call, flatten, the kill
switch set by the daemon itself (repeated broker failures, the daily loss limit) and the daily loss stop.

A mixin: it works on the `Execution` it is part of (its units of work, broker, clock, lock, risk book and
in-memory orders); it is never used alone.
"""

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from stock_manager.domain.clock import kst_date
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.orders import Order
from stock_manager.domain.risk import daily_loss_limit_breached
from stock_manager.domain.sessions import order_type_allowed
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.events import correlation_id_for, plain, record_event
from stock_manager.service_layer.risk_gate import record_risk_decision
from stock_manager.service_layer.storage_port import DuplicateIdempotencyKey, ObservedOrder, RiskEventRecord

if TYPE_CHECKING:
    from stock_manager.service_layer.execution import Execution


class ExecutionSafety:
    """Observe mode, the pre-send kill check, flatten and the daemon's own kill-switch trips (see module doc)."""

    async def _observe(self: "Execution", signal: Signal, key: str, corr: str, quantity: Decimal, limit: Decimal | None,
                       now: datetime) -> None:
        # Observe mode: the would-be order and its event, never an order row, never the broker.
        observed = ObservedOrder(
            idempotency_key=key, account_id=self.config.account_id, mode=self.config.mode,
            strategy_id=signal.strategy_id, symbol=signal.symbol, side=signal.side.value,
            order_type=signal.order_type.value, intent=signal.intent.value, quantity=quantity, limit_price=limit,
            signal_price=signal.reference_price, reason=signal.reason, correlation_id=corr,
            trading_date=self.trading_date or kst_date(now), ts_observed=now)
        async with self._uow() as uow:
            if await uow.observed_orders.add(observed):
                await record_event(
                    uow, self._notifier, ts=now, kind="order_observed", severity="INFO",
                    message=f"observe mode, not sent: {signal.side} {plain(quantity)} {signal.symbol} "
                            f"{signal.order_type}{f' @ {plain(limit)}' if limit else ''}: {signal.reason}",
                    payload={"idempotency_key": key}, correlation_id=corr, account_id=self.config.account_id)
            await uow.commit()

    async def _send_blocker(self: "Execution", *, flatten: bool = False) -> str | None:
        # The last check before the broker call: the kill switch (in memory and in the database) and stop
        # mode. Any failure while checking blocks the order. A flatten order passes the switch that asked
        # for it, never a failed check.
        try:
            if self.config.order_mode != "send":
                return f"ORDER_MODE={self.config.order_mode}"
            if not flatten:
                if self.kill_reason is not None:
                    return f"kill switch: {self.kill_reason}"
                if self.stopped_reason is not None:
                    return f"stop mode: {self.stopped_reason}"
            async with self._uow() as uow:
                switch = await uow.control.get_kill_switch()
            if switch.active and not (flatten and switch.action == "flatten"):
                self.request_kill(switch.reason or "no reason given")
                return f"kill switch: {switch.reason or 'no reason given'}"
            return None
        except Exception as e:
            return f"the kill switch could not be read ({type(e).__name__}); nothing is sent"

    async def quiesce(self: "Execution", timeout_secs: float) -> bool:
        """Wait until no order submission is under way (at most `timeout_secs`); return False on timeout.

        With the KIS adapter, ticks reach the strategy from the WebSocket's own task, so stopping the session
        task does not stop a submission that is already sending. Called after `request_kill` (which keeps
        any new one from reaching the broker) so that what follows sees every order that was sent.
        """
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_secs)
        except TimeoutError:
            return False
        return True

    async def resync_from_database(self: "Execution") -> None:
        """Reload working orders and positions from the database, then settle any order whose send was cut off.

        The kill switch stops the session task wherever it is, possibly between an order's commit and the
        in-memory copy, or between the broker call and its answer. The database is the source of truth:
        memory is rebuilt from it, and a NEW order (sent or not, nobody knows) is resolved by inquiry
        (adopted, or marked not placed) so that cancel-open and flatten see every order the broker may hold.
        """
        async with self._lock:
            async with self._uow() as uow:
                open_orders = await uow.orders.list_open(self.config.account_id)
                positions = await uow.positions.list_all(self.config.account_id)
            self.open_orders = {o.id: o for o in open_orders if o.id is not None}
            self.positions = {p.symbol: p for p in positions}
        for order in [o for o in self.open_orders.values() if o.broker_order_number is None]:
            await self._resolve_unknown(order)

    async def flatten(self: "Execution", reason: str) -> list[Order]:
        """Sell every held position at market (``stockbot kill --flatten``); return the orders sent.

        Only while the session phase accepts MARKET orders; otherwise an event says the positions stay.
        The sells pass the kill switch that asked for them (action ``flatten``) and nothing else: stop mode
        and the risk limits do not hold them back, a failed kill-switch read does. Call after
        `cancel_open_orders` so no working sell holds the shares.
        """
        now = self._clock.now()
        phase = self.book.phase_at(now)
        held = {s: p.quantity for s, p in self.positions.items() if p.quantity > 0}
        if not held:
            return []
        if self.config.order_mode != "send" or phase is None or not order_type_allowed(phase, OrderType.MARKET):
            async with self._uow() as uow:
                await record_event(uow, self._notifier, ts=now, kind="flatten_skipped", severity="CRITICAL",
                                   message=f"flatten not possible now ({phase or 'session hours unknown'}, "
                                           f"ORDER_MODE={self.config.order_mode}); positions kept: "
                                           f"{', '.join(f'{s} {plain(q)}' for s, q in sorted(held.items()))}",
                                   account_id=self.config.account_id, payload={"held": held})
                await uow.commit()
            return []
        sent: list[Order] = []
        async with self._lock:
            for symbol, quantity in sorted(held.items()):
                selling = sum((o.remaining_quantity for o in self.open_orders.values()
                               if o.symbol == symbol and o.side is Side.SELL), Decimal(0))
                quantity -= selling
                if quantity <= 0:
                    continue
                key = f"{self.config.account_id}:kill_switch:{symbol}:{Intent.EXIT}:{now.isoformat()}:flatten"
                order = Order(
                    idempotency_key=key, account_id=self.config.account_id, strategy_id="kill_switch",
                    symbol=symbol, side=Side.SELL, order_type=OrderType.MARKET, quantity=quantity, limit_price=None,
                    intent=Intent.EXIT, reason=f"flatten: {reason}", trading_date=self.trading_date or kst_date(now),
                    ts_created=now, correlation_id=correlation_id_for(key),
                    signal_price=self.book.market[symbol].last_price if symbol in self.book.market else None)
                async with self._uow() as uow:
                    try:
                        order = await uow.orders.add(order)
                    except DuplicateIdempotencyKey:
                        continue
                    await record_event(uow, self._notifier, ts=now, kind="order_created", severity="WARNING",
                                       message=f"SELL {plain(quantity)} {symbol} MARKET: flatten ({reason})",
                                       payload={"order_id": order.id, "idempotency_key": key},
                                       correlation_id=order.correlation_id, account_id=self.config.account_id)
                    await uow.commit()
                assert order.id is not None
                self.open_orders[order.id] = order
                await self._send(order, flatten=True)
                sent.append(order)
        return sent

    def _note_broker_failure(self: "Execution", order: Order) -> None:
        self.book.broker_failures += 1
        self.book.note_failed_order(order.symbol, self._clock.now())

    async def _trip_on_broker_failures(self: "Execution", error: Exception) -> None:
        limit = self.limits.max_consecutive_broker_failures
        if limit is not None and self.book.broker_failures >= limit:
            await self.trip_kill_switch(
                "broker_failures", f"{self.book.broker_failures} consecutive broker failures on sends "
                                   f"(last: {type(error).__name__}: {error})", action="cancel_open")

    async def trip_kill_switch(self: "Execution", rule: str, reason: str, *, action: str = "halt") -> None:
        """Set the latched kill switch from the daemon (an event and a KILL risk decision), then stop.

        Used for repeated broker failures and, at the close, for a session that hit the daily loss limit.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.control.set_kill_switch(True, reason, "daemon", now, action)
            await record_risk_decision(uow, self._notifier, ts=now, rule=rule, decision="KILL",
                                       message=f"kill switch set by the daemon ({action}): {reason}",
                                       snapshot={"action": action, "set_by": "daemon"},
                                       account_id=self.config.account_id, event_kind="kill_switch_set",
                                       severity="CRITICAL")
            await uow.commit()
        self.request_kill(reason)
        await self.enter_stop_mode(f"kill switch: {reason}", rule=rule)
        if self._on_kill is not None:
            await self._on_kill(reason)

    async def check_daily_loss(self: "Execution") -> None:
        """Enter stop mode and cancel working entries once today's loss reaches the limit (once a session)."""
        if self.loss_limit_hit or self.start_of_day_equity_krw <= 0:
            return
        state = self.risk_state()
        if not daily_loss_limit_breached(state, self.limits):
            return
        self.loss_limit_hit = True
        pnl = state.realized_pnl_today_krw + (state.unrealized_pnl_krw if self.limits.daily_loss_includes_unrealized
                                              else 0)
        reason = f"daily loss limit: {pnl:.0f} KRW today (limit -{self.limits.daily_loss_limit_pct}% of " \
                 f"{self.start_of_day_equity_krw:.0f} KRW)"
        await self.enter_stop_mode(reason, rule="daily_loss_limit")
        await self.cancel_open_orders("daily loss limit reached", intent=Intent.ENTRY)

def order_risk_record(ts: datetime, rule: str, decision: str, message: str, order: Order) -> RiskEventRecord:
    """Return a ``risk_events`` row about one order (its id, key, symbol, side and quantity as the snapshot)."""
    return RiskEventRecord(ts_event=ts, rule=rule, decision=decision, message=message,
                           snapshot={"order_id": order.id, "idempotency_key": order.idempotency_key,
                                     "symbol": order.symbol, "side": order.side.value,
                                     "quantity": str(order.quantity)},
                           account_id=order.account_id, symbol=order.symbol, correlation_id=order.correlation_id)
