"""The backtest's trading desk: the order path, the account it books fills into, and the daily loss stop.

A collaborator of the backtest's replay (`research.engine`), which decides when something happens; the desk
does what the daemon's execution does then, in memory and synchronously:

* `submit` is `service_layer.execution.placement`'s `OrderPlacement.submit`: one decision per idempotency key
  (a key already used by an order is never sent again, a key handled this session is not tried again), one
  live order per (strategy, symbol, intent), the limit rounded onto the instrument's grid, the quantity sized
  on its size grid, then `pre_trade_denial` with the `RiskState` the `RiskBook` builds; a denial is kept as a
  `Denial`, an allowed order counts for the rate throttle and goes to the `MatchingEngine`;
* `on_fill` is the fill recorder: the order's progress, the position (`Position.apply_fill`), the running
  realized PnL after costs, the held position's stop-loss/take-profit thresholds;
* `check_daily_loss` is `Safety.check_daily_loss`: once a session, stop mode and the cancel of the working
  entries when today's loss reaches the limit.

Money in KRW as `Decimal`.
"""

from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.model import Intent, OrderType, Side, TimeInForce
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import OrderProposal, RiskLimits, RiskState, daily_loss_limit_breached
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID
from stock_manager.research.records import BtOrder, Denial
from stock_manager.research.schedule import EventSchedule
from stock_manager.service_layer.ports.broker import OrderRequest
from stock_manager.service_layer.ports.records import KillSwitchState
from stock_manager.service_layer.risk_book import RiskBook
from stock_manager.service_layer.risk_gate import pre_trade_denial


class TradingDesk:
    """One backtest's orders, fills, denials and positions, and the session's stop mode (module docstring).

    Parameters
    ----------
    account_id : str
        The account the orders are sent for (and the prefix of their idempotency keys).
    engine : MatchingEngine
        The simulated venue the allowed orders go to.
    instruments : dict[str, Instrument]
        The traded instruments by symbol (price and size grids).
    limits : RiskLimits
        The risk limits of every session.
    schedule : EventSchedule | None
        The replay's event calendar (a held position's stop-loss/take-profit thresholds); None where the
        replay plays every print (`research.intraday`).
    time_in_force : TimeInForce
        The venue profile's ``default_time_in_force`` (KRX: DAY; Upbit: GTC, orders live across sessions).
    per_strategy : bool
        Keep each (strategy, symbol)'s own position (`strategy_position`), as execution does where several
        strategies share the account.
    """

    def __init__(
        self,
        account_id: str,
        engine: MatchingEngine,
        instruments: dict[str, Instrument],
        limits: RiskLimits,
        schedule: EventSchedule | None,
        start_equity_krw: Decimal,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        per_strategy: bool = False,
    ) -> None:
        self.account_id = account_id
        self.engine = engine
        self.instruments = instruments
        self.limits = limits
        self.schedule = schedule
        self.book = RiskBook()
        self.time_in_force = time_in_force
        self.positions: dict[str, Position] = {}
        self.strategy_positions: dict[tuple[str, str], Position] | None = {} if per_strategy else None
        self.open_orders: dict[str, BtOrder] = {}  # by broker order number
        self.orders: list[BtOrder] = []
        self.fills: list[Fill] = []
        self.denials: list[Denial] = []
        self.used_keys: set[str] = set()  # keys of created orders (the orders table's UNIQUE key)
        self.handled: set[str] = set()  # keys handled this session
        self.stopped: str | None = None
        self.loss_hit = False
        self.kill_reason: str | None = None
        self.start_equity = start_equity_krw
        self.net_at_open = Decimal(0)
        self.net_realized_total = Decimal(0)
        self.trading_date: date | None = None
        self.thresholds: dict[str, tuple[float, float]] = {}  # held symbol → (stop, take) screen, floats
        self._exit_keys: dict[tuple[str, datetime], str] = {}

    def begin_session(self, session: TradingSession, start_equity_krw: Decimal) -> None:
        """Start `session` (Execution.begin_session): stop mode clears unless the kill switch is latched."""
        self.trading_date = session.trading_date
        self.book.begin_session(session)
        self.handled.clear()
        self.stopped = None
        self.loss_hit = False
        self.start_equity = start_equity_krw
        self.net_at_open = self.net_realized()

    # -- THE ORDER PATH (OrderPlacement.submit) ----------------------------------------------------------

    def submit(self, signal: Signal, now: datetime) -> None:
        """Turn `signal` into an order at `now`, or a `Denial`, or nothing (a key already handled or used)."""
        key = f"{self.account_id}:{signal.idempotency_key}"
        if key in self.handled:
            return
        if any(
            (o.strategy_id, o.symbol, o.intent) == (signal.strategy_id, signal.symbol, signal.intent)
            for o in self.open_orders.values()
        ):
            return  # one live order per intent
        self.handled.add(key)
        if key in self.used_keys:
            return  # an order with this key exists: the decision was taken already
        instrument = self.instruments[signal.symbol]
        limit = None
        if signal.order_type is OrderType.LIMIT:
            limit = instrument.round_price(signal.limit_price or signal.reference_price, signal.side)
        quantity = signal.quantity
        if quantity is None:
            assert signal.target_value_krw is not None
            quantity = instrument.floor_quantity(signal.target_value_krw / (limit or signal.reference_price))
        proposal = OrderProposal(
            signal.symbol, signal.side, signal.intent, quantity, limit or signal.reference_price, signal.order_type
        )
        risk = self.book.state(
            now=now,
            positions=self.positions,
            open_orders=self.open_orders.values(),  # type: ignore[arg-type]
            realized_pnl_today_krw=self.net_realized() - self.net_at_open,
            start_of_day_equity_krw=self.start_equity,
            stopped=self.stopped is not None or self.kill_reason is not None,
        )
        switch = KillSwitchState(self.kill_reason is not None, self.kill_reason or "", "daemon", None)
        denial = pre_trade_denial(proposal, risk, self.limits, switch, instrument)
        if denial is not None:
            assert self.trading_date is not None
            self.denials.append(
                Denial(
                    now,
                    self.trading_date,
                    signal.symbol,
                    signal.side,
                    signal.intent,
                    quantity,
                    denial.rule,
                    denial.message,
                )
            )
            return
        self.book.note_order(now)
        assert self.trading_date is not None
        order = BtOrder(
            key,
            signal.strategy_id,
            signal.symbol,
            signal.side,
            signal.intent,
            signal.order_type,
            quantity,
            limit,
            signal.reference_price,
            signal.reason,
            self.trading_date,
            now,
        )
        self.used_keys.add(key)
        self.orders.append(order)
        request = OrderRequest(
            self.account_id, order.symbol, order.side, order.order_type, quantity, limit, None, self.time_in_force
        )
        try:
            ack = self.engine.submit(request, now)
        except OrderRejectedByBroker as e:
            self.book.note_failed_order(order.symbol, now)
            self.book.broker_failures = 0
            order.status, order.note = "REJECTED", f"{e.code} {e}"
            return
        self.book.note_accepted_order(order.symbol)
        order.status, order.broker_order_number = "SENT", ack.broker_order_number
        self.open_orders[ack.broker_order_number] = order

    def tick_exit_key(self, symbol: str, ts_decision: datetime) -> str:
        """Return the idempotency key every stop-loss / take-profit signal of `symbol` carries this session."""
        key = (symbol, ts_decision)
        if key not in self._exit_keys:
            probe = Signal(
                STRATEGY_ID,
                symbol,
                Side.SELL,
                Intent.EXIT,
                OrderType.MARKET,
                Decimal(1),
                ts_decision,
                "",
                quantity=Decimal(1),
            )
            self._exit_keys[key] = f"{self.account_id}:{probe.idempotency_key}"
        return self._exit_keys[key]

    # -- THE ACCOUNT ------------------------------------------------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        """Book `fill`: its order's progress, the position, the realized PnL, the thresholds; then the loss stop."""
        order = self.open_orders[fill.broker_order_number]
        order.filled_quantity += fill.quantity
        order.filled_amount_krw += fill.quantity * fill.price
        if order.filled_quantity == order.quantity:
            order.status = "FILLED"
            del self.open_orders[fill.broker_order_number]
        else:
            order.status = "PARTIAL"
        before = self.positions.get(fill.symbol) or Position(self.account_id, fill.symbol)
        position = before.apply_fill(fill)
        self.net_realized_total += position.net_realized_pnl_krw - before.net_realized_pnl_krw
        self.positions[fill.symbol] = position
        if self.strategy_positions is not None:  # FillRecorder: the strategy's own fold of its orders' fills
            key = (order.strategy_id, fill.symbol)
            own = self.strategy_positions.get(key) or Position(self.account_id, fill.symbol)
            self.strategy_positions[key] = own.apply_fill(fill)
        band = self.schedule.thresholds(position) if self.schedule is not None else None
        if band is None:
            self.thresholds.pop(fill.symbol, None)
        else:
            self.thresholds[fill.symbol] = band
        self.fills.append(fill)
        self.check_daily_loss(fill.ts_filled)

    def strategy_position(self, strategy_id: str, symbol: str) -> Position | None:
        """Return what `strategy_id` holds of `symbol` (`Execution.strategy_position`): its own fold where
        several strategies share the account (None whenever the account is flat), else the account's."""
        if self.strategy_positions is None:
            return self.positions.get(symbol)
        account = self.positions.get(symbol)
        if account is None or account.is_flat:
            return None
        return self.strategy_positions.get((strategy_id, symbol))

    def net_realized(self) -> Decimal:
        """Return the realized PnL after costs of every position (ExecutionState.net_realized), KRW."""
        return self.net_realized_total

    # -- THE LOSS STOP (Safety.check_daily_loss) ------------------------------------------------------------

    def check_daily_loss(self, now: datetime) -> None:
        """Once a session, enter stop mode and cancel the working entries when today's loss reached the limit."""
        if self.loss_hit or self.start_equity <= 0 or self.limits.daily_loss_limit_pct is None:
            return
        if not self.limits.daily_loss_includes_unrealized:  # realized only: the rule needs no market state
            quick = RiskState(self.positions, {}, self.net_realized() - self.net_at_open, self.start_equity)
            if not daily_loss_limit_breached(quick, self.limits):
                return
        risk = self.book.state(
            now=now,
            positions=self.positions,
            open_orders=self.open_orders.values(),  # type: ignore[arg-type]
            realized_pnl_today_krw=self.net_realized() - self.net_at_open,
            start_of_day_equity_krw=self.start_equity,
            stopped=self.stopped is not None,
        )
        if not daily_loss_limit_breached(risk, self.limits):
            return
        self.loss_hit = True
        pnl = risk.realized_pnl_today_krw + (
            risk.unrealized_pnl_krw if self.limits.daily_loss_includes_unrealized else 0
        )
        if self.stopped is None:
            self.stopped = (
                f"daily loss limit: {pnl:.0f} KRW today (limit -{self.limits.daily_loss_limit_pct}% of "
                f"{self.start_equity:.0f} KRW)"
            )
        for number, order in list(self.open_orders.items()):
            if order.intent is Intent.ENTRY:
                self.engine.cancel(number, now)
                order.status, order.note = "CANCELED", "daily loss limit reached"
                del self.open_orders[number]
