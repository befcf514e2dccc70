"""One trading session: the market-open sequence (spec 001 §4.1), the intraday handlers, the close."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from stock_manager.domain.clock import Clock, kst_date
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID, MaCrossParams, evaluate_daily, evaluate_tick
from stock_manager.service_layer.broker_port import Broker, TradingSession
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.params import load_params
from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan
from stock_manager.service_layer.storage_port import DailySettlement, PositionSnapshot, UnitOfWorkFactory

HISTORY_BARS = 260


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A universe member: code, name, market and kind (from the KIS master file)."""

    symbol: str
    name: str
    market: str
    kind: str


@dataclass(slots=True)
class SessionRunner:
    """Runs the open, intraday and close of each session for one account."""

    execution: Execution
    uow_factory: UnitOfWorkFactory
    broker: Broker
    clock: Clock
    notifier: Notifier
    mode: str
    universe: Sequence[SymbolInfo]
    params_file: Path | None
    stop_without_params: bool
    on_state: Callable[[str, str, date], Awaitable[None]] | None = None
    params: MaCrossParams = field(default_factory=MaCrossParams)
    params_source: str = ""
    session: TradingSession | None = None
    last_prices: dict[str, Decimal] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        """Return the account this runner trades."""
        return self.execution.config.account_id

    async def open(self, session: TradingSession) -> None:
        """Run the market-open sequence, then send the day's daily signals."""
        self.session = session
        self.last_prices.clear()
        ex = self.execution
        day = session.trading_date
        # Cash and permissions (step 3).
        cash = await self.broker.get_cash(self.account_id)
        # Restore state from the database, then reconcile with the broker (step 5).
        async with self.uow_factory() as uow:
            fills = [s.fill for s in await uow.fills.list_for_account(self.account_id)]
            open_orders = await uow.orders.list_open(self.account_id)
            previous = [s for s in await uow.settlements.list_all(self.account_id) if s.trading_date < day]
        ex.load(positions_from_fills(self.account_id, fills), open_orders)
        # The loss limit counts every fill of today, also those recorded before a restart.
        before_today = positions_from_fills(self.account_id, [f for f in fills if kst_date(f.ts_filled) < day])
        ex.begin_session(day, Decimal(0), sum((p.net_realized_pnl_krw for p in before_today.values()), Decimal(0)))
        plan = await gather_plan(self.uow_factory, self.broker, RecoveryInputs(self.account_id, day))
        await apply_plan(plan, ex, self.uow_factory, self.notifier, self.clock, mode=self.mode)
        # Risk limits from start-of-day equity (step 6): the last close's equity, else cash plus holdings at
        # the previous closes.
        if previous:
            start_equity = previous[-1].end_equity_krw
        else:
            holdings = Decimal(0)
            for symbol, position in before_today.items():
                if not position.is_flat:
                    quote = await self.broker.get_price(symbol)
                    holdings += position.quantity * quote.base_price
            start_equity = cash.deposit_krw + holdings
        ex.set_start_of_day_equity(start_equity)
        # Parameters (step 4) and universe (step 7).
        history: dict[str, list[DailyBar]] = {}
        reason = ""
        async with self.uow_factory() as uow:
            await uow.strategies.ensure_strategy(STRATEGY_ID, "MA 50/200 cross", "PRD §3.3", self.clock.now())
            loaded = None
            try:
                loaded = await load_params(uow, day, self.params_file)
            except Exception as e:
                reason = f"strategy parameters are invalid: {e}"
            if loaded is not None and loaded.fallback and self.stop_without_params:
                loaded, reason = None, "no ACTIVE strategy_params for today and PARAMS_FALLBACK=stop"
            if loaded is not None:
                changed = loaded.source != self.params_source or loaded.params != self.params
                self.params, self.params_source = loaded.params, loaded.source
                if loaded.fallback and changed:
                    await record_event(uow, self.notifier, ts=self.clock.now(), kind="params_fallback",
                                       severity="WARNING", account_id=self.account_id,
                                       message=f"no ACTIVE strategy_params for {day}; using {loaded.source}",
                                       payload=loaded.params.to_mapping())
            for info in self.universe:
                await uow.market_data.upsert_symbol(info.symbol, info.name, info.market, info.kind, self.clock.now())
            await uow.commit()
        if loaded is None:
            await ex.enter_stop_mode(reason)
        for info in self.universe:
            bars = await self.broker.get_daily_bars(info.symbol, day - timedelta(days=1), HISTORY_BARS)
            history[info.symbol] = bars
        async with self.uow_factory() as uow:
            for bars in history.values():
                await uow.market_data.upsert_daily_bars(bars[-5:], source="broker")
            await record_event(uow, self.notifier, ts=self.clock.now(), kind="market_open", severity="INFO",
                               account_id=self.account_id,
                               message=f"session {day}: equity {start_equity:,.0f} KRW, "
                                       f"cash {cash.deposit_krw:,.0f} KRW, "
                                       f"{sum(1 for p in ex.positions.values() if not p.is_flat)} position(s), "
                                       f"{len(ex.open_orders)} open order(s)",
                               payload={"start_equity_krw": start_equity, "cash_krw": cash.deposit_krw,
                                        "params": self.params.to_mapping()})
            await uow.commit()
        await self._state("TRADING" if ex.stopped_reason is None else "STOPPED", ex.stopped_reason or "", day)
        # The day's signals from the daily bars up to yesterday.
        for info in self.universe:
            for signal in evaluate_daily(history[info.symbol], ex.positions.get(info.symbol), self.params):
                await ex.submit(signal)

    async def on_tick(self, tick: Tick) -> None:
        """Intraday: market state, stop-loss / take-profit, risk, order."""
        self.last_prices[tick.symbol] = tick.price
        if self.session is None or self.execution.stopped_reason is not None:
            return
        position = self.execution.positions.get(tick.symbol)
        if position is None or position.quantity <= 0:
            return
        for signal in evaluate_tick(tick, position, self.params, self.session.trading_date):
            await self.execution.submit(signal)

    async def close(self, session: TradingSession) -> DailySettlement:
        """Cancel what is still open, snapshot positions, store and announce the daily settlement."""
        ex = self.execution
        day = session.trading_date
        await ex.cancel_open_orders("session closed")
        now = self.clock.now()
        cash = await self.broker.get_cash(self.account_id)
        async with self.uow_factory() as uow:
            all_fills = [s.fill for s in await uow.fills.list_for_account(self.account_id)]
            orders_today = await uow.orders.list_for_date(self.account_id, day)
        before = positions_from_fills(self.account_id, [f for f in all_fills if kst_date(f.ts_filled) < day])
        after = positions_from_fills(self.account_id, all_fills)
        todays = [f for f in all_fills if kst_date(f.ts_filled) == day]
        realized = _sum_diff(after, before, "realized_pnl_krw")
        commission = _sum_diff(after, before, "commission_krw")
        tax = _sum_diff(after, before, "tax_krw")
        snapshots: list[PositionSnapshot] = []
        for symbol, position in sorted(after.items()):
            if position.is_flat:
                continue
            close_price = self.last_prices.get(symbol) or (await self.broker.get_price(symbol)).price
            snapshots.append(PositionSnapshot(
                self.account_id, day, symbol, position.quantity, position.avg_price, close_price,
                position.market_value_krw(close_price), position.unrealized_pnl_krw(close_price),
                position.realized_pnl_krw, now))
        end_equity = cash.deposit_krw + sum((s.market_value_krw for s in snapshots), Decimal(0))
        start_equity = ex.start_of_day_equity_krw
        return_pct = ((end_equity - start_equity) / start_equity * 100).quantize(Decimal("0.000001")) \
            if start_equity else Decimal(0)
        settlement = DailySettlement(
            account_id=self.account_id, trading_date=day, mode=self.mode, start_equity_krw=start_equity,
            end_equity_krw=end_equity, cash_krw=cash.deposit_krw, realized_pnl_krw=realized,
            unrealized_pnl_krw=sum((s.unrealized_pnl_krw for s in snapshots), Decimal(0)),
            commission_krw=commission, tax_krw=tax, orders_count=len(orders_today), fills_count=len(todays),
            return_pct=return_pct, ts_created=now,
            summary={"stopped": ex.stopped_reason or "", "positions": {
                s.symbol: {"quantity": str(s.quantity), "avg_price": str(s.avg_price), "close": str(s.close_price)}
                for s in snapshots},
                "orders": [{"symbol": o.symbol, "side": o.side.value, "quantity": str(o.quantity),
                            "status": o.status.value, "filled": str(o.filled_quantity), "reason": o.reason}
                           for o in orders_today]},
        )
        async with self.uow_factory() as uow:
            for position in after.values():
                await uow.positions.upsert(position, now)
            for snapshot in snapshots:
                await uow.positions.add_snapshot(snapshot)
            await uow.settlements.put(settlement)
            await record_event(uow, self.notifier, ts=now, kind="market_close", severity="INFO",
                               account_id=self.account_id,
                               message=f"session {day} closed: {len(orders_today)} order(s), {len(todays)} fill(s), "
                                       f"realized {realized - commission - tax:,.0f} KRW net",
                               payload={"end_equity_krw": end_equity, "return_pct": return_pct})
            await uow.commit()
        await self._state("CLOSED", ex.stopped_reason or "", day)
        self.notifier.session_closed(settlement)
        self.session = None
        return settlement

    async def _state(self, trading_state: str, reason: str, day: date) -> None:
        if self.on_state is not None:
            await self.on_state(trading_state, reason, day)


def _sum_diff(after: Mapping[str, object], before: Mapping[str, object], attribute: str) -> Decimal:
    total = Decimal(0)
    for symbol, position in after.items():
        total += getattr(position, attribute) - (getattr(before[symbol], attribute) if symbol in before else 0)
    return total
