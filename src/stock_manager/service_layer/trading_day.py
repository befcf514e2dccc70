"""One trading day: the market-open sequence (spec 001 §4.1), the intraday handlers, the close; with the
strategy injected (a `StrategySpec`) and the venue's instruments and calendar from its `VenueProfile`."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from stock_manager.domain.clock import Clock
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.modes import Mode
from stock_manager.domain.performance import drawdown
from stock_manager.domain.positions import Position
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.base import MarketDay
from stock_manager.service_layer.closing import await_final_states, read_living_orders
from stock_manager.service_layer.daily_history import HISTORY_BARS, DailyHistory
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.metrics import Metrics, NullMetrics
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import DailySettlement, PositionSnapshot, UnitOfWorkFactory
from stock_manager.service_layer.ports.venue import VenueProfile
from stock_manager.service_layer.position_history import load_position_history, strategy_positions
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan, read_ours
from stock_manager.service_layer.risk_config import effective_limits
from stock_manager.service_layer.settled_sessions import SettledSessions
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.views.reports import build_daily_report

__all__ = ["HISTORY_BARS", "RestoredState", "SessionRunner"]


@dataclass(frozen=True, slots=True)
class RestoredState:
    """What the restore step read that the rest of the open needs.

    Attributes
    ----------
    previous : list[DailySettlement]
        The account's settlements before the session's date, in date order (their `summary` left empty).
    before_today : dict[str, Position]
        Positions from the fills executed before the session's date (by symbol, flat ones included).
    """

    previous: list[DailySettlement]
    before_today: dict[str, Position]


@dataclass(slots=True)
class SessionRunner:
    """Runs the open, intraday and close of each session for one account.

    The universe is the venue's instruments; `strategies` are the account's strategies, whose parameters are
    read at every open.
    """

    execution: Execution
    uow_factory: UnitOfWorkFactory
    broker: Broker
    clock: Clock
    notifier: Notifier
    mode: Mode
    venue: VenueProfile
    strategies: StrategyBook
    on_state: Callable[[str, str, date], Awaitable[None]] | None = None
    session: TradingSession | None = None
    history: dict[str, list[DailyBar]] = field(default_factory=dict)
    open_prices: dict[str, Decimal] = field(default_factory=dict)
    day_range: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=NullMetrics)
    #: After the close's cancels, looks at the venue's totals until the day's orders are final (`closing`).
    final_state_checks: int = 0
    final_state_interval_secs: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    daily_history: DailyHistory = field(init=False)
    settled: SettledSessions = field(init=False)
    instruments_stored: bool = field(default=False, init=False)  # by the first open of this runner

    def __post_init__(self) -> None:
        self.daily_history = DailyHistory(self.broker)
        self.settled = SettledSessions(self.execution.config.account_id)

    @property
    def account_id(self) -> str:
        """Return the account this runner trades."""
        return self.execution.config.account_id

    async def open(self, session: TradingSession) -> None:
        """Run the market-open sequence, then send the day's daily signals."""
        self.session = session
        self.last_prices.clear()
        self.open_prices.clear()
        self.day_range.clear()
        ex = self.execution
        day = session.trading_date
        # Cash and permissions (step 3).
        cash = await self.broker.get_cash(self.account_id)
        restored = await self.restore(session)
        previous, before_today = restored.previous, restored.before_today
        # Risk limits from start-of-day equity (step 6): the last close's equity, else cash plus holdings at
        # the previous closes.
        if previous:
            start_equity = previous[-1].end_equity_krw
        else:
            holdings = Decimal(0)
            for symbol, held in before_today.items():
                if not held.is_flat:
                    quote = await self.broker.get_price(symbol)
                    holdings += held.quantity * quote.base_price
            start_equity = cash.deposit_krw + holdings
        ex.set_start_of_day_equity(start_equity)
        if previous:
            dd = drawdown(previous[0].start_equity_krw, [s.end_equity_krw for s in previous])
            self.metrics.equity(start_equity, dd.current_pct, dd.max_pct)
        # Market state (spec 001 §4.2): each symbol's price and the day's limits, for the pre-open orders.
        missing: dict[str, str] = {}
        for symbol in self.venue.instruments.symbols:
            try:
                quote = await self.broker.get_price(symbol)
            except Exception as e:  # no quote: the stale-data rule refuses that symbol's orders
                missing[symbol] = f"{type(e).__name__}: {e}"
            else:
                ex.note_quote(symbol, quote.price, quote.ts_event, quote.lower_limit, quote.upper_limit)
                if quote.day_open is not None and quote.ts_event >= session.ts_open:
                    # Opened during the day (a restart): the day's open and range so far, as the venue saw them.
                    self.open_prices[symbol] = quote.day_open
                    if quote.day_low is not None and quote.day_high is not None:
                        self.day_range[symbol] = (quote.day_low, quote.day_high)
        if missing:
            async with self.uow_factory() as uow:
                await record_event(
                    uow,
                    self.notifier,
                    ts=self.clock.now(),
                    kind="quote_unavailable",
                    severity="WARNING",
                    account_id=self.account_id,
                    payload=missing,
                    message=f"no price for {', '.join(missing)}: no order on them until a tick arrives",
                )
                await uow.commit()
        # Parameters (step 4) and universe (step 7).
        history: dict[str, list[DailyBar]] = {}
        async with self.uow_factory() as uow:
            reason = await self.strategies.load(
                uow, day, clock=self.clock, notifier=self.notifier, account_id=self.account_id
            )
            if not self.instruments_stored:  # the venue's instruments do not change while it runs
                for instrument in self.venue.instruments.by_symbol.values():
                    await uow.market_data.upsert_symbol(instrument, self.clock.now())
            await uow.commit()
        self.instruments_stored = True
        if reason is not None:
            await ex.enter_stop_mode(reason)
        for symbol in self.venue.instruments.symbols:
            history[symbol] = await self.daily_history.bars(symbol, day - timedelta(days=1))
        async with self.uow_factory() as uow:
            await uow.market_data.upsert_daily_bars(
                [b for bars in history.values() for b in bars[-5:]], source="broker"
            )
            await record_event(
                uow,
                self.notifier,
                ts=self.clock.now(),
                kind="market_open",
                severity="INFO",
                account_id=self.account_id,
                message=f"session {day}: equity {start_equity:,.0f} KRW, "
                f"cash {cash.deposit_krw:,.0f} KRW, "
                f"{sum(1 for p in ex.positions.values() if not p.is_flat)} position(s), "
                f"{len(ex.open_orders)} open order(s)",
                payload={
                    "start_equity_krw": start_equity,
                    "cash_krw": cash.deposit_krw,
                    "params": self.strategies.payload(),
                },
            )
            await uow.commit()
        await self._state("TRADING" if ex.stopped_reason is None else "STOPPED", ex.stopped_reason or "", day)
        # The day's signals from the daily bars up to yesterday, strategy by strategy.
        self.history = history
        for strategy in self.strategies.strategies():
            for symbol, bars in history.items():
                if not bars:
                    continue
                ts_decision = self.venue.bar_close(bars[-1].trading_date)
                position = ex.strategy_position(strategy.strategy_id, symbol)
                for signal in strategy.daily_signals(bars, position, ts_decision):
                    await ex.submit(signal)

    async def restore(self, session: TradingSession) -> RestoredState:
        """Restore state from the database, then reconcile it with the broker (spec 001 §4.1 step 5, §10).

        Loads positions and open orders into `execution`, begins its session (the risk limits in force, the
        realized PnL before today that the daily loss limit counts from), then plans and applies recovery
        (one ``recovery_logs`` row; stop mode for what it cannot resolve). This is the restart-to-reconciled
        path of a daemon; nothing is sent to the broker except reads.
        """
        ex = self.execution
        day = session.trading_date
        inputs = RecoveryInputs(self.account_id, day, self.venue.order_numbers_restart_daily)
        # Everything the open reads from the database, in one unit of work, under the execution's lock: a notice
        # recorded meanwhile (the order stream is live) would otherwise be in one read and not in another.
        limits_problem = ""
        async with ex.state.lock, self.uow_factory() as uow:
            fills = await load_position_history(uow, self.account_id, day)
            open_orders = await uow.orders.list_open(self.account_id)
            previous = await self.settled.before(uow, day)
            own = None if self.strategies.single else await strategy_positions(uow, self.account_id)
            ours = await read_ours(uow, inputs, fills)  # its own open orders: execution changes the loaded ones
            try:  # last: a failed read leaves nothing else to read in this unit of work
                # Risk limits in force today: settings overridden by the database's newest changes.
                limits = await effective_limits(uow, ex.config.risk_limits)
            except Exception as e:
                limits, limits_problem = ex.config.risk_limits, f"risk limits in the database are invalid: {e}"
        # The loss limit counts every fill of today, also those recorded before a restart.
        before_today = fills.positions(before=day)
        ex.load(fills.positions(), open_orders, own)
        ex.begin_session(
            day,
            Decimal(0),
            sum((p.net_realized_pnl_krw for p in before_today.values()), Decimal(0)),
            session=session,
            limits=limits,
        )
        if limits_problem:
            await ex.enter_stop_mode(limits_problem, rule="risk_limits")
        plan = await gather_plan(self.uow_factory, self.broker, inputs, self.venue.fill_identity, fills, ours)
        await apply_plan(plan, ex, self.uow_factory, self.notifier, self.clock, mode=self.mode)
        return RestoredState(previous, before_today)

    async def on_tick(self, tick: Tick) -> None:
        """Intraday: market state, then each strategy's signals on the print (stop-loss / take-profit of a held
        position; entries of strategies that enter intraday), risk, order."""
        ex = self.execution
        self.last_prices[tick.symbol] = tick.price
        self.open_prices.setdefault(tick.symbol, tick.price)
        low, high = self.day_range.get(tick.symbol, (tick.price, tick.price))
        self.day_range[tick.symbol] = (min(low, tick.price), max(high, tick.price))
        ex.note_quote(tick.symbol, tick.price, tick.ts_event)
        if ex.limits.daily_loss_includes_unrealized:
            await ex.check_daily_loss()
        if self.session is None or ex.stopped_reason is not None:
            return
        held = ex.positions.get(tick.symbol)
        holding = held is not None and held.quantity > 0
        if not holding and not self.strategies.enters_intraday:
            return
        if holding:
            self.metrics.exposure(
                sum((p.quantity * self.last_prices.get(s, p.avg_price) for s, p in ex.positions.items()), Decimal(0))
            )
        ts_decision = self.venue.bar_close(self.session.trading_date)
        low, high = self.day_range[tick.symbol]
        day = MarketDay(self.history.get(tick.symbol, ()), self.open_prices[tick.symbol], high, low)
        for strategy in self.strategies.strategies():
            position = ex.strategy_position(strategy.strategy_id, tick.symbol)
            if (position is None or position.quantity <= 0) and not strategy.enters_intraday:
                continue
            for signal in strategy.tick_signals(tick, position, ts_decision, day):
                await ex.submit(signal)

    async def close(self, session: TradingSession, *, late: bool = False) -> DailySettlement:
        """Cancel what is still open (where orders are day orders; where they live on, read what they executed, so
        a fill whose notice was lost is in the day it traded), snapshot positions, store and announce the
        daily settlement; `late` marks one made after the daemon missed the close (``settled_late``)."""
        ex = self.execution
        day = session.trading_date
        if session.orders_expire_at_close:
            await ex.cancel_open_orders("session closed")
            interval = self.final_state_interval_secs
            await await_final_states(ex, day, checks=self.final_state_checks, interval_secs=interval, sleep=self.sleep)
        else:
            await read_living_orders(ex)
        now = self.clock.now()
        cash = await self.broker.get_cash(self.account_id)
        async with self.uow_factory() as uow:
            fills = await load_position_history(uow, self.account_id, day)
            todays = [s.fill for s in await uow.fills.list_for_date(self.account_id, day)]
            orders_today = await uow.orders.list_for_date(self.account_id, day)
            history = await self.settled.before(uow, day)
        before = fills.positions(before=day)
        after = fills.positions()  # folds only today's fills onto `before`
        realized = _sum_diff(after, before, "realized_pnl_krw")
        commission = _sum_diff(after, before, "commission_krw")
        tax = _sum_diff(after, before, "tax_krw")
        snapshots: list[PositionSnapshot] = []
        for symbol, position in sorted(after.items()):
            if position.is_flat:
                continue
            close_price = self.last_prices.get(symbol) or (await self.broker.get_price(symbol)).price
            snapshots.append(
                PositionSnapshot(
                    self.account_id,
                    day,
                    symbol,
                    position.quantity,
                    position.avg_price,
                    close_price,
                    position.market_value_krw(close_price),
                    position.unrealized_pnl_krw(close_price),
                    position.realized_pnl_krw,
                    now,
                )
            )
        end_equity = cash.deposit_krw + sum((s.market_value_krw for s in snapshots), Decimal(0))
        start_equity = ex.start_of_day_equity_krw
        return_pct = (
            ((end_equity - start_equity) / start_equity * 100).quantize(Decimal("0.000001"))
            if start_equity
            else Decimal(0)
        )
        dd = drawdown(
            history[0].start_equity_krw if history else start_equity, [*(s.end_equity_krw for s in history), end_equity]
        )
        settlement = DailySettlement(
            account_id=self.account_id,
            trading_date=day,
            mode=self.mode,
            start_equity_krw=start_equity,
            end_equity_krw=end_equity,
            cash_krw=cash.deposit_krw,
            realized_pnl_krw=realized,
            unrealized_pnl_krw=sum((s.unrealized_pnl_krw for s in snapshots), Decimal(0)),
            commission_krw=commission,
            tax_krw=tax,
            orders_count=len(orders_today),
            fills_count=len(todays),
            return_pct=return_pct,
            ts_created=now,
            summary={
                **({"settled_late": True} if late else {}),
                "stopped": ex.stopped_reason or "",
                "drawdown_pct": str(dd.current_pct),
                "max_drawdown_pct": str(dd.max_pct),
                "peak_equity_krw": str(dd.peak_equity_krw),
                "positions": {
                    s.symbol: {"quantity": str(s.quantity), "avg_price": str(s.avg_price), "close": str(s.close_price)}
                    for s in snapshots
                },
                "orders": [
                    {
                        "symbol": o.symbol,
                        "side": o.side.value,
                        "quantity": str(o.quantity),
                        "status": o.status.value,
                        "filled": str(o.filled_quantity),
                        "reason": o.reason,
                    }
                    for o in orders_today
                ],
            },
        )
        async with self.uow_factory() as uow:
            for position in after.values():
                await uow.positions.upsert(position, now)
            checkpoint = fills.checkpoint(day, now)
            if checkpoint is not None:  # the next open folds only the fills recorded after this point
                await uow.positions.put_checkpoint(checkpoint)
            for snapshot in snapshots:
                await uow.positions.add_snapshot(snapshot)
            await uow.settlements.put(settlement)
            await record_event(
                uow,
                self.notifier,
                ts=now,
                kind="market_close",
                severity="INFO",
                account_id=self.account_id,
                message=f"session {day} {'settled late' if late else 'closed'}: {len(orders_today)} order(s), "
                f"{len(todays)} fill(s), realized {realized - commission - tax:,.0f} KRW net",
                payload={"end_equity_krw": end_equity, "return_pct": return_pct, "settled_late": late},
            )
            await uow.commit()
        self.settled.stored(settlement)
        await self._state("CLOSED", ex.stopped_reason or "", day)
        self.metrics.exposure(sum((s.market_value_krw for s in snapshots), Decimal(0)))
        self.metrics.equity(end_equity, dd.current_pct, dd.max_pct)
        self.notifier.session_closed(build_daily_report([*history, settlement], day, todays))
        self.session = None
        if ex.loss_limit_hit and ex.limits.daily_loss_trips_kill_switch:
            # The day is settled; the latched switch keeps the next session from trading until a person
            # has looked (`stockbot resume`).
            await ex.trip_kill_switch("daily_loss_limit", f"daily loss limit hit on {day}: {ex.stopped_reason}")
        return settlement

    async def _state(self, trading_state: str, reason: str, day: date) -> None:
        if self.on_state is not None:
            await self.on_state(trading_state, reason, day)


def _sum_diff(after: Mapping[str, object], before: Mapping[str, object], attribute: str) -> Decimal:
    total = Decimal(0)
    for symbol, position in after.items():
        total += getattr(position, attribute) - (getattr(before[symbol], attribute) if symbol in before else 0)
    return total
