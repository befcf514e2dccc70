"""`SimBroker`: the replaying exchange behind the `Broker` and `SessionSchedule` ports.

It replays the bundled real data of a set of symbols over a period, day by day, as trade prints (see
`stock_manager.adapters.marketdata.paths`), matches the daemon's orders against them with the
`MatchingEngine`, and advances the replay clock the daemon shares. Everything runs in lockstep: for each
print the clock is set, the engine matches it, fill notices are awaited one handler at a time, then the
quote handlers; so a replay at the fastest speed is deterministic.

The exchange survives a crash of the daemon the way a real broker would: every command and checkpoint goes
to an append-only journal in the state directory (format in `journal`), and a new `SimBroker` built on the
same directory with the same parameters re-runs the journal through the deterministic engine and resumes
at the first print after the last checkpoint. Different parameters archive the old journal and start a
new replay.

This module holds the construction, the replay loop (sessions, prints, notices) and the order commands; the
`Broker` queries (accounts, cash, positions, orders, fills, prices, daily bars) are the `BrokerQueries` mixin
in `queries`, and the journal start, resume, read-only attach and appends the `JournaledReplay` mixin in
`journaling`.
"""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim.identity import choose_generation
from stock_manager.adapters.broker.sim.journal import JOURNAL_FILE, Journal
from stock_manager.adapters.broker.sim.journaling import JournaledReplay
from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.queries import BrokerQueries
from stock_manager.adapters.broker.sim.records import encode_fill, encode_request, iso, replay_params
from stock_manager.adapters.marketdata import (
    daily_bar,
    previous_close,
    session_prints,
    trading_days,
)
from stock_manager.adapters.marketdata.bundled import require_bundled
from stock_manager.adapters.venues.krx.calendar import pre_open, session_for
from stock_manager.adapters.venues.krx.profile import listed_instrument
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import Tick
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import (
    BrokerOrderEvent,
    FillReport,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    TickHandler,
)


class SimBroker(BrokerQueries, JournaledReplay):
    """The replaying exchange simulator, in process.

    Parameters
    ----------
    symbols : Sequence[str]
        Symbols to replay (from `BUNDLED_SYMBOLS`); all of them trade, whatever the daemon subscribes to.
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
        Commission and sell tax; the KIS non-face-to-face rates by default.

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
    ) -> None:
        if not symbols:
            raise ConfigurationError("a replay needs at least one symbol")
        if speed is not None and not speed > 0:
            raise ConfigurationError(f"replay speed must be positive or None (fastest), was {speed}")
        self._symbols = tuple(sorted({require_bundled(symbol) for symbol in symbols}))
        self._days = trading_days(self._symbols, start_date, end_date)
        if not self._days:
            raise ConfigurationError(
                f"no trading day with data for {self._symbols} in {start_date}..{end_date}"
            )
        try:
            config = MatchingConfig(participation_rate, start_cash_krw, cost_model or krx_cost_model())
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self._clock = clock
        self._speed = speed
        self._params = replay_params(self._symbols, start_date, end_date, config)
        self._config = config
        self._instruments = {symbol: listed_instrument(symbol) for symbol in self._symbols}

        self._day_index = 0  # the current (or next) day in self._days
        self._played = 0  # prints of the current day already played
        self._session_open = False
        self._last_opened: date | None = None
        self._finished = False
        self._resumed_after_close = False
        self._last_checkpoint: datetime | None = None
        self._prints: tuple[date, list[Tick]] | None = None
        self._pending: list[BrokerOrderEvent] = []
        self._quote_handlers: list[tuple[frozenset[str], TickHandler]] = []
        self._order_handlers: list[OrderEventHandler] = []

        self._read_only = read_only
        if read_only and not (state_dir / JOURNAL_FILE).exists():
            raise ConfigurationError(f"no replay journal in {state_dir}")
        self._journal = Journal.open(state_dir, read_only=read_only)
        try:
            self._params["generation"] = choose_generation(
                self._journal.records, self._params, requested=generation, fresh=fresh,
                archived_count=self._journal.archived_count())
            self.replay_id = hashlib.sha256(json.dumps(self._params, sort_keys=True).encode()).hexdigest()[:8]
            self.account_id = f"SIM-{self.replay_id}"
            self._engine = MatchingEngine(self.account_id, self._instruments, self._config)
            self._start_or_resume()
        except BaseException:
            self._journal.close()
            raise

    # -- REPLAY STATE ---------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Return True once the last session of the period has closed (journaled as ``finished``)."""
        return self._finished

    @property
    def clock(self) -> FixedClock:
        """Return the replay clock (the one passed in); only the broker moves it."""
        return self._clock

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the replayed symbols, sorted."""
        return self._symbols

    @property
    def days(self) -> list[date]:
        """Return every trading day of the replay."""
        return list(self._days)

    @property
    def progress(self) -> tuple[date | None, int]:
        """Return (current or next day, prints of it already played); (None, 0) when finished."""
        if self._day_index >= len(self._days):
            return None, 0
        return self._days[self._day_index], self._played

    @property
    def engine(self) -> MatchingEngine:
        """Return the matching engine (read it; change it only through the broker)."""
        return self._engine

    # -- SessionSchedule ------------------------------------------------------------------------------

    async def sessions(self) -> AsyncIterator[TradingSession]:
        """Yield each remaining session after moving the clock to its pre-open (08:30 KST normally).

        A resumed replay starts with the session it was in. One resumed between two sessions (or after the
        last) first yields the session that closed last, without moving the clock and with nothing left to
        play, so a daemon that died before recording that close can still reconcile and settle it. When the
        consumer asks for the next session without having run the current one to its close, the rest of
        that day is played first.
        """
        if self._resumed_after_close and not self._session_open and self._day_index > 0:
            self._resumed_after_close = False
            yield session_for(self._days[self._day_index - 1])
        while self._day_index < len(self._days):
            session = session_for(self._days[self._day_index])
            if not self._session_open:
                self._open_session(session)
            yield session
            if self._session_open and self._days[self._day_index] == session.trading_date:
                await self.run_until_close(session)
        if not self._finished:
            self._write({"type": "finished", "ts": iso(self._clock.now())}, sync=True)
            self._finished = True

    async def run_until_close(self, session: TradingSession) -> None:
        """Play the rest of `session`'s prints, then expire the open orders at the close.

        For each print: set the clock, match it, journal a checkpoint, await the order-event handlers with
        each `FillReport`, then the quote handlers subscribed to the symbol. Cancel confirmations are
        delivered before the next print. At the end, each expired order's `CancelReport` (reason "expired
        at the close") is delivered. Returns at once for a session that already closed.

        Raises
        ------
        ValueError
            If `session` is not the replay's current session.
        """
        day = session.trading_date
        if not self._session_open or self._days[self._day_index] != day:
            if day in self._days[: self._day_index]:
                return
            raise ValueError(f"{day} is not the replay's current session")
        prints = self._day_prints(session)
        while self._played < len(prints):
            await self._deliver_pending()
            tick = prints[self._played]
            await self._pace(tick.ts_event)
            self._advance_clock(tick.ts_event)
            fills = self._engine.on_print(tick)
            self._played += 1
            if fills or self._checkpoint_due(tick.ts_event):
                self._write(self._record("print", fills=[encode_fill(f) for f in fills]))
            for fill in fills:
                await self._emit(FillReport(account_id=self.account_id, fill=fill))
            for symbols, handler in self._quote_handlers:
                if tick.symbol in symbols:
                    await handler(tick)
        await self._deliver_pending()
        self._advance_clock(session.ts_close)
        expired = self._engine.expire_open_orders(session.ts_close)
        expired_numbers = [report.broker_order_number for report in expired]
        close = {
            "type": "close",
            "day": day.isoformat(),
            "ts": iso(session.ts_close),
            "expired": expired_numbers,
        }
        self._write(close, sync=True)
        self._session_open = False
        self._day_index += 1
        self._played = 0
        for report in expired:
            await self._emit(report)

    # -- Broker: streams ------------------------------------------------------------------------------

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Deliver the prints of `symbols` to `handler` during `run_until_close`.

        Raises
        ------
        ConfigurationError
            If a symbol is not replayed.
        """
        unknown = sorted(set(symbols) - set(self._symbols))
        if unknown:
            raise ConfigurationError(f"symbols {unknown} are not part of this replay")
        self._quote_handlers.append((frozenset(symbols), handler))

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Deliver fill, cancel and expiry notices to `handler`."""
        self._order_handlers.append(handler)

    # -- Broker: orders -------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order at the replay clock's time; journaled and fsync-ed before the ack returns.

        Raises
        ------
        OrderRejectedByBroker
            On any validation rule of the matching engine (tick size, limits, cash, holdings, hours…).
        FatalBrokerError
            On a wrong account, or when the journal cannot be written (the replay must stop).
        """
        self._require_account(request.account_id)
        ack = self._engine.submit(request, self._clock.now())
        self._write(
            self._record("place", order_number=ack.broker_order_number, request=encode_request(request)),
            sync=True,
        )
        return ack

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
        report = self._engine.cancel(broker_order_number, self._clock.now())
        self._write(self._record("cancel", order_number=report.broker_order_number), sync=True)
        self._pending.append(report)

    async def close(self) -> None:
        """Release the journal; the replay's state stays on disk for the next `SimBroker`."""
        self._journal.close()

    # -- INTERNALS: replay ----------------------------------------------------------------------------

    def _open_session(self, session: TradingSession) -> None:
        self._advance_clock(pre_open(session))
        self._open_engine_day(session.trading_date)
        self._session_open = True
        self._played = 0
        self._last_opened = session.trading_date
        self._write(
            {"type": "session", "day": session.trading_date.isoformat(), "ts": iso(self._clock.now())}
        )

    def _base_prices(self, day: date) -> dict[str, Decimal]:
        # Symbols with a bar on `day` trade; base price = previous close, or the day's open on a first day.
        prices: dict[str, Decimal] = {}
        for symbol in self._symbols:
            bar = daily_bar(symbol, day)
            if bar is None:
                continue
            before = previous_close(symbol, day)
            prices[symbol] = before.close if before is not None else bar.open
        return prices

    def _day_prints(self, session: TradingSession) -> list[Tick]:
        day = session.trading_date
        if self._prints is None or self._prints[0] != day:
            keyed = [
                (tick.ts_event, rank, index, tick)
                for rank, symbol in enumerate(self._symbols)
                for index, tick in enumerate(session_prints(symbol, day, session.ts_open, session.ts_close))
            ]
            self._prints = (day, [tick for *_, tick in sorted(keyed, key=lambda k: k[:3])])
        return self._prints[1]

    async def _pace(self, ts: datetime) -> None:
        if self._speed is None:
            await asyncio.sleep(0)
            return
        gap_secs = max(0.0, (ts - self._clock.now()).total_seconds())
        await asyncio.sleep(gap_secs / self._speed)

    def _advance_clock(self, ts: datetime) -> None:
        if ts > self._clock.now():
            self._clock.set(ts)

    async def _emit(self, event: BrokerOrderEvent) -> None:
        for handler in self._order_handlers:
            await handler(event)

    async def _deliver_pending(self) -> None:
        while self._pending:
            await self._emit(self._pending.pop(0))

    def _open_engine_day(self, day: date) -> tuple[TradingSession, list[Tick]]:
        session = session_for(day)
        self._engine.open_session(session, self._base_prices(day), pre_open(session))
        return session, self._day_prints(session)
