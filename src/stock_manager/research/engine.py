"""The backtest: the daemon's trading day, replayed in memory over the days on which something can happen.

What runs is the daemon's own logic, piece by piece:

* decisions: `evaluate_daily` at each pre-open (08:30 KST) on the 260 daily bars before the session, and
  `evaluate_tick` on every print while a position is held (`domain.strategies.ma_cross`);
* the order path of `service_layer.execution.placement`: one decision per idempotency key (a key already
  used by an order is never sent again, a key handled this session is not tried again), one live order per
  (strategy, symbol, intent), the limit rounded onto the instrument's grid, then `pre_trade_denial` with the
  `RiskState` a `RiskBook` builds (session phases, stale data, collar, rate, cooldown, loss limit, sizes);
  an allowed order counts for the rate throttle and goes to the venue (the `TradingDesk` in `desk`, with
  the fills, positions and the daily loss stop);
* the venue: the simulator's `MatchingEngine` (validation, the ±30 % band, cash and holdings, fills against
  the prints with the participation cap, commission and the dated sell tax) and the replayed intraday paths
  (`adapters.marketdata.paths`: real minute bars where bundled, else the documented path from OHLC);
* the session: stop mode and the cancel of working entries when the daily loss limit is reached, day orders
  expiring at the close, the latched kill switch after a session that hit the loss limit (nothing is traded
  after it), start-of-day equity = the previous session's cash plus holdings at their last close.

What is skipped is only what cannot change anything: a day on which no symbol has a possible cross (screened
with numpy, confirmed by the strategy itself), no working order and no held position whose day range
reaches its stop-loss or take-profit (`screen`). On the days that are played, only the symbols with such an
event are played; the others have no order and no fill that day in the daemon either.

Fill models (``--fill-model``): ``path`` is the daemon's. ``next-open`` and ``close`` exist to compare with
bar-based engines: decisions (crosses, and stop-loss/take-profit on the bar's close) are taken at the close
of bar D-1 and filled at the open of day D (``next-open``) or taken at the close of bar D and filled at that
close (``close``), one print per day carrying the day's volume, the same risk rules and matching engine.
"""

import bisect
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.venues.krx.calendar import pre_open
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.ma_cross import evaluate_daily, evaluate_tick
from stock_manager.research.data import BarSeries, MarketData
from stock_manager.research.desk import TradingDesk
from stock_manager.research.records import BacktestConfig, BacktestResult, BtOrder, Denial, FillModel
from stock_manager.research.schedule import NEVER, EventSchedule, bar_close, price_band, session_of
from stock_manager.research.screen import HISTORY_BARS
from stock_manager.research.valuation import equity_before, equity_curve, last_close

__all__ = ["ACCOUNT_ID", "BacktestConfig", "BacktestResult", "BtOrder", "Denial", "FillModel", "run_backtest"]

ACCOUNT_ID = "BACKTEST"
#: Under ``--fill-model close`` decisions and the day's one print are at the start of the closing auction.
CLOSE_DECISION_BEFORE_CLOSE = timedelta(minutes=10)


class _Replay:
    # One backtest's state; `run_backtest` is the public face.

    def __init__(self, data: MarketData, config: BacktestConfig) -> None:
        self.data, self.config = data, config
        self.symbols = data.symbols
        self.instruments = data.instruments()
        self.engine = MatchingEngine(
            ACCOUNT_ID,
            self.instruments,
            MatchingConfig(config.participation_rate, config.start_cash_krw, config.cost_model),
        )
        self.limits = config.limits
        self.days = data.trading_days(config.start, config.end)
        self.model = config.fill_model
        self.params = config.params
        self.played = 0
        self.unrealized_counts = config.limits.daily_loss_includes_unrealized
        self.schedule = EventSchedule(data, config, self.days)
        self.desk = TradingDesk(
            ACCOUNT_ID, self.engine, self.instruments, self.limits, self.schedule, config.start_cash_krw
        )
        self.positions = self.desk.positions  # the desk's (one dict, never replaced)

    # -- THE RUN --------------------------------------------------------------------------------------

    def run(self, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
        nxt = {s: self.schedule.next_event(s, 0, self.positions.get(s)) for s in self.symbols}
        while self.desk.kill_reason is None:
            d = min(nxt.values(), default=NEVER)
            if d >= len(self.days):
                break
            events = [s for s in self.symbols if nxt[s] == d]
            touched = self._play_day(d, events)
            self.played += 1
            for s in {*events, *touched}:
                nxt[s] = self.schedule.next_event(s, d + 1, self.positions.get(s))
            if progress is not None:
                progress(d + 1, len(self.days))
        if progress is not None:
            progress(len(self.days), len(self.days))
        bars = sum(
            len(
                bs.dates[
                    bisect.bisect_left(bs.dates, self.config.start) : bisect.bisect_right(bs.dates, self.config.end)
                ]
            )
            for bs in self.data.series.values()
        )
        return BacktestResult(
            self.config,
            self.symbols,
            self.days,
            self.desk.orders,
            self.desk.fills,
            self.desk.denials,
            self._equity_curve,
            self.engine.deposit_krw,
            dict(self.positions),
            self.desk.kill_reason,
            self.played,
            bars,
            data_last_close=self._last_close,
        )

    def _last_close(self, symbol: str, day: date) -> Decimal:
        return last_close(self.data, symbol, day)

    def _play_day(self, d: int, events: list[str]) -> set[str]:
        day = self.days[d]
        session = session_of(day)
        t_pre = pre_open(session)
        t_decide = session.ts_close - CLOSE_DECISION_BEFORE_CLOSE if self.model is FillModel.CLOSE else t_pre
        if self.config.params_by_day is not None:
            self.params = self.config.params_by_day(day)
        series = self.data.series
        base: dict[str, Decimal] = {}
        for s in events:
            bs = series[s]
            i = bs.index_before(day)
            if bs.bar_on(day) is not None:
                base[s] = bs.bars[i - 1].close if i > 0 else bs.bars[i].open
        self.engine.open_session(session, base, t_pre)
        # The session begins (Execution.begin_session): stop mode clears unless the kill switch is latched.
        desk = self.desk
        desk.begin_session(session, equity_before(self.data, self.engine.deposit_krw, self.positions, day))
        # The open's quotes: the previous close with the day's limits (at the close model: the day's close).
        for s in events:
            bs = series[s]
            i = bs.index_before(day)
            if i == 0:
                continue
            prev = bs.bars[i - 1].close
            band = price_band(self.instruments[s], prev)
            price = prev
            if self.model is FillModel.CLOSE and (bar := bs.bar_on(day)) is not None:
                price = bar.close
            desk.book.note_quote(s, price, t_decide, band.lower if band else None, band.upper if band else None)
        touched: set[str] = set()
        # The day's signals from the daily bars (in the daemon's symbol order).
        for s in events:
            bs = series[s]
            end = bs.index_before(day)
            if self.model is FillModel.CLOSE and bs.bar_on(day) is not None:
                end += 1
            if end == 0:
                continue
            history = bs.bars[max(0, end - HISTORY_BARS) : end]
            if d in self.schedule.cross_days[s]:  # elsewhere the screen proved evaluate_daily returns nothing
                ts_decision = bar_close(history[-1].trading_date)
                for signal in evaluate_daily(history, self.positions.get(s), self.params, ts_decision):
                    desk.submit(signal, t_decide)
            if self.model is not FillModel.PATH:
                self._bar_exit(s, history[-1], day, t_decide)
        # The prints. The engine sees every print while it has a working order (it fills nothing otherwise);
        # the held position's thresholds are read on every print (the float test only skips prints that
        # cannot reach them, with a margin).
        ts_decision = bar_close(day)
        if self.model is FillModel.PATH and len(events) == 1 and not self.unrealized_counts:
            self._play_one(series[events[0]], day, session, ts_decision, touched)
        else:
            self._play_all(day, session, events, t_decide, ts_decision, touched)
        # The close: day orders expire; a session that hit the loss limit latches the kill switch.
        for report in self.engine.expire_open_orders(session.ts_close):
            order = desk.open_orders.pop(report.broker_order_number, None)
            if order is not None:
                order.status = "CANCELED"
                order.note = report.reason
        if desk.loss_hit and self.limits.daily_loss_trips_kill_switch:
            desk.kill_reason = f"daily loss limit hit on {day}: {desk.stopped}"
        for s in {*events, *touched}:
            if s in touched or self.schedule.needs_breach_update(s, d):
                # also after a breach that did not exit (denied, or at the close)
                self.schedule.update_breach(s, day, self.positions.get(s))
        return touched

    def _play_one(
        self, bs: BarSeries, day: date, session: TradingSession, ts_decision: datetime, touched: set[str]
    ) -> None:
        # One symbol's prints (most played days): while the engine has no working order and the position is
        # not held, nothing can happen for the rest of the day; while held without a working order, only a
        # print outside the thresholds can; such stretches are skipped.
        ticks = bs.prints(day, session.ts_open, session.ts_close)
        prices = bs.print_prices(day)
        engine, n, i = self.engine, len(ticks), 0
        thresholds, on_fill = self.desk.thresholds, self.desk.on_fill
        while i < n:
            if not engine.has_working_orders:
                band = thresholds.get(bs.symbol)
                if band is None:
                    return
                low, high = band
                while i < n and low < prices[i] < high:
                    i += 1
                if i == n:
                    return
                self._on_tick(ticks[i], ts_decision)
            else:
                tick = ticks[i]
                for fill in engine.on_print(tick):
                    on_fill(fill)
                    touched.add(fill.symbol)
                band = thresholds.get(bs.symbol)
                if band is not None and not band[0] < prices[i] < band[1]:
                    self._on_tick(tick, ts_decision)
            i += 1

    def _play_all(
        self,
        day: date,
        session: TradingSession,
        events: list[str],
        t_decide: datetime,
        ts_decision: datetime,
        touched: set[str],
    ) -> None:
        thresholds = self.desk.thresholds
        for tick, price in self.schedule.prints(day, session, events, t_decide):
            if self.engine.has_working_orders:
                for fill in self.engine.on_print(tick):
                    self.desk.on_fill(fill)
                    touched.add(fill.symbol)
            if self.unrealized_counts:
                self._on_tick(tick, ts_decision)
                continue
            band = thresholds.get(tick.symbol)
            if band is None or band[0] < price < band[1]:
                continue  # not held (nothing to evaluate), or inside the thresholds
            self._on_tick(tick, ts_decision)

    def _bar_exit(self, s: str, last: DailyBar, day: date, now: datetime) -> None:
        # Bar fill models: the stop-loss / take-profit read on the decision bar's close.
        tick = Tick(s, last.close, Decimal(0), now)
        for signal in evaluate_tick(tick, self.positions.get(s), self.params, bar_close(day)):
            self.desk.submit(signal, now)

    def _on_tick(self, tick: Tick, ts_decision: datetime) -> None:
        # SessionRunner.on_tick: market state, then stop-loss / take-profit on the held position. The quote
        # only matters to a proposal on this symbol (or to an unrealized loss limit), so it is noted then.
        desk = self.desk
        if self.limits.daily_loss_includes_unrealized:
            desk.book.note_quote(tick.symbol, tick.price, tick.ts_event)
            desk.check_daily_loss(tick.ts_event)
        if self.model is not FillModel.PATH or desk.stopped is not None:
            return
        position = self.positions.get(tick.symbol)
        if position is None or position.quantity <= 0:
            return
        if desk.tick_exit_key(tick.symbol, ts_decision) in desk.handled:
            return  # the session's one stop/take key was handled: `submit` would return at once
        signals = evaluate_tick(tick, position, self.params, ts_decision)
        if signals:
            desk.book.note_quote(tick.symbol, tick.price, tick.ts_event)
        for signal in signals:
            desk.submit(signal, tick.ts_event)

    def _equity_curve(self) -> list[tuple[date, Decimal]]:
        return equity_curve(self.data, self.days, self.desk.fills, self.config.start_cash_krw)


def run_backtest(
    data: MarketData, config: BacktestConfig, progress: Callable[[int, int], None] | None = None
) -> BacktestResult:
    """Backtest the MA cross strategy on `data` over `config`'s period (module docstring).

    Parameters
    ----------
    progress : Callable[[int, int], None] | None
        Called with (sessions done, sessions) as the replay advances.
    """
    return _Replay(data, config).run(progress)
