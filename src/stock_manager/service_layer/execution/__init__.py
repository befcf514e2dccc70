"""Execution: the only writer of orders, fills and positions.

The order path: signal → risk → order committed as NEW → the last check → broker → SENT/REJECTED; the way
back: broker fills, cancels and rejects → order, fill and position, each change one transaction. State kept
in memory (positions, open orders) mirrors the database and is replaced only after a commit.

Order modes (spec 001 §2): ``send``; ``observe`` (every step runs, the order is recorded as a would-be order
in ``observed_orders`` and never sent); ``stop`` (stop mode from the start: nothing new is sent).

`Execution` is the public face; the work is done by collaborators sharing one `ExecutionState`:
`OrderLedger` (find and change orders), `Safety` (stop mode, the kill switch, the daily loss stop),
`FillRecorder` (fills and the venue's totals), `BrokerDialogue` (unknown outcomes, cancels, notices) and
`OrderPlacement` (the order path, observe mode, flatten).
"""

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.clock import Clock
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent
from stock_manager.domain.modes import OrderMode
from stock_manager.domain.orders import Order, OrderEvent
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import RiskLimits, RiskState
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.execution.dialogue import BrokerDialogue
from stock_manager.service_layer.execution.fills import FillRecorder, keep_recent_coverage
from stock_manager.service_layer.execution.ledger import OrderLedger
from stock_manager.service_layer.execution.placement import OrderPlacement, client_order_id_for
from stock_manager.service_layer.execution.safety import Safety
from stock_manager.service_layer.execution.state import ExecutionConfig, ExecutionPorts, ExecutionState
from stock_manager.service_layer.kill_switch import KillSwitch
from stock_manager.service_layer.ports.broker import Broker, BrokerOrderEvent
from stock_manager.service_layer.ports.metrics import Metrics, NullMetrics
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory
from stock_manager.service_layer.ports.venue import VenueProfile
from stock_manager.service_layer.risk_book import RiskBook

__all__ = ["Execution", "ExecutionConfig", "client_order_id_for"]


class Execution:
    """Places and tracks the account's orders; the only writer of orders, fills and positions.

    Parameters
    ----------
    venue : VenueProfile
        Instruments (price grid and size rules), the trading day and the venue's fill identity.
    kill_switch : KillSwitch | None
        The process's latched kill switch, shared with the daemon (a new one when None).
    on_stop : Callable[[str], Awaitable[None]] | None
        Called once when the daemon enters stop mode (the daemon records it in its state).
    metrics : Metrics | None
        Where order latency, outcomes, fills and slippage are counted (default: nowhere).
    """

    def __init__(
        self,
        *,
        config: ExecutionConfig,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        notifier: Notifier,
        venue: VenueProfile,
        kill_switch: KillSwitch | None = None,
        on_stop: Callable[[str], Awaitable[None]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.kill_switch = kill_switch or KillSwitch()
        self.state = ExecutionState(config=config, limits=config.risk_limits)
        self.ports = ExecutionPorts(
            uow=uow_factory,
            broker=broker,
            clock=clock,
            notifier=notifier,
            metrics=metrics or NullMetrics(),
            venue=venue,
            kill_switch=self.kill_switch,
            on_stop=on_stop,
        )
        self.ledger = OrderLedger(self.state, self.ports)
        self.safety = Safety(self.state, self.ports)
        self.fills = FillRecorder(self.state, self.ports, self.ledger, self.safety)
        self.dialogue = BrokerDialogue(self.state, self.ports, self.ledger, self.fills, self.safety)
        self.placement = OrderPlacement(self.state, self.ports, self.ledger, self.safety, self.dialogue)
        self.safety.cancel_entries = lambda reason: self.dialogue.cancel_open_orders(reason, intent=Intent.ENTRY)

    # -- STATE ---------------------------------------------------------------------------------------

    @property
    def positions(self) -> dict[str, Position]:
        """Return the positions by symbol (as committed)."""
        return self.state.positions

    @positions.setter
    def positions(self, positions: dict[str, Position]) -> None:
        self.state.positions = positions

    @property
    def open_orders(self) -> dict[int, Order]:
        """Return the working orders by id (as committed)."""
        return self.state.open_orders

    @open_orders.setter
    def open_orders(self, orders: dict[int, Order]) -> None:
        self.state.open_orders = orders

    @property
    def stopped_reason(self) -> str | None:
        """Return why the session is in stop mode, or None."""
        return self.state.stopped_reason

    @property
    def kill_reason(self) -> str | None:
        """Return why the kill switch is tripped, or None."""
        return self.kill_switch.reason

    @property
    def loss_limit_hit(self) -> bool:
        """Return True once today's loss reached the daily limit."""
        return self.state.loss_limit_hit

    @property
    def limits(self) -> RiskLimits:
        """Return the risk limits in force."""
        return self.state.limits

    @property
    def book(self) -> RiskBook:
        """Return the per-session inputs of the risk rules."""
        return self.state.book

    @property
    def trading_date(self) -> date | None:
        """Return the session's trading date (None before the first session)."""
        return self.state.trading_date

    @property
    def start_of_day_equity_krw(self) -> Decimal:
        """Return the equity the daily loss limit is a percentage of, KRW."""
        return self.state.start_of_day_equity_krw

    @property
    def realized_pnl_today_krw(self) -> Decimal:
        """Return realized PnL after commission and tax since the session began, KRW."""
        return self.state.realized_pnl_today_krw

    def load(
        self,
        positions: Mapping[str, Position],
        open_orders: list[Order],
        strategy_positions: Mapping[tuple[str, str], Position] | None = None,
    ) -> None:
        """Replace the in-memory state with what the database holds; `strategy_positions` (by strategy and
        symbol) where several strategies share the account."""
        self.state.positions = dict(positions)
        self.state.open_orders = {o.id: o for o in open_orders if o.id is not None}
        self.state.strategy_positions = None if strategy_positions is None else dict(strategy_positions)

    def strategy_position(self, strategy_id: str, symbol: str) -> Position | None:
        """Return what `strategy_id` holds of `symbol`: its own fills' fold where several strategies share the
        account (flat whenever the account is), else the account's position."""
        own = self.state.strategy_positions
        if own is None:
            return self.state.positions.get(symbol)
        account = self.state.positions.get(symbol)
        if account is None or account.is_flat:
            return None
        return own.get((strategy_id, symbol))

    def begin_session(
        self,
        trading_date: date,
        start_of_day_equity_krw: Decimal,
        net_realized_before_krw: Decimal | None = None,
        *,
        session: TradingSession | None = None,
        limits: RiskLimits | None = None,
    ) -> None:
        """Reset the per-session state: stop mode clears, and the daily loss limit counts from
        `net_realized_before_krw` (realized PnL after costs of all fills before `trading_date`; default: now).

        Give it after a restart mid-session, so losses realized earlier that day still count. `session` gives
        the phases (without it no order passes the session-phase rule); `limits` replace the limits in force
        (the effective limits read at the open). With ``order_mode=stop``, or once the kill switch was seen, the
        session starts in stop mode.
        """
        state = self.state
        # A late notice of the previous session's orders may still come: keep what its totals covered.
        state.rest_covered = keep_recent_coverage(state.rest_covered, state.trading_date or trading_date)
        state.trading_date = trading_date
        state.start_of_day_equity_krw = start_of_day_equity_krw
        state.net_realized_at_open = (
            state.net_realized() if net_realized_before_krw is None else net_realized_before_krw
        )
        state.stopped_reason = None
        if self.config.order_mode is OrderMode.STOP:
            state.stopped_reason = "ORDER_MODE=stop: monitoring and recording only"
        if self.kill_switch.reason is not None:
            state.stopped_reason = f"kill switch: {self.kill_switch.reason}"
        state.loss_limit_hit = False
        if limits is not None:
            state.limits = limits
        state.book.begin_session(session)
        state.handled_keys.clear()
        state.notice_refs.clear()
        state.deficits_seen.clear()
        state.cancels_taken.clear()

    def note_quote(
        self, symbol: str, price: Decimal, ts: datetime, lower: Decimal | None = None, upper: Decimal | None = None
    ) -> None:
        """Record the newest price of `symbol` (a tick or a quote; KRW at aware `ts`) and the day's limits."""
        self.state.book.note_quote(symbol, price, ts, lower, upper)

    def request_kill(self, reason: str) -> None:
        """Note that the kill switch is set: nothing more is sent."""
        self.kill_switch.trip(reason)

    def set_start_of_day_equity(self, equity_krw: Decimal) -> None:
        """Set the equity the daily loss limit is a percentage of, KRW."""
        self.state.start_of_day_equity_krw = equity_krw

    def risk_state(self) -> RiskState:
        """Return the account and the market as the risk rules see them now."""
        return self.state.risk_state(self.ports.clock.now(), self.kill_switch)

    # -- COMMANDS ------------------------------------------------------------------------------------

    async def submit(self, signal: Signal) -> Order | None:
        """Turn an allowed signal into an order at the venue (see `OrderPlacement.submit`)."""
        return await self.placement.submit(signal)

    def idempotency_key(self, signal: Signal) -> str:
        """Return the order's idempotency key: ``<account>:<signal key>``."""
        return self.placement.idempotency_key(signal)

    async def flatten(self, reason: str) -> list[Order]:
        """Sell every held position at market (see `OrderPlacement.flatten`)."""
        return await self.placement.flatten(reason)

    async def enter_stop_mode(self, reason: str, *, rule: str = "stop_mode") -> None:
        """Stop sending new orders for the rest of the session; record why (idempotent)."""
        await self.safety.enter_stop_mode(reason, rule=rule)

    async def trip_kill_switch(self, rule: str, reason: str, *, action: str = "halt") -> None:
        """Set the latched kill switch from the daemon, then stop (see `Safety.trip_kill_switch`)."""
        await self.safety.trip_kill_switch(rule, reason, action=action)

    async def check_daily_loss(self) -> None:
        """Enter stop mode and cancel working entries once today's loss reaches the limit."""
        await self.safety.check_daily_loss()

    async def quiesce(self, timeout_secs: float) -> bool:
        """Wait until no order submission is under way; return False on timeout."""
        return await self.safety.quiesce(timeout_secs)

    async def apply_event(self, order: Order, event: OrderEvent, kind: str, severity: str, message: str) -> None:
        """Apply a broker event to `order`, persist it with an event row, then update memory (serialised)."""
        await self.ledger.apply_event(order, event, kind, severity, message)

    async def record_fill(self, fill: Fill, *, source: str) -> bool:
        """Record a fill once with its order and position (see `FillRecorder.record_fill`)."""
        return await self.fills.record_fill(fill, source=source)

    async def record_missing_fills(
        self, trading_date: date, broker_order_number: str, broker_fills: list[Fill], *, confirmed: bool = True
    ) -> int:
        """Record the executions of one venue order beyond ours; return how many."""
        return await self.fills.record_missing_fills(
            trading_date, broker_order_number, broker_fills, confirmed=confirmed
        )

    async def sync_from_broker(self, order: Order, reason: str, *, confirmed: bool = True) -> None:
        """Bring one open order in line with the venue's report of it."""
        await self.fills.sync_from_broker(order, reason, confirmed=confirmed)

    async def reconcile_open_orders(self, reason: str, *, confirmed: bool = True) -> None:
        """Bring every working order in line with the venue (after a stream gap, and periodically)."""
        await self.fills.reconcile_open_orders(reason, confirmed=confirmed)

    async def cancel_open_orders(self, reason: str, *, intent: Intent | None = None) -> int:
        """Ask the venue to cancel every working order (see `BrokerDialogue.cancel_open_orders`)."""
        return await self.dialogue.cancel_open_orders(reason, intent=intent)

    async def on_broker_event(self, event: BrokerOrderEvent) -> None:
        """Apply one fill, cancel or reject notice from the venue (idempotent)."""
        await self.dialogue.on_broker_event(event)

    async def resync_from_database(self) -> None:
        """Reload working orders and positions from the database, then settle any order whose send was cut off.

        The kill switch stops the session task wherever it is, possibly between an order's commit and the
        in-memory copy, or between the broker call and its answer. The database is the source of truth:
        memory is rebuilt from it, and a NEW order (sent or not, nobody knows) is resolved by inquiry
        (adopted, or marked not placed) so that cancel-open and flatten see every order the venue may hold.
        """
        state = self.state
        async with state.lock:
            async with self.ports.uow() as uow:
                open_orders = await uow.orders.list_open(state.account_id)
                positions = await uow.positions.list_all(state.account_id)
            state.open_orders = {o.id: o for o in open_orders if o.id is not None}
            state.positions = {p.symbol: p for p in positions}
            for order in [o for o in state.open_orders.values() if o.broker_order_number is None]:
                await self.dialogue.resolve_unknown(order)
