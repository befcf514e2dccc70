"""The sim broker's `Broker` queries: session and account calls, cash, positions, orders, fills and quotes.

A mixin of `SimBroker` (in `broker`), whose state it shares: it answers from the replay's matching engine,
the bundled data and the replay clock, and is never used alone.
"""

from collections.abc import Callable
from datetime import date, timedelta

from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.marketdata import bars_before, previous_close
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import DailyBar
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import AccountRef, BrokerOrderReport, BrokerPosition, CashBalance, Quote


class BrokerQueries:
    """The `Broker` port's login and query calls of the sim broker; mixed into `SimBroker`."""

    # Provided by SimBroker.
    account_id: str
    replay_id: str
    _clock: FixedClock
    _symbols: tuple[str, ...]
    _instruments: dict[str, Instrument]
    _days: list[date]
    _day_index: int
    _last_opened: date | None
    _engine: MatchingEngine
    _require_usable: Callable[[], None]
    _require_account: Callable[[str], None]

    # -- Broker: session and account ------------------------------------------------------------------

    async def login(self) -> None:
        """Do nothing: the simulator needs no credentials."""
        self._require_usable()

    async def get_accounts(self) -> list[AccountRef]:
        """Return the replay's one account, ``SIM-<replay id>``."""
        return [AccountRef(account_id=self.account_id, name=f"replay {self.replay_id}")]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return the deposit and the cash orderable after working buys' reservations, KRW."""
        self._require_account(account_id)
        return self._engine.cash()

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return holdings with non-zero quantity (average purchase price without costs)."""
        self._require_account(account_id)
        return self._engine.positions()

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return every order of `trading_date`, in order-number order."""
        self._require_account(account_id)
        return self._engine.orders(trading_date)

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return every execution on `trading_date`, in execution order."""
        self._require_account(account_id)
        return self._engine.fills(trading_date)

    # -- Broker: market data --------------------------------------------------------------------------

    async def get_price(self, symbol: str) -> Quote:
        """Return the last print of the current (or last) session, or the base price before its first print.

        Raises
        ------
        ConfigurationError
            If `symbol` is not replayed, or the data has no price for it before the current session.
        """
        if symbol not in self._symbols:
            raise ConfigurationError(f"symbol {symbol} is not part of this replay")
        day = self._quote_day()
        base_bar = previous_close(symbol, day)
        if base_bar is None:
            raise ConfigurationError(f"the data has no price of {symbol} before {day}")
        band = self._instruments[symbol].price_band(base_bar.close)
        last = self._engine.last_print(symbol)
        if last is not None and kst_date(last.ts_event) == day:
            price, ts = last.price, last.ts_event
        else:
            price, ts = base_bar.close, self._clock.now()
        return Quote(symbol, price, base_bar.close, band.upper if band else None, band.lower if band else None, ts)

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` ending on or before `end`, oldest first.

        Never returns a bar dated on or after the replay clock's KST date: no look-ahead.
        """
        cutoff = min(end + timedelta(days=1), kst_date(self._clock.now()))
        return bars_before(symbol, cutoff, count)

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _quote_day(self) -> date:
        if self._last_opened is not None:
            return self._last_opened
        return self._days[min(self._day_index, len(self._days) - 1)]
