"""The order path: signal → risk → order committed as NEW → kill-switch check → broker → SENT/REJECTED; and
the way back: broker fills, cancels and rejects → order, fill and position, each change one transaction.

State kept in memory (positions, open orders) mirrors the database and is replaced only after a commit.
Order modes (spec 001 §2): ``send``; ``observe`` (every step runs, the order is recorded as a would-be order
in ``observed_orders`` and never sent); ``stop`` (stop mode from the start: nothing new is sent).
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

import structlog

from stock_manager.domain.clock import Clock, kst_date
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)
from stock_manager.domain.market_rules import round_to_tick
from stock_manager.domain.model import InstrumentKind, OrderType
from stock_manager.domain.orders import Order, OrderAccepted, OrderCanceled, OrderEvent, OrderRejected
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import OrderProposal, RiskDenial, RiskLimits, RiskState
from stock_manager.domain.sessions import SessionHours
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.broker_dialogue import BrokerDialogue
from stock_manager.service_layer.broker_port import (
    Broker,
    OrderRequest,
)
from stock_manager.service_layer.events import correlation_id_for, plain, record_event
from stock_manager.service_layer.execution_safety import ExecutionSafety, order_risk_record
from stock_manager.service_layer.fill_recording import FillRecording
from stock_manager.service_layer.metrics_port import Metrics, NullMetrics
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.reconciliation import strip_number
from stock_manager.service_layer.risk_book import RiskBook
from stock_manager.service_layer.risk_gate import denial_payload, pre_trade_denial, record_risk_decision
from stock_manager.service_layer.storage_port import DuplicateIdempotencyKey, UnitOfWorkFactory

log = structlog.get_logger("stockbot.execution")

#: ExecutionConfig.order_mode values.
ORDER_MODES = ("send", "observe", "stop")


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Fixed facts of one daemon run."""

    account_id: str
    mode: str
    risk_limits: RiskLimits
    order_mode: str = "send"


class Execution(BrokerDialogue, FillRecording, ExecutionSafety):
    """Places and tracks the account's orders; the only writer of orders, fills and positions.

    Parameters
    ----------
    instrument_kind : Callable[[str], InstrumentKind]
        Tick table to use for a symbol (stock or ETF).
    on_stop : Callable[[str], None] | None
        Called once when the daemon enters stop mode (the daemon records it in its state).
    metrics : Metrics | None
        Where order latency, outcomes, fills and slippage are counted (default: nowhere).
    on_kill : Callable[[str], Awaitable[None]] | None
        Called when execution itself sets the kill switch (repeated broker failures, the daily loss limit).
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
        metrics: Metrics | None = None,
        on_kill: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._notifier = notifier
        self._kind = instrument_kind
        self._on_stop = on_stop
        self._metrics: Metrics = metrics or NullMetrics()
        self._on_kill = on_kill
        self.limits = config.risk_limits
        self.book = RiskBook()
        self.kill_reason: str | None = None  # set once the kill switch is known to be set; latched
        self.loss_limit_hit = False
        self._lock = asyncio.Lock()
        self.positions: dict[str, Position] = {}
        self.open_orders: dict[int, Order] = {}
        self.stopped_reason: str | None = None
        self.trading_date: date | None = None
        self.start_of_day_equity_krw = Decimal(0)
        self._net_realized_at_open = Decimal(0)
        self._handled_keys: set[str] = set()
        self._in_flight = 0  # submits under way (they may run in a broker's stream task, not the session's)
        self._idle = asyncio.Event()
        self._idle.set()
        self._notice_refs: set[str] = set()  # the adapters' ids of notices already applied this session
        self._deficits_seen: dict[str, Decimal] = {}  # order → broker's executed qty at the last unconfirmed look
        # (order's day, order) → (shares recorded from the broker's totals that no notice has reported yet,
        # market time they were read)
        self._rest_covered: dict[tuple[date, str], tuple[Decimal, datetime]] = {}
        self._cancels_taken: set[int] = set()  # orders whose cancel the broker accepted this session

    # -- STATE ---------------------------------------------------------------------------------------

    def load(self, positions: Mapping[str, Position], open_orders: list[Order]) -> None:
        """Replace the in-memory state with what the database holds."""
        self.positions = dict(positions)
        self.open_orders = {o.id: o for o in open_orders if o.id is not None}

    def begin_session(
        self, trading_date: date, start_of_day_equity_krw: Decimal, net_realized_before_krw: Decimal | None = None,
        *, hours: SessionHours | None = None, limits: RiskLimits | None = None,
    ) -> None:
        """Reset the per-session state: stop mode clears, and the daily loss limit counts from
        `net_realized_before_krw` (realized PnL after costs of all fills before `trading_date`; default: now).

        Give it after a restart mid-session, so losses realized earlier that day still count. `hours` are the
        session's open and close (without them no order passes the session-phase rule); `limits` replace the
        limits in force (the effective limits read at the open). With ``order_mode="stop"``, or once the kill
        switch was seen, the session starts in stop mode.
        """
        # A late notice of the previous session's orders may still come: keep what its totals covered.
        previous = self.trading_date or trading_date
        self._rest_covered = {key: value for key, value in self._rest_covered.items() if key[0] >= previous}
        self.trading_date = trading_date
        self.start_of_day_equity_krw = start_of_day_equity_krw
        self._net_realized_at_open = (self._net_realized() if net_realized_before_krw is None
                                      else net_realized_before_krw)
        self.stopped_reason = None
        if self.config.order_mode == "stop":
            self.stopped_reason = "ORDER_MODE=stop: monitoring and recording only"
        if self.kill_reason is not None:
            self.stopped_reason = f"kill switch: {self.kill_reason}"
        self.loss_limit_hit = False
        if limits is not None:
            self.limits = limits
        self.book.begin_session(hours)
        self._handled_keys.clear()
        self._notice_refs.clear()
        self._deficits_seen.clear()
        self._cancels_taken.clear()

    def note_quote(self, symbol: str, price: Decimal, ts: datetime, lower: Decimal | None = None,
                   upper: Decimal | None = None) -> None:
        """Record the newest price of `symbol` (a tick or a quote; KRW at aware `ts`) and the day's limits."""
        self.book.note_quote(symbol, price, ts, lower, upper)

    def request_kill(self, reason: str) -> None:
        """Note that the kill switch is set (the daemon's watcher calls this): nothing more is sent."""
        self.kill_reason = self.kill_reason or reason

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
        """Return the account and the market as the risk rules see them now."""
        return self.book.state(
            now=self._clock.now(), positions=self.positions, open_orders=self.open_orders.values(),
            realized_pnl_today_krw=self.realized_pnl_today_krw, start_of_day_equity_krw=self.start_of_day_equity_krw,
            stopped=self.stopped_reason is not None or self.kill_reason is not None,
        )

    # -- COMMANDS ------------------------------------------------------------------------------------

    async def submit(self, signal: Signal) -> Order | None:
        """Turn an allowed signal into an order at the broker; return it, or None when nothing was sent.

        The order row is committed as NEW before the broker is called. A signal whose idempotency key
        exists returns the existing order and sends nothing; so does a second live order for the same
        (strategy, symbol, intent). Every log line written meanwhile carries the decision's correlation id.
        """
        key = self.idempotency_key(signal)
        if key in self._handled_keys:
            return None
        self._in_flight += 1
        self._idle.clear()
        try:
            with structlog.contextvars.bound_contextvars(correlation_id=correlation_id_for(key)):
                return await self._submit(signal, key)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _submit(self, signal: Signal, key: str) -> Order | None:
        async with self._lock:
            if any((o.strategy_id, o.symbol, o.intent) == (signal.strategy_id, signal.symbol, signal.intent)
                   for o in self.open_orders.values()):
                return None  # one live order per intent; this one is still working
            self._handled_keys.add(key)
            async with self._uow() as uow:
                existing = await uow.orders.get_by_key(key)
            if existing is not None:
                return existing
            log.info("signal", symbol=signal.symbol, side=str(signal.side), intent=str(signal.intent),
                     reference_price=str(signal.reference_price), reason=signal.reason)
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
        proposal = OrderProposal(signal.symbol, signal.side, signal.intent, quantity, limit or signal.reference_price,
                                 signal.order_type)
        state = self.risk_state()
        try:
            async with self._uow() as uow:
                switch = await uow.control.get_kill_switch()
            denial = pre_trade_denial(proposal, state, self.limits, switch)
        except Exception as e:  # a risk check that cannot run means no order
            denial = RiskDenial("risk_check_failed", f"the pre-trade checks failed ({type(e).__name__}: {e})")
        if denial is not None:
            async with self._uow() as uow:
                await record_risk_decision(
                    uow, self._notifier, ts=now, rule=denial.rule, decision="DENY",
                    message=f"{signal.symbol} {signal.side} {signal.intent} denied by {denial.rule}: {denial.message}",
                    snapshot=denial_payload(denial, proposal, state, signal.reason), account_id=self.config.account_id,
                    symbol=signal.symbol, correlation_id=corr,
                )
                await uow.commit()
            return None
        self.book.note_order(now)
        if self.config.order_mode == "observe":
            await self._observe(signal, key, corr, quantity, limit, now)
            return None
        async with self._uow() as uow:
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
                payload={"order_id": order.id, "idempotency_key": order.idempotency_key, "reason": order.reason,
                         "signal_price": signal.reference_price},
                correlation_id=corr, account_id=self.config.account_id,
            )
            await uow.commit()
        assert order.id is not None
        self.open_orders[order.id] = order
        return order

    async def _send(self, order: Order, *, flatten: bool = False) -> None:
        blocker = await self._send_blocker(flatten=flatten)
        if blocker is not None:
            await self._apply_event(order, OrderCanceled(self._clock.now(), f"not sent: {blocker}"), "order_not_sent",
                                    "WARNING", f"{order.symbol} order not sent: {blocker}")
            async with self._uow() as uow:
                await uow.risk.add_event(order_risk_record(self._clock.now(), "kill_switch", "DENY",
                                                   f"{order.symbol} order not sent: {blocker}", order))
                await uow.commit()
            return
        request = OrderRequest(self.config.account_id, order.symbol, order.side, order.order_type,
                               order.quantity, order.limit_price)
        timer = self._metrics.order_timer()
        try:
            ack = await self._broker.place_order(request)
        except OrderRejectedByBroker as e:
            timer.done("rejected")
            self.book.note_failed_order(order.symbol, self._clock.now())
            self.book.broker_failures = 0  # the broker answered
            rejected = OrderRejected(self._clock.now(), str(e), e.code)
            await self._apply_event(order, rejected, "order_rejected", "WARNING",
                                    f"{order.symbol} order rejected by the broker: {e.code} {e}")
        except (AmbiguousOrderOutcome, TemporaryBrokerError) as e:
            timer.done("unknown")
            self._note_broker_failure(order)
            await self._note(order, "order_outcome_unknown", "ERROR",
                             f"{order.symbol} order outcome unknown ({type(e).__name__}: {e}); resolving by inquiry")
            await self._resolve_unknown(order)
            await self._trip_on_broker_failures(e)
        except FatalBrokerError as e:
            timer.done("fatal")
            self._note_broker_failure(order)
            await self._note(order, "order_outcome_unknown", "CRITICAL", f"broker refused the session: {e}")
            await self.enter_stop_mode(f"fatal broker error while placing an order: {e}", rule="broker_failure")
            await self._trip_on_broker_failures(e)
        else:
            timer.done("sent")
            self._metrics.order_accepted(order.side.value, order.quantity)
            self.book.note_accepted_order(order.symbol)
            await self._apply_event(order, OrderAccepted(ack.broker_order_number, ack.ts_accepted, ack.broker_branch),
                              "order_sent", "INFO", f"{order.symbol} order accepted as {ack.broker_order_number}")

    async def enter_stop_mode(self, reason: str, *, rule: str = "stop_mode") -> None:
        """Stop sending new orders for the rest of the session; record why (an event and a STOP risk decision
        naming `rule`; idempotent)."""
        await self._stop_locked(reason, rule=rule)

    async def _stop_locked(self, reason: str, *, rule: str = "stop_mode") -> None:
        # Safe with or without self._lock held: it writes only an event and the daemon's state.
        if self.stopped_reason is not None:
            return
        self.stopped_reason = reason
        async with self._uow() as uow:
            await record_risk_decision(uow, self._notifier, ts=self._clock.now(), rule=rule, decision="STOP",
                                       message=f"stop mode: {reason}", snapshot={"reason": reason},
                                       account_id=self.config.account_id, event_kind="stop_mode",
                                       severity="CRITICAL")
            await uow.commit()
        if self._on_stop is not None:
            await self._on_stop(reason)

    # -- INTERNALS -----------------------------------------------------------------------------------

    async def _find(self, broker_order_number: str, day: date | None = None) -> Order | None:
        # Broker numbers restart every session: with `day` (the notice's KST date), only that day's order.
        number = strip_number(broker_order_number)
        for order in self.open_orders.values():
            if (order.broker_order_number and strip_number(order.broker_order_number) == number
                    and day in (None, order.trading_date)):
                return order
        async with self._uow() as uow:
            return await uow.orders.get_by_broker_number(self.config.account_id, broker_order_number, day)

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
