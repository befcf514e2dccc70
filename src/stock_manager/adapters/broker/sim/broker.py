"""`SimBroker`: the replaying exchange behind the `Broker` and `SessionSchedule` ports.

It replays a venue's market (a `ReplayMarket`: the bundled real KRX data by default) over a period, day by
day, as trade prints, matches the daemon's orders against them with the `MatchingEngine`, and advances the
replay clock the daemon shares. Everything runs in lockstep: for each print the clock is set, the engine
matches it, fill notices are awaited one handler at a time, then the quote handlers; so a replay at the
fastest speed is deterministic.

The exchange survives a crash of the daemon the way a real broker would: every command and checkpoint goes
to an append-only journal in the state directory (format in `journal`), and a new `SimBroker` built on the
same directory with the same parameters re-runs the journal through the deterministic engine and resumes
at the first print after the last checkpoint. Different parameters archive the old journal and start a
new replay.

Collaborators: `ReplayPlayback` (the sessions and their prints, in `playback`), `VenueQueries` (the port's
reads, in `queries`), `VenueOrders` (the commands, in `orders`), `ReplayJournal` (start, resume, appends, in
`journaling`), sharing one `ReplayState`. Protocol fronts (the KIS- and Upbit-compatible servers) use the
port's methods and the read-only `book`; none reaches into the engine.
"""

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim.book_view import ExchangeBook
from stock_manager.adapters.broker.sim.identity import choose_generation, last_journaled_time
from stock_manager.adapters.broker.sim.journal import JOURNAL_FILE, Journal
from stock_manager.adapters.broker.sim.journaling import ReplayJournal, attached_arguments
from stock_manager.adapters.broker.sim.market import default_costs, replay_market
from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.orders import VenueOrders
from stock_manager.adapters.broker.sim.playback import ReplayPlayback
from stock_manager.adapters.broker.sim.queries import VenueQueries
from stock_manager.adapters.broker.sim.records import replay_params
from stock_manager.adapters.broker.sim.state import ReplayState
from stock_manager.adapters.broker.sim.streams import EventStreams
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    BrokerOrderReport,
    BrokerPosition,
    CashBalance,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)
from stock_manager.service_layer.ports.schedule import WaitListener


class SimBroker:
    """The replaying exchange simulator, in process.

    Parameters
    ----------
    symbols : Sequence[str]
        Symbols to replay; all of them trade, whatever the daemon subscribes to.
    start_date, end_date : date
        Replay period, inclusive; the sessions are the days in it on which any symbol has data.
    clock : FixedClock
        The replay clock, shared with the daemon; only the broker advances it. It must not be later than
        the replay's current time.
    state_dir : Path
        Directory of the journal (created if needed).
    speed : float | None
        Market seconds per wall second (60 plays a minute per second); None plays as fast as possible,
        yielding to the event loop between prints.
    participation_rate : Decimal
        Largest fraction of a print's volume the account can trade on it.
    start_cash_krw : Decimal
        Deposit at the start of the replay, KRW.
    cost_model : CostModel | None
        Commission and sell tax (the KRX venue's default: KIS non-face-to-face rates and the dated tax).
    venue : str
        Which market is replayed (``"krx"``, ``"upbit"``).

    Raises
    ------
    ConfigurationError
        On an unknown symbol, an empty period, a bad speed/rate/cash, a clock ahead of the replay, or a
        state directory another process uses.
    JournalError
        If the journal of the same replay is corrupt or contradicts the data and the engine.
    """

    def __init__(
        self,
        *,
        symbols: Sequence[str],
        start_date: date,
        end_date: date,
        clock: FixedClock,
        state_dir: Path,
        speed: float | None = None,
        participation_rate: Decimal = Decimal("0.25"),
        start_cash_krw: Decimal = Decimal(10_000_000),
        cost_model: CostModel | None = None,
        read_only: bool = False,
        generation: int | None = None,
        fresh: bool = False,
        venue: str = "krx",
    ) -> None:
        if not symbols:
            raise ConfigurationError("a replay needs at least one symbol")
        if speed is not None and not speed > 0:
            raise ConfigurationError(f"replay speed must be positive or None (fastest), was {speed}")
        self._market = replay_market(venue, symbols)
        days = self._market.trading_days(start_date, end_date)
        if not days:
            raise ConfigurationError(f"no trading day with data for {self._market.symbols} in {start_date}..{end_date}")
        try:
            config = MatchingConfig(participation_rate, start_cash_krw, cost_model or default_costs(venue))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self._clock = clock
        self._params = replay_params(
            self._market.symbols, start_date, end_date, config, venue=venue, data=self._market.fingerprint()
        )
        self._state = ReplayState(days=days)
        self._streams = EventStreams(self._market.symbols)
        if read_only and not (state_dir / JOURNAL_FILE).exists():
            raise ConfigurationError(f"no replay journal in {state_dir}")
        journal = Journal.open(state_dir, read_only=read_only)
        try:
            self._params["generation"] = choose_generation(
                journal.records,
                self._params,
                requested=generation,
                fresh=fresh,
                archived_count=journal.archived_count(),
            )
            self.replay_id = hashlib.sha256(json.dumps(self._params, sort_keys=True).encode()).hexdigest()[:8]
            self.account_id = f"SIM-{self.replay_id}"
            self._engine = MatchingEngine(self.account_id, self._market.instruments(), config)
            self._journal = ReplayJournal(journal, self._state, clock, read_only=read_only)
            self._orders = VenueOrders(engine=self._engine, journal=self._journal, streams=self._streams, clock=clock)
            self._queries = VenueQueries(
                account_id=self.account_id,
                replay_id=self.replay_id,
                engine=self._engine,
                market=self._market,
                clock=clock,
                state=self._state,
            )
            self._playback = ReplayPlayback(
                account_id=self.account_id,
                market=self._market,
                engine=self._engine,
                journal=self._journal,
                streams=self._streams,
                state=self._state,
                clock=clock,
                speed=speed,
            )
            self._journal.start_or_resume(
                self.replay_id,
                self._params,
                self._engine,
                self._playback.open_engine_day,
                lambda: self._market.session(days[0]).ts_first_order,
            )
        except BaseException:
            journal.close()
            raise

    @classmethod
    def attach(cls, state_dir: Path) -> "SimBroker | None":
        """Open the replay journaled in `state_dir` read-only, with its clock at the last journaled time.

        For ``stockbot recover --dry-run``: the broker's view of orders, fills, cash and holdings, with no
        write to the journal. Returns None when no replay was ever started there.

        Raises
        ------
        ConfigurationError
            If a running daemon holds the replay, or the journal was written by other data or engine.
        """
        found = attached_arguments(state_dir)
        if found is None:
            return None
        arguments, clock = found
        broker = cls(**arguments, clock=clock, state_dir=state_dir, read_only=True)
        last = last_journaled_time(broker._journal.journal.records)
        if last is not None and last > clock.now():
            clock.set(last)
        return broker

    # -- REPLAY STATE ---------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Return True once the last session of the period has closed (journaled as ``finished``)."""
        return self._state.finished

    @property
    def clock(self) -> FixedClock:
        """Return the replay clock (the one passed in); only the broker moves it."""
        return self._clock

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the replayed symbols, sorted."""
        return self._market.symbols

    @property
    def days(self) -> list[date]:
        """Return every trading day of the replay."""
        return list(self._state.days)

    @property
    def progress(self) -> tuple[date | None, int]:
        """Return (current or next day, prints of it already played); (None, 0) when finished."""
        if self._state.day_index >= len(self._state.days):
            return None, 0
        return self._state.days[self._state.day_index], self._state.played

    @property
    def book(self) -> ExchangeBook:
        """Return the read-only view of the exchange's orders, fills, account and day quotes (for fronts)."""
        return ExchangeBook(self._engine)

    # -- SessionSchedule ------------------------------------------------------------------------------

    def sessions(self, on_wait: WaitListener | None = None) -> AsyncIterator[TradingSession]:
        """Yield each remaining session after moving the clock to its first order phase (KRX pre-open; never
        calls `on_wait`: a replay moves its own clock and never waits).

        A resumed replay starts with the session it was in. One resumed between two sessions (or after the
        last) first yields the session that closed last, without moving the clock and with nothing left to
        play, so a daemon that died before recording that close can still reconcile and settle it. When the
        consumer asks for the next session without having run the current one to its close, the rest of
        that day is played first.
        """
        return self._playback.sessions()

    async def run_until_close(self, session: TradingSession) -> None:
        """Play the rest of `session`'s prints, then close it (expiring day orders).

        For each print: set the clock, match it, journal a checkpoint, await the order-event handlers with
        each `FillReport`, then the quote handlers subscribed to the symbol. Cancel confirmations are
        delivered before the next print. At the end, each expired order's `CancelReport` (reason "expired
        at the close") is delivered. Returns at once for a session that already closed.

        Raises
        ------
        ValueError
            If `session` is not the replay's current session.
        """
        await self._playback.run_until_close(session)

    # -- Broker: session and reads --------------------------------------------------------------------

    async def login(self) -> None:
        """Do nothing: the simulator needs no credentials."""
        self._journal.require_usable()

    async def get_accounts(self) -> list[AccountRef]:
        """Return the replay's one account, ``SIM-<replay id>``."""
        return self._queries.accounts()

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return the deposit and the cash orderable after working buys' reservations, KRW."""
        self._require_account(account_id)
        return self._queries.cash()

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return holdings with non-zero quantity (average purchase price without costs)."""
        self._require_account(account_id)
        return self._queries.positions()

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return every order of `trading_date` (and older ones still working), in order-number order."""
        self._require_account(account_id)
        return self._queries.orders(trading_date)

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return every execution on `trading_date`, in execution order."""
        self._require_account(account_id)
        return self._queries.fills(trading_date)

    async def get_price(self, symbol: str) -> Quote:
        """Return the last print of the current (or last) session, or the base price before its first print.

        Raises
        ------
        ConfigurationError
            If `symbol` is not replayed, or the data has no price for it before the current session.
        """
        return self._queries.price(symbol)

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return up to `count` bars of `symbol` ending on or before `end`, oldest first (no look-ahead)."""
        return self._queries.daily_bars(symbol, end, count)

    # -- Broker: streams ------------------------------------------------------------------------------

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the prints of `symbols` to `handler` during `run_until_close`.

        Raises
        ------
        ConfigurationError
            If a symbol is not replayed.
        """
        self._streams.subscribe_quotes(symbols, handler)

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver fill, cancel and expiry notices to `handler`."""
        self._streams.subscribe_orders(handler)

    # -- Broker: orders -------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order at the replay clock's time; journaled and fsync-ed before the ack returns.

        A client order id is single-use: one refused with the order is burnt too (journaled).

        Raises
        ------
        OrderRejectedByBroker
            On any validation rule of the matching engine (tick size, limits, cash, holdings, hours…).
        FatalBrokerError
            On a wrong account, or when the journal cannot be written (the replay must stop).
        """
        self._require_account(request.account_id)
        return self._orders.place(request)

    async def place_amount_buy(
        self, account_id: str, symbol: str, amount_krw: Decimal, client_order_id: str | None = None
    ) -> OrderAck:
        """Place a market buy that spends `amount_krw` KRW (plus commission) at the replay clock's time (Upbit's
        ``ord_type=price``; see `MatchingEngine.submit_amount_buy`); journaled like `place_order`.

        Raises
        ------
        OrderRejectedByBroker, FatalBrokerError
            As `place_order`.
        """
        self._require_account(account_id)
        return self._orders.place_amount_buy(account_id, symbol, amount_krw, client_order_id)

    async def burn_client_order_id(self, client_order_id: str) -> None:
        """Make `client_order_id` unusable although no order was placed with it (journaled): a protocol front
        that refused an order before the engine saw it, where the venue burns ids of failed orders too."""
        self._journal.require_usable()
        self._orders.burn(client_order_id)

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str = "") -> None:
        """Cancel the remainder of an order; its `CancelReport` is delivered before the next print.

        Raises
        ------
        OrderRejectedByBroker
            If the order is unknown or has nothing left to cancel.
        FatalBrokerError
            On a wrong account, or when the journal cannot be written.
        """
        self._require_account(account_id)
        self._orders.cancel(broker_order_number)

    async def close(self) -> None:
        """Release the journal; the replay's state stays on disk for the next `SimBroker`."""
        self._journal.journal.close()

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _require_account(self, account_id: str) -> None:
        self._journal.require_usable()
        if account_id != self.account_id:
            raise FatalBrokerError(f"account {account_id} does not exist in replay {self.replay_id}")
