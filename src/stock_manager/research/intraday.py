"""The backtest of strategies that act on every print (the Bitcoin strategies on Upbit): the daemon's trading
day over a replayed market, in memory, every session and every print played.

What runs is the daemon's own logic, piece by piece, in its order:

* the venue: the simulator's `MatchingEngine` (validation on the instrument's price-unit table and size grid,
  the minimum order value, cash and holdings, fills against the prints with the participation cap, the venue's
  fee) and the `ReplayMarket`'s sessions, base prices, prints and daily bars (`UpbitReplayMarket`: four prints
  per 30-minute candle, days cut at 00:00 UTC = 09:00 KST); orders carry the venue profile's
  ``default_time_in_force`` (GTC on Upbit: they live across sessions, nothing expires at the close);
* the open (`SessionRunner.open`): the session begins (stop mode clears unless the kill switch is latched), the
  start-of-day equity is the previous close's (cash plus holdings at the day's last print), each symbol's
  quote is the previous close, the history is the 260 daily bars before the day, then each strategy's
  `daily_signals` on its own position, at the session's first order time;
* each print (`ReplayPlayback.run_until_close`, then `SessionRunner.on_tick`): the engine matches it, the fills
  are booked (account and per-strategy positions, the daily loss stop), then the quote is noted and every
  strategy is asked for `tick_signals` with the day's `MarketDay` (history, open, high, low so far);
* the order path (`OrderPlacement.submit`), in `research.desk.TradingDesk`: one decision per idempotency key,
  one live order per (strategy, symbol, intent), the grid rounding, `pre_trade_denial` of the risk gate;
* the close: the daily loss limit latches the kill switch (nothing is traded after it).

Nothing is screened: a market that trades around the clock has something to decide on most prints.
Money in KRW as `Decimal`; times aware UTC.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model
from stock_manager.domain.costs import CostModel
from stock_manager.domain.instruments import TickTable
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.base import MarketDay, Strategy, StrategyParams, StrategySpec
from stock_manager.research.desk import TradingDesk
from stock_manager.research.records import BacktestConfig, BacktestResult
from stock_manager.service_layer.ports.venue import VenueProfile

__all__ = ["ACCOUNT_ID", "HISTORY_BARS", "IntradayConfig", "run_intraday"]

ACCOUNT_ID = "BACKTEST"
#: Daily bars a strategy sees at the open (`trading_day.HISTORY_BARS`).
HISTORY_BARS = 260


@dataclass(frozen=True, slots=True)
class IntradayConfig:
    """What to backtest.

    Attributes
    ----------
    start, end : date
        The period, inclusive (trading days of the replay; history before `start` feeds the strategies).
    strategies : tuple[tuple[StrategySpec, StrategyParams], ...]
        The account's strategies in the order they are asked for signals, each with its parameters;
        `params_by_day` overrides them per session (the ACTIVE ones of a day, by strategy id).
    limits : RiskLimits
        The pre-trade risk limits (the daemon's defaults unless given).
    start_cash_krw, participation_rate : Decimal
        The simulated account's deposit and the largest share of a print's volume it can trade.
    cost_model : CostModel
        The venue's fee (Upbit: 0.05 %, no tax).
    sessions_per_year : int
        Annualises the Sharpe ratio: 365 where every calendar day is a session (Upbit's KRW market).
    """

    start: date
    end: date
    strategies: tuple[tuple[StrategySpec, StrategyParams], ...]
    limits: RiskLimits = field(default_factory=RiskLimits)
    start_cash_krw: Decimal = Decimal(10_000_000)
    participation_rate: Decimal = Decimal("0.25")
    cost_model: CostModel = field(default_factory=upbit_cost_model)
    params_by_day: Callable[[date], Mapping[str, StrategyParams]] | None = None
    sessions_per_year: int = 365

    def account(self) -> BacktestConfig:
        """Return the account side of the run in the shape the reports read (`BacktestConfig`)."""
        return BacktestConfig(
            self.start,
            self.end,
            limits=self.limits,
            start_cash_krw=self.start_cash_krw,
            participation_rate=self.participation_rate,
            cost_model=self.cost_model,
            sessions_per_year=self.sessions_per_year,
        )


class _Replay:
    # One backtest's state; `run_intraday` is the public face.

    def __init__(self, market: ReplayMarket, venue: VenueProfile, config: IntradayConfig) -> None:
        self.market, self.venue, self.config = market, venue, config
        self.symbols = list(market.symbols)
        self.instruments = market.instruments()
        self.engine = MatchingEngine(
            ACCOUNT_ID,
            self.instruments,
            MatchingConfig(config.participation_rate, config.start_cash_krw, config.cost_model),
        )
        self.days = market.trading_days(config.start, config.end)
        self.desk = TradingDesk(
            ACCOUNT_ID,
            self.engine,
            self.instruments,
            config.limits,
            None,
            config.start_cash_krw,
            time_in_force=venue.default_time_in_force,
            per_strategy=len(config.strategies) > 1,
        )
        self.strategies: tuple[Strategy, ...] = tuple(spec.build(params) for spec, params in config.strategies)
        self.equity: list[tuple[date, Decimal]] = []
        self.history: dict[str, list[DailyBar]] = {}
        self.played = 0
        self.prints = 0

    def run(self, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
        for n, day in enumerate(self.days):
            if self.desk.kill_reason is not None:
                break
            self._play_day(day)
            self.played += 1
            if progress is not None:
                progress(n + 1, len(self.days))
        equity = list(self.equity)
        last = {s: self._close_price(s, self.days[-1]) for s in self.symbols} if self.days else {}
        return BacktestResult(
            self.config.account(),
            self.symbols,
            self.days[: self.played],
            self.desk.orders,
            self.desk.fills,
            self.desk.denials,
            lambda: equity,
            self.engine.deposit_krw,
            dict(self.desk.positions),
            self.desk.kill_reason,
            self.played,
            self.prints,
            data_last_close=lambda symbol, day: last.get(symbol, Decimal(0)),
        )

    def _bind(self, day: date) -> None:
        if self.config.params_by_day is None:
            return
        params = self.config.params_by_day(day)
        self.strategies = tuple(
            spec.build(params.get(spec.strategy_id, default)) for spec, default in self.config.strategies
        )

    def _play_day(self, day: date) -> None:
        market, engine, desk = self.market, self.engine, self.desk
        session = market.session(day)
        now = session.ts_first_order
        engine.open_session(session, market.base_prices(day), now)
        start_equity = self.equity[-1][1] if self.equity else self._equity(day, {})
        desk.begin_session(session, start_equity)
        self._bind(day)
        for s in self.symbols:  # the open's quote: the previous close (no price band on this venue)
            bar = market.previous_close(s, day)
            if bar is not None:
                band = self.instruments[s].price_band(bar.close)
                desk.book.note_quote(s, bar.close, now, band.lower if band else None, band.upper if band else None)
        self.history = {s: market.bars_before(s, day, HISTORY_BARS) for s in self.symbols}
        for strategy in self.strategies:
            for s, bars in self.history.items():
                if not bars:
                    continue
                ts_decision = self.venue.bar_close(bars[-1].trading_date)
                for signal in strategy.daily_signals(
                    bars, desk.strategy_position(strategy.strategy_id, s), ts_decision
                ):
                    desk.submit(signal, now)
        last: dict[str, Decimal] = {}
        opens: dict[str, Decimal] = {}
        ranges: dict[str, tuple[Decimal, Decimal]] = {}
        for tick in self._day_prints(session):
            self.prints += 1
            for fill in engine.on_print(tick):
                desk.on_fill(fill)
            self._on_tick(tick, session, last, opens, ranges)
        for report in engine.expire_open_orders(session.ts_close):  # GTC (Upbit): nothing expires
            order = desk.open_orders.pop(report.broker_order_number, None)
            if order is not None:
                order.status, order.note = "CANCELED", report.reason
        self.equity.append((day, self._equity(day, last)))
        if desk.loss_hit and self.config.limits.daily_loss_trips_kill_switch:
            desk.kill_reason = f"daily loss limit hit on {day}: {desk.stopped}"

    def _on_tick(
        self,
        tick: Tick,
        session: TradingSession,
        last: dict[str, Decimal],
        opens: dict[str, Decimal],
        ranges: dict[str, tuple[Decimal, Decimal]],
    ) -> None:
        # SessionRunner.on_tick: the market state, then each strategy's signals on the print.
        desk, s, price = self.desk, tick.symbol, tick.price
        last[s] = price
        opens.setdefault(s, price)
        low, high = ranges.get(s, (price, price))
        low, high = min(low, price), max(high, price)
        ranges[s] = (low, high)
        desk.book.note_quote(s, price, tick.ts_event)
        if self.config.limits.daily_loss_includes_unrealized:
            desk.check_daily_loss(tick.ts_event)
        if desk.stopped is not None:
            return
        held = desk.positions.get(s)
        holding = held is not None and held.quantity > 0
        enters = any(strategy.enters_intraday for strategy in self.strategies)
        if not holding and not enters:
            return
        ts_decision = self.venue.bar_close(session.trading_date)
        day = MarketDay(self.history.get(s, ()), opens[s], high, low)
        for strategy in self.strategies:
            position = desk.strategy_position(strategy.strategy_id, s)
            if (position is None or position.quantity <= 0) and not strategy.enters_intraday:
                continue
            for signal in strategy.tick_signals(tick, position, ts_decision, day):
                desk.submit(signal, tick.ts_event)

    def _day_prints(self, session: TradingSession) -> list[Tick]:
        # ReplayPlayback.day_prints: all symbols in time order (ties: symbol order, then data order).
        keyed = [
            (tick.ts_event, rank, index, tick)
            for rank, symbol in enumerate(self.market.symbols)
            for index, tick in enumerate(self.market.prints(symbol, session))
        ]
        return [tick for *_, tick in sorted(keyed, key=lambda k: k[:3])]

    def _close_price(self, symbol: str, day: date) -> Decimal:
        bar = self.market.previous_close(symbol, day + timedelta(days=1))
        return bar.close if bar is not None else Decimal(0)

    def _equity(self, day: date, last: Mapping[str, Decimal]) -> Decimal:
        # SessionRunner.close: cash plus each holding at the day's last print (else the previous close).
        equity = self.engine.deposit_krw
        for s, position in self.desk.positions.items():
            if position.quantity:
                price = last.get(s)
                if price is None:
                    bar = self.market.previous_close(s, day)
                    price = bar.close if bar is not None else Decimal(0)
                equity += position.quantity * price
        return equity


def run_intraday(
    market: ReplayMarket,
    venue: VenueProfile,
    config: IntradayConfig,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest `config`'s strategies on `market` under `venue`'s rules (module docstring).

    Parameters
    ----------
    market : ReplayMarket
        The replayed venue data (`UpbitReplayMarket` for the bundled KRW-BTC candles).
    venue : VenueProfile
        The venue's profile: the daily bar's close (``ts_decision``) and the orders' time in force.
    progress : Callable[[int, int], None] | None
        Called with (sessions done, sessions) as the replay advances.

    Returns
    -------
    BacktestResult
        Orders, fills, denials, the equity at each session's close (KRW) and the prints played (``bars``).
    """
    return _Replay(market, venue, config).run(progress)


def strategies_of(specs: Sequence[StrategySpec]) -> tuple[tuple[StrategySpec, StrategyParams], ...]:
    """Return `specs` each with its default parameters (the `IntradayConfig.strategies` shape)."""
    return tuple((spec, spec.default_params()) for spec in specs)


def upbit_replay(symbols: Sequence[str], ticks: TickTable | None = None) -> tuple[ReplayMarket, VenueProfile]:
    """Return the bundled Upbit KRW markets of `symbols` and their venue profile (the daemon's sim replay).

    Raises
    ------
    ConfigurationError
        For a market without bundled data.
    """
    from stock_manager.adapters.venues.upbit.profile import upbit_profile
    from stock_manager.adapters.venues.upbit.replay import UpbitReplayMarket

    market = UpbitReplayMarket(symbols, ticks=ticks)
    return market, upbit_profile(market.instruments().values())
