"""The order path: signal → risk → order committed as NEW → the last check → broker → SENT/REJECTED; observe
mode; and flatten (``stockbot kill --flatten``).
"""

import hashlib
from datetime import datetime
from decimal import Decimal

import structlog

from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import OrderMode
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderRejected
from stock_manager.domain.risk import OrderProposal, RiskDenial
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.events import correlation_id_for, plain, record_event
from stock_manager.service_layer.execution.dialogue import BrokerDialogue
from stock_manager.service_layer.execution.ledger import OrderLedger
from stock_manager.service_layer.execution.safety import Safety, order_risk_record
from stock_manager.service_layer.execution.state import ExecutionPorts, ExecutionState
from stock_manager.service_layer.ports.broker import OrderRequest
from stock_manager.service_layer.ports.storage import DuplicateIdempotencyKey, ObservedOrder
from stock_manager.service_layer.risk_gate import denial_payload, pre_trade_denial, record_risk_decision

log = structlog.get_logger("stockbot.execution")

#: Length of the client order id sent to venues that take one (hex of the idempotency key's digest).
CLIENT_ORDER_ID_CHARS = 29


def client_order_id_for(idempotency_key: str) -> str:
    """Return the client order id of a decision: 29 hex of sha256(idempotency key), stable across restarts.

    29 characters leave a venue adapter room for a short re-send suffix within the 32 characters a venue may
    allow for its client order id (where a re-send after a definite "not found" needs a new one, ``<id>-r1``).
    """
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:CLIENT_ORDER_ID_CHARS]


class OrderPlacement:
    """Turns allowed signals into orders at the venue (see module docstring)."""

    def __init__(
        self,
        state: ExecutionState,
        ports: ExecutionPorts,
        ledger: OrderLedger,
        safety: Safety,
        dialogue: BrokerDialogue,
    ) -> None:
        self._state = state
        self._ports = ports
        self._ledger = ledger
        self._safety = safety
        self._dialogue = dialogue

    def idempotency_key(self, signal: Signal) -> str:
        """Return the order's idempotency key: ``<account>:<signal key>`` (a decision is per account)."""
        return f"{self._state.account_id}:{signal.idempotency_key}"

    async def submit(self, signal: Signal) -> Order | None:
        """Turn an allowed signal into an order at the venue; return it, or None when nothing was sent.

        The order row is committed as NEW before the broker is called. A signal whose idempotency key
        exists returns the existing order and sends nothing; so does a second live order for the same
        (strategy, symbol, intent). Every log line written meanwhile carries the decision's correlation id.
        """
        state = self._state
        key = self.idempotency_key(signal)
        if key in state.handled_keys:
            return None
        state.in_flight += 1
        state.idle.clear()
        try:
            with structlog.contextvars.bound_contextvars(correlation_id=correlation_id_for(key)):
                return await self._submit(signal, key)
        finally:
            state.in_flight -= 1
            if state.in_flight == 0:
                state.idle.set()

    async def _submit(self, signal: Signal, key: str) -> Order | None:
        state = self._state
        async with state.lock:
            if any(
                (o.strategy_id, o.symbol, o.intent) == (signal.strategy_id, signal.symbol, signal.intent)
                for o in state.open_orders.values()
            ):
                return None  # one live order per intent; this one is still working
            state.handled_keys.add(key)
            async with self._ports.uow() as uow:
                existing = await uow.orders.get_by_key(key)
            if existing is not None:
                return existing
            log.info(
                "signal",
                symbol=signal.symbol,
                side=str(signal.side),
                intent=str(signal.intent),
                reference_price=str(signal.reference_price),
                reason=signal.reason,
            )
            order = await self._create_order(signal, key)
            if order is None:
                return None
            await self.send(order)
            assert order.id is not None  # committed by `_add`, so numbered by the store
            async with self._ports.uow() as uow:
                return await uow.orders.get(order.id)  # as it stands after the broker's answer

    async def _create_order(self, signal: Signal, key: str) -> Order | None:
        state, ports = self._state, self._ports
        now = ports.clock.now()
        instrument = ports.venue.instruments.get(signal.symbol)
        limit = None
        if signal.order_type is OrderType.LIMIT:
            limit = instrument.round_price(signal.limit_price or signal.reference_price, signal.side)
        quantity = signal.quantity
        if quantity is None:
            assert signal.target_value_krw is not None
            quantity = instrument.floor_quantity(signal.target_value_krw / (limit or signal.reference_price))
        corr = correlation_id_for(key)
        proposal = OrderProposal(
            signal.symbol, signal.side, signal.intent, quantity, limit or signal.reference_price, signal.order_type
        )
        risk = state.risk_state(now, ports.kill_switch)
        try:
            async with ports.uow() as uow:
                switch = await uow.control.get_kill_switch()
            denial = pre_trade_denial(proposal, risk, state.limits, switch, instrument)
        except Exception as e:  # a risk check that cannot run means no order
            denial = RiskDenial("risk_check_failed", f"the pre-trade checks failed ({type(e).__name__}: {e})")
        if denial is not None:
            async with ports.uow() as uow:
                await record_risk_decision(
                    uow,
                    ports.notifier,
                    ts=now,
                    rule=denial.rule,
                    decision="DENY",
                    message=f"{signal.symbol} {signal.side} {signal.intent} denied by {denial.rule}: {denial.message}",
                    snapshot=denial_payload(denial, proposal, risk, signal.reason),
                    account_id=state.account_id,
                    symbol=signal.symbol,
                    correlation_id=corr,
                )
                await uow.commit()
            return None
        state.book.note_order(now)
        if state.config.order_mode is OrderMode.OBSERVE:
            await self._observe(signal, key, corr, quantity, limit, now)
            return None
        order = Order(
            idempotency_key=key,
            account_id=state.account_id,
            strategy_id=signal.strategy_id,
            symbol=signal.symbol,
            side=signal.side,
            order_type=signal.order_type,
            quantity=quantity,
            limit_price=limit,
            intent=signal.intent,
            reason=signal.reason,
            trading_date=state.trading_date or ports.venue.date_of(now),
            ts_created=now,
            correlation_id=corr,
            signal_price=signal.reference_price,
            client_order_id=client_order_id_for(key) if ports.venue.client_order_ids else None,
        )
        return await self._add(
            order,
            "INFO",
            f"{order.side} {plain(order.quantity)} {order.symbol} "
            f"{order.order_type}{f' @ {plain(limit)}' if limit else ''}: "
            f"{order.reason}",
            {"reason": order.reason, "signal_price": signal.reference_price},
        )

    async def _add(self, order: Order, severity: str, message: str, extra: dict[str, object]) -> Order | None:
        # Commit the order as NEW with its ``order_created`` event; None when its key exists already.
        async with self._ports.uow() as uow:
            try:
                order = await uow.orders.add(order)
            except DuplicateIdempotencyKey:
                return None
            await record_event(
                uow,
                self._ports.notifier,
                ts=order.ts_created,
                kind="order_created",
                severity=severity,
                message=message,
                payload={"order_id": order.id, "idempotency_key": order.idempotency_key, **extra},
                correlation_id=order.correlation_id,
                account_id=self._state.account_id,
            )
            await uow.commit()
        assert order.id is not None
        self._state.open_orders[order.id] = order
        return order

    async def _observe(
        self, signal: Signal, key: str, corr: str, quantity: Decimal, limit: Decimal | None, now: datetime
    ) -> None:
        # Observe mode: the would-be order and its event, never an order row, never the broker.
        state, ports = self._state, self._ports
        observed = ObservedOrder(
            idempotency_key=key,
            account_id=state.account_id,
            mode=str(state.config.mode),
            strategy_id=signal.strategy_id,
            symbol=signal.symbol,
            side=signal.side.value,
            order_type=signal.order_type.value,
            intent=signal.intent.value,
            quantity=quantity,
            limit_price=limit,
            signal_price=signal.reference_price,
            reason=signal.reason,
            correlation_id=corr,
            trading_date=state.trading_date or ports.venue.date_of(now),
            ts_observed=now,
        )
        async with ports.uow() as uow:
            if await uow.observed_orders.add(observed):
                await record_event(
                    uow,
                    ports.notifier,
                    ts=now,
                    kind="order_observed",
                    severity="INFO",
                    message=f"observe mode, not sent: {signal.side} {plain(quantity)} {signal.symbol} "
                    f"{signal.order_type}{f' @ {plain(limit)}' if limit else ''}: {signal.reason}",
                    payload={"idempotency_key": key},
                    correlation_id=corr,
                    account_id=state.account_id,
                )
            await uow.commit()

    async def send(self, order: Order, *, flatten: bool = False) -> None:
        """Send a NEW order (the caller holds the lock) unless the last check blocks it; apply the answer."""
        state, ports, ledger = self._state, self._ports, self._ledger
        blocker = await self._safety.send_blocker(flatten=flatten)
        if blocker is not None:
            await ledger.apply_event_locked(
                order,
                OrderCanceled(ports.clock.now(), f"not sent: {blocker}"),
                "order_not_sent",
                "WARNING",
                f"{order.symbol} order not sent: {blocker}",
            )
            async with ports.uow() as uow:
                await uow.risk.add_event(
                    order_risk_record(
                        ports.clock.now(), "kill_switch", "DENY", f"{order.symbol} order not sent: {blocker}", order
                    )
                )
                await uow.commit()
            return
        request = OrderRequest(
            state.account_id,
            order.symbol,
            order.side,
            order.order_type,
            order.quantity,
            order.limit_price,
            order.client_order_id,
            ports.venue.default_time_in_force,
        )
        timer = ports.metrics.order_timer()
        try:
            ack = await ports.broker.place_order(request)
        except OrderRejectedByBroker as e:
            timer.done("rejected")
            state.book.note_failed_order(order.symbol, ports.clock.now())
            state.book.broker_failures = 0  # the broker answered
            await ledger.apply_event_locked(
                order,
                OrderRejected(ports.clock.now(), str(e), e.code),
                "order_rejected",
                "WARNING",
                f"{order.symbol} order rejected by the broker: {e.code} {e}",
            )
        except (AmbiguousOrderOutcome, TemporaryBrokerError) as e:
            timer.done("unknown")
            self._safety.note_broker_failure(order)
            await ledger.note(
                order,
                "order_outcome_unknown",
                "ERROR",
                f"{order.symbol} order outcome unknown ({type(e).__name__}: {e}); resolving by inquiry",
            )
            await self._dialogue.resolve_unknown(order)
            await self._safety.trip_on_broker_failures(e)
        except FatalBrokerError as e:
            timer.done("fatal")
            self._safety.note_broker_failure(order)
            await ledger.note(order, "order_outcome_unknown", "CRITICAL", f"broker refused the session: {e}")
            await self._safety.enter_stop_mode(f"fatal broker error while placing an order: {e}", rule="broker_failure")
            await self._safety.trip_on_broker_failures(e)
        else:
            timer.done("sent")
            ports.metrics.order_accepted(order.side.value, order.quantity)
            state.book.note_accepted_order(order.symbol)
            await ledger.apply_event_locked(
                order,
                OrderAccepted(ack.broker_order_number, ack.ts_accepted, ack.venue_order_ref),
                "order_sent",
                "INFO",
                f"{order.symbol} order accepted as {ack.broker_order_number}",
            )

    async def flatten(self, reason: str) -> list[Order]:
        """Sell every held position at market (``stockbot kill --flatten``); return the orders sent.

        Only while the session takes MARKET orders; otherwise an event says the positions stay. The sells pass
        the kill switch that asked for them (action ``flatten``) and nothing else: stop mode and the risk limits
        do not hold them back, a failed kill-switch read does. Call after the working orders are cancelled, so
        no working sell holds the quantity.
        """
        state, ports = self._state, self._ports
        now = ports.clock.now()
        held = {s: p.quantity for s, p in state.positions.items() if p.quantity > 0}
        if not held:
            return []
        if state.config.order_mode is not OrderMode.SEND or not state.book.accepts(now, OrderType.MARKET):
            phase = state.book.phase_at(now)
            async with ports.uow() as uow:
                await record_event(
                    uow,
                    ports.notifier,
                    ts=now,
                    kind="flatten_skipped",
                    severity="CRITICAL",
                    message=f"flatten not possible now ({phase or 'session hours unknown'}, "
                    f"ORDER_MODE={state.config.order_mode}); positions kept: "
                    f"{', '.join(f'{s} {plain(q)}' for s, q in sorted(held.items()))}",
                    account_id=state.account_id,
                    payload={"held": held},
                )
                await uow.commit()
            return []
        sent: list[Order] = []
        async with state.lock:
            for symbol, quantity in sorted(held.items()):
                selling = sum(
                    (
                        o.remaining_quantity
                        for o in state.open_orders.values()
                        if o.symbol == symbol and o.side is Side.SELL
                    ),
                    Decimal(0),
                )
                quantity -= selling
                if quantity <= 0:
                    continue
                key = f"{state.account_id}:kill_switch:{symbol}:{Intent.EXIT}:{now.isoformat()}:flatten"
                market = state.book.market.get(symbol)
                order = await self._add(
                    Order(
                        idempotency_key=key,
                        account_id=state.account_id,
                        strategy_id="kill_switch",
                        symbol=symbol,
                        side=Side.SELL,
                        order_type=OrderType.MARKET,
                        quantity=quantity,
                        limit_price=None,
                        intent=Intent.EXIT,
                        reason=f"flatten: {reason}",
                        trading_date=state.trading_date or ports.venue.date_of(now),
                        ts_created=now,
                        correlation_id=correlation_id_for(key),
                        signal_price=market.last_price if market else None,
                        client_order_id=client_order_id_for(key) if ports.venue.client_order_ids else None,
                    ),
                    "WARNING",
                    f"SELL {plain(quantity)} {symbol} MARKET: flatten ({reason})",
                    {},
                )
                if order is None:
                    continue
                await self.send(order, flatten=True)
                sent.append(order)
        return sent
