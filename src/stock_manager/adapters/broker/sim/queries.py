"""The sim broker's `Broker` queries: accounts, cash, positions, orders, fills, quotes and daily bars.

A collaborator of `SimBroker` (in `broker`): it answers from the replay's matching engine, the replayed
market's data and the replay clock.
"""

from datetime import date, timedelta

from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.broker.sim.state import ReplayState
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar
from stock_manager.service_layer.ports.broker import AccountRef, BrokerOrderReport, BrokerPosition, CashBalance, Quote


class VenueQueries:
    """The `Broker` port's read calls of the sim broker."""

    def __init__(
        self,
        *,
        account_id: str,
        replay_id: str,
        engine: MatchingEngine,
        market: ReplayMarket,
        clock: FixedClock,
        state: ReplayState,
    ) -> None:
        self._account_id = account_id
        self._replay_id = replay_id
        self._engine = engine
        self._market = market
        self._clock = clock
        self._state = state

    def accounts(self) -> list[AccountRef]:
        """Return the replay's one account, ``SIM-<replay id>``."""
        return [AccountRef(account_id=self._account_id, name=f"replay {self._replay_id}")]

    def cash(self) -> CashBalance:
        """Return the deposit and the cash orderable after working buys' reservations, KRW."""
        return self._engine.cash()

    def positions(self) -> list[BrokerPosition]:
        """Return holdings with non-zero quantity (average purchase price without costs)."""
        return self._engine.positions()

    def orders(self, trading_date: date) -> list[BrokerOrderReport]:
        """Return every order of `trading_date`, and the orders of earlier days still working (where orders live
        across days; day orders never do)."""
        carried = [r for r in self._engine.working_orders() if r.trading_date < trading_date]
        return carried + self._engine.orders(trading_date)

    def fills(self, trading_date: date) -> list[Fill]:
        """Return every execution of `trading_date`, in execution order."""
        return self._engine.fills(trading_date)

    def price(self, symbol: str) -> Quote:
        """Return the last print of the current (or last) session, or the base price before its first print.

        Raises
        ------
        ConfigurationError
            If `symbol` is not replayed, or the data has no price for it before the current session.
        """
        if symbol not in self._market.symbols:
            raise ConfigurationError(f"symbol {symbol} is not part of this replay")
        day = self._state.last_opened or self._state.current_day
        base_bar = self._market.previous_close(symbol, day)
        if base_bar is None:
            raise ConfigurationError(f"the data has no price of {symbol} before {day}")
        instrument = self._engine.instrument(symbol)
        band = instrument.price_band(base_bar.close) if instrument is not None else None
        last = self._engine.last_print(symbol)
        if last is not None and self._market.trading_date_of(last.ts_event) == day:
            played = [
                t.price for t in self._market.prints(symbol, self._market.session(day)) if t.ts_event <= last.ts_event
            ]
            return Quote(
                symbol,
                last.price,
                base_bar.close,
                band.upper if band else None,
                band.lower if band else None,
                last.ts_event,
                played[0],
                max(played),
                min(played),
            )
        return Quote(
            symbol,
            base_bar.close,
            base_bar.close,
            band.upper if band else None,
            band.lower if band else None,
            self._clock.now(),
        )

    def daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` ending on or before `end`, oldest first.

        Never returns a bar dated on or after the replay clock's trading date: no look-ahead.
        """
        cutoff = min(end + timedelta(days=1), self._market.trading_date_of(self._clock.now()))
        return self._market.bars_before(symbol, cutoff, count)
