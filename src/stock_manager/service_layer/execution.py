"""The order path: signal → risk → order committed as NEW → broker → SENT/REJECTED; and the way back:
broker fills, cancels and rejects → order, fill and position, each change one transaction.

State kept in memory (positions, open orders) mirrors the database and is replaced only after a commit.
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from stock_manager.domain.clock import Clock, kst_date
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    StockbotError,
    TemporaryBrokerError,
)
from stock_manager.domain.fills import Fill
from stock_manager.domain.market_rules import round_to_tick
from stock_manager.domain.model import InstrumentKind, Intent, OrderType, Side
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderEvent, OrderFilled, OrderRejected
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import OrderProposal, RiskLimits, RiskState, daily_loss_limit_breached
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.broker_port import (
    Broker,
    BrokerOrderEvent,
    BrokerOrderState,
    CancelReport,
    FillReport,
    OrderRequest,
    RejectReport,
)
from stock_manager.service_layer.events import correlation_id_for, plain, record_event
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.reconciliation import same_shape, strip_number
from stock_manager.service_layer.risk_gate import denial_payload, pre_trade_denial
from stock_manager.service_layer.storage_port import DuplicateIdempotencyKey, StoredFill, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Fixed facts of one daemon run."""

    account_id: str
    mode: str
    risk_limits: RiskLimits


class Execution:
    """Places and tracks the account's orders; the only writer of orders, fills and positions.

    Parameters
    ----------
    instrument_kind : Callable[[str], InstrumentKind]
        Tick table to use for a symbol (stock or ETF).
    on_stop : Callable[[str], None] | None
        Called once when the daemon enters stop mode (the daemon records it in its state).
    """

    def __init__(
        self,
        *,
        config: ExecutionConfig,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        notifier: Notifier,
        instrument_kind: Callable[[str], InstrumentKind],
        on_stop: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._notifier = notifier
        self._kind = instrument_kind
        self._on_stop = on_stop
        self._lock = asyncio.Lock()
        self.positions: dict[str, Position] = {}
        self.open_orders: dict[int, Order] = {}
        self.stopped_reason: str | None = None
        self.trading_date: date | None = None
        self.start_of_day_equity_krw = Decimal(0)
        self._net_realized_at_open = Decimal(0)
        self._handled_keys: set[str] = set()

    # -- STATE ---------------------------------------------------------------------------------------

    def load(self, positions: Mapping[str, Position], open_orders: list[Order]) -> None:
        """Replace the in-memory state with what the database holds."""
        self.positions = dict(positions)
        self.open_orders = {o.id: o for o in open_orders if o.id is not None}

    def begin_session(
        self, trading_date: date, start_of_day_equity_krw: Decimal, net_realized_before_krw: Decimal | None = None
    ) -> None:
        """Reset the per-session state: stop mode clears, and the daily loss limit counts from
        `net_realized_before_krw` (realized PnL after costs of all fills before `trading_date`; default: now).

        Give it after a restart mid-session, so losses realized earlier that day still count.
        """
        self.trading_date = trading_date
        self.start_of_day_equity_krw = start_of_day_equity_krw
        self._net_realized_at_open = (self._net_realized() if net_realized_before_krw is None
                                      else net_realized_before_krw)
        self.stopped_reason = None
        self._handled_keys.clear()

    def set_start_of_day_equity(self, equity_krw: Decimal) -> None:
        """Set the equity the daily loss limit is a percentage of, KRW."""
        self.start_of_day_equity_krw = equity_krw

    @property
    def realized_pnl_today_krw(self) -> Decimal:
        """Return realized PnL after commission and tax since the session began, KRW."""
        return self._net_realized() - self._net_realized_at_open

    def _net_realized(self) -> Decimal:
        return sum((p.net_realized_pnl_krw for p in self.positions.values()), Decimal(0))

    def risk_state(self) -> RiskState:
        """Return the account as the risk rules see it now."""
        working: dict[str, Decimal] = {}
        for order in self.open_orders.values():
            if order.side is Side.BUY:
                working[order.symbol] = working.get(order.symbol, Decimal(0)) + order.remaining_quantity
        return RiskState(
            positions=self.positions, working_buy_quantity=working,
            realized_pnl_today_krw=self.realized_pnl_today_krw,
            start_of_day_equity_krw=self.start_of_day_equity_krw, stopped=self.stopped_reason is not None,
        )

    # -- COMMANDS ------------------------------------------------------------------------------------

    async def submit(self, signal: Signal) -> Order | None:
        """Turn an allowed signal into an order at the broker; return it, or None when nothing was sent.

        The order row is committed as NEW before the broker is called. A signal whose idempotency key
        exists returns the existing order and sends nothing; so does a second live order for the same
        (strategy, symbol, intent).
        """
        key = self.idempotency_key(signal)
        if key in self._handled_keys:
            return None
        async with self._lock:
            if any((o.strategy_id, o.symbol, o.intent) == (signal.strategy_id, signal.symbol, signal.intent)
                   for o in self.open_orders.values()):
                return None  # one live order per intent; this one is still working
            self._handled_keys.add(key)
            async with self._uow() as uow:
                existing = await uow.orders.get_by_key(key)
            if existing is not None:
                return existing
            order = await self._create_order(signal, key)
            if order is None:
                return None
            await self._send(order)
            async with self._uow() as uow:
                return await uow.orders.get(order.id)  # as it stands after the broker's answer

    def idempotency_key(self, signal: Signal) -> str:
        """Return the order's idempotency key: ``<account>:<signal key>`` (a decision is per account)."""
        return f"{self.config.account_id}:{signal.idempotency_key}"

    async def _create_order(self, signal: Signal, key: str) -> Order | None:
        now = self._clock.now()
        kind = self._kind(signal.symbol)
        limit = None
        if signal.order_type is OrderType.LIMIT:
            limit = round_to_tick(signal.limit_price or signal.reference_price, signal.side, kind)
        quantity = signal.quantity
        if quantity is None:
            assert signal.target_value_krw is not None
            quantity = (signal.target_value_krw / (limit or signal.reference_price)).to_integral_value(ROUND_FLOOR)
        corr = correlation_id_for(key)
        proposal = OrderProposal(signal.symbol, signal.side, signal.intent, quantity, limit or signal.reference_price)
        state = self.risk_state()
        async with self._uow() as uow:
            denial = pre_trade_denial(proposal, state, self.config.risk_limits, await uow.control.get_kill_switch())
            if denial is not None:
                await record_event(
                    uow, self._notifier, ts=now, kind="risk_denied", severity="WARNING",
                    message=f"{signal.symbol} {signal.side} {signal.intent} denied by {denial.rule}: {denial.message}",
                    payload=denial_payload(denial, proposal, state, signal.reason),
                    correlation_id=corr, account_id=self.config.account_id,
                )
                await uow.commit()
                return None
            order = Order(
                idempotency_key=key, account_id=self.config.account_id,
                strategy_id=signal.strategy_id, symbol=signal.symbol, side=signal.side,
                order_type=signal.order_type, quantity=quantity, limit_price=limit, intent=signal.intent,
                reason=signal.reason, trading_date=self.trading_date or kst_date(now), ts_created=now,
                correlation_id=corr, signal_price=signal.reference_price,
            )
            try:
                order = await uow.orders.add(order)
            except DuplicateIdempotencyKey:
                return None
            await record_event(
                uow, self._notifier, ts=now, kind="order_created", severity="INFO",
                message=f"{order.side} {plain(order.quantity)} {order.symbol} {order.order_type}"
                        f"{f' @ {plain(limit)}' if limit else ''}: {order.reason}",
                payload={"order_id": order.id, "idempotency_key": order.idempotency_key},
                correlation_id=corr, account_id=self.config.account_id,
            )
            await uow.commit()
        assert order.id is not None
        self.open_orders[order.id] = order
        return order

    async def _send(self, order: Order) -> None:
        request = OrderRequest(self.config.account_id, order.symbol, order.side, order.order_type,
                               order.quantity, order.limit_price)
        try:
            ack = await self._broker.place_order(request)
        except OrderRejectedByBroker as e:
            rejected = OrderRejected(self._clock.now(), str(e), e.code)
            await self._apply_event(order, rejected, "order_rejected", "WARNING",
                                    f"{order.symbol} order rejected by the broker: {e.code} {e}")
        except (AmbiguousOrderOutcome, TemporaryBrokerError) as e:
            await self._note(order, "order_outcome_unknown", "ERROR",
                             f"{order.symbol} order outcome unknown ({type(e).__name__}: {e}); resolving by inquiry")
            await self._resolve_unknown(order)
        except FatalBrokerError as e:
            await self._note(order, "order_outcome_unknown", "CRITICAL", f"broker refused the session: {e}")
            await self.enter_stop_mode(f"fatal broker error while placing an order: {e}")
        else:
            await self._apply_event(order, OrderAccepted(ack.broker_order_number, ack.ts_accepted, ack.broker_branch),
                              "order_sent", "INFO", f"{order.symbol} order accepted as {ack.broker_order_number}")

    async def _resolve_unknown(self, order: Order) -> None:
        # KIS has no client order id: find our order among the broker's orders of the day by its shape.
        try:
            reports = await self._broker.get_orders(self.config.account_id, order.trading_date)
        except Exception as e:
            await self.enter_stop_mode(f"could not resolve order {order.idempotency_key}: {e}")
            return
        async with self._uow() as uow:
            ours = await uow.orders.list_for_date(self.config.account_id, order.trading_date)
        known = {strip_number(o.broker_order_number) for o in ours if o.broker_order_number}
        matches = [r for r in reports if strip_number(r.broker_order_number) not in known and same_shape(order, r)]
        if len(matches) == 1:
            r = matches[0]
            await self._apply_event(order, OrderAccepted(r.broker_order_number, r.ts_accepted, r.broker_branch),
                              "order_adopted", "WARNING", f"{order.symbol} order found at the broker as "
                              f"{r.broker_order_number}; adopted")
        elif not matches:
            not_placed = OrderCanceled(self._clock.now(), "not placed: no matching order at the broker")
            await self._apply_event(order, not_placed, "order_not_placed", "WARNING",
                                   f"{order.symbol} order never reached the broker")
        else:
            await self.enter_stop_mode(f"{len(matches)} broker orders match order {order.idempotency_key}")

    async def cancel_open_orders(self, reason: str, *, intent: Intent | None = None) -> int:
        """Ask the broker to cancel every working order (of `intent`, if given); return how many were asked.

        NEW orders the broker never acknowledged are left for recovery: cancelling needs a broker number.
        """
        asked = 0
        for order in list(self.open_orders.values()):
            if intent is not None and order.intent is not intent:
                continue
            if order.broker_order_number is None:
                continue
            try:
                await self._broker.cancel_order(self.config.account_id, order.broker_order_number, order.broker_branch)
                asked += 1
            except OrderRejectedByBroker as e:
                await self._note(order, "cancel_rejected", "WARNING", f"{order.symbol} cancel refused: {e}")
            await self.sync_from_broker(order, reason)
        return asked

    async def sync_from_broker(self, order: Order, reason: str) -> None:
        """Bring one open order in line with the broker's report of it (after a cancel, at the close)."""
        if order.id not in self.open_orders or order.broker_order_number is None:
            return
        reports = await self._broker.get_orders(self.config.account_id, order.trading_date)
        number = strip_number(order.broker_order_number)
        report = next((r for r in reports if strip_number(r.broker_order_number) == number), None)
        if report is None:
            return
        for fill in await self._broker.get_fills(self.config.account_id, order.trading_date):
            if strip_number(fill.broker_order_number) == number:
                await self.record_fill(fill, source="recovery")
        current = self.open_orders.get(order.id)
        if current is not None and report.state is BrokerOrderState.CANCELED:
            await self.apply_event(current, OrderCanceled(self._clock.now(), reason), "order_canceled", "INFO",
                                   f"{current.symbol} order {current.broker_order_number} cancelled: {reason}")

    async def enter_stop_mode(self, reason: str) -> None:
        """Stop sending new orders for the rest of the session; record why (idempotent)."""
        if self.stopped_reason is not None:
            return
        self.stopped_reason = reason
        async with self._uow() as uow:
            await record_event(uow, self._notifier, ts=self._clock.now(), kind="stop_mode", severity="CRITICAL",
                               message=f"stop mode: {reason}", account_id=self.config.account_id)
            await uow.commit()
        if self._on_stop is not None:
            await self._on_stop(reason)

    # -- BROKER EVENTS ---------------------------------------------------------------------------------

    async def on_broker_event(self, event: BrokerOrderEvent) -> None:
        """Apply one fill, cancel or reject notice from the broker (idempotent)."""
        async with self._lock:
            match event:
                case FillReport(fill=fill):
                    try:
                        await self._record_fill(fill, source="notice")
                    except StockbotError as e:
                        await self.enter_stop_mode(f"fill {fill.broker_fill_id} does not fit our records: {e}")
                case CancelReport():
                    order = await self._find(event.broker_order_number)
                    if order is not None and order.is_open:
                        await self._apply_event(order, OrderCanceled(event.ts_event, event.reason), "order_canceled",
                                          "INFO", f"{order.symbol} order {order.broker_order_number}: {event.reason}")
                case RejectReport():
                    order = await self._find(event.broker_order_number)
                    if order is not None and order.is_open:
                        await self._apply_event(order, OrderRejected(event.ts_event, event.reason, event.code),
                                          "order_rejected", "WARNING", f"{order.symbol} rejected: {event.reason}")
        if (self.stopped_reason is None and self.start_of_day_equity_krw > 0
                and daily_loss_limit_breached(self.risk_state(), self.config.risk_limits)):
            await self.enter_stop_mode(f"daily loss limit: realized {self.realized_pnl_today_krw:.0f} KRW today")
            await self.cancel_open_orders("daily loss limit reached", intent=Intent.ENTRY)

    async def record_fill(self, fill: Fill, *, source: str) -> bool:
        """Record a fill once (by broker fill id) with its order and position in one transaction (serialised).

        Returns
        -------
        bool
            False when the fill was already recorded (a duplicate notice, or seen by both WS and REST).
        """
        async with self._lock:
            return await self._record_fill(fill, source=source)

    async def _record_fill(self, fill: Fill, *, source: str) -> bool:
        # The caller holds self._lock.
        order = await self._find(fill.broker_order_number)
        now = self._clock.now()
        async with self._uow() as uow:
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
                payload={"broker_fill_id": fill.broker_fill_id, "source": source,
                         "commission_krw": fill.commission_krw, "tax_krw": fill.tax_krw},
                correlation_id=corr, account_id=self.config.account_id,
            )
            await uow.commit()
        self.positions[fill.symbol] = position
        if updated is not None:
            self._remember(updated)
        return True

    # -- INTERNALS -----------------------------------------------------------------------------------

    async def _find(self, broker_order_number: str) -> Order | None:
        number = strip_number(broker_order_number)
        for order in self.open_orders.values():
            if order.broker_order_number and strip_number(order.broker_order_number) == number:
                return order
        async with self._uow() as uow:
            return await uow.orders.get_by_broker_number(self.config.account_id, broker_order_number)

    async def apply_event(self, order: Order, event: OrderEvent, kind: str, severity: str, message: str) -> None:
        """Apply a broker event to `order`, persist it with an event row, then update memory (serialised)."""
        async with self._lock:
            await self._apply_event(order, event, kind, severity, message)

    async def _apply_event(self, order: Order, event: OrderEvent, kind: str, severity: str, message: str) -> None:
        # The caller holds self._lock; the newest in-memory copy of the order is the one changed.
        order = self.open_orders.get(order.id or -1, order)
        updated = copy.deepcopy(order)
        updated.apply(event)
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.orders.update(updated, now)
            await record_event(uow, self._notifier, ts=now, kind=kind, severity=severity, message=message,
                               payload={"order_id": updated.id, "status": updated.status.value,
                                        "broker_order_number": updated.broker_order_number},
                               correlation_id=updated.correlation_id, account_id=self.config.account_id)
            await uow.commit()
        self._remember(updated)

    async def _note(self, order: Order, kind: str, severity: str, message: str) -> None:
        async with self._uow() as uow:
            await record_event(uow, self._notifier, ts=self._clock.now(), kind=kind, severity=severity,
                               message=message, payload={"order_id": order.id},
                               correlation_id=order.correlation_id, account_id=self.config.account_id)
            await uow.commit()

    def _remember(self, order: Order) -> None:
        assert order.id is not None
        if order.is_open:
            self.open_orders[order.id] = order
        else:
            self.open_orders.pop(order.id, None)
