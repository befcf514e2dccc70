"""The sim broker's playback: the replay's sessions, one after another, and the prints of each in time order.

A collaborator of `SimBroker` (in `broker`), behind the `SessionSchedule` port. It opens each day's session in
the matching engine, then plays the day's prints in lockstep: for each print the replay clock is set, the engine
matches it, the journal takes a checkpoint, the fill notices are delivered one handler at a time, then the
quote handlers. At the close it expires day orders and journals the close; after the last session, the end.
With no speed the prints play as fast as possible (yielding to the event loop between them), so the replay is
deterministic.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime

from stock_manager.adapters.broker.sim.journaling import ReplayJournal
from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.broker.sim.records import encode_fill, iso
from stock_manager.adapters.broker.sim.state import ReplayState
from stock_manager.adapters.broker.sim.streams import EventStreams
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.market import Tick
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import FillReport


class ReplayPlayback:
    """Plays the replay's days through the engine (the `SimBroker` docstrings of `sessions` and
    `run_until_close` say what each call does).

    Parameters
    ----------
    speed : float | None
        Market seconds per wall second; None plays as fast as possible.
    """

    def __init__(
        self,
        *,
        account_id: str,
        market: ReplayMarket,
        engine: MatchingEngine,
        journal: ReplayJournal,
        streams: EventStreams,
        state: ReplayState,
        clock: FixedClock,
        speed: float | None,
    ) -> None:
        self.account_id = account_id
        self._market = market
        self._engine = engine
        self._journal = journal
        self._streams = streams
        self._state = state
        self._clock = clock
        self._speed = speed

    async def sessions(self) -> AsyncIterator[TradingSession]:
        """Yield each remaining session after moving the clock to its first order phase (`SimBroker.sessions`)."""
        state = self._state
        if state.resumed_after_close and not state.session_open and state.day_index > 0:
            state.resumed_after_close = False
            yield self._market.session(state.days[state.day_index - 1])
        while state.day_index < len(state.days):
            session = self._market.session(state.days[state.day_index])
            if not state.session_open:
                self._open_session(session)
            yield session
            if state.session_open and state.days[state.day_index] == session.trading_date:
                await self.run_until_close(session)
        if not state.finished:
            self._journal.write({"type": "finished", "ts": iso(self._clock.now())}, sync=True)
            state.finished = True

    async def run_until_close(self, session: TradingSession) -> None:
        """Play the rest of `session`'s prints, then close it (`SimBroker.run_until_close`).

        Raises
        ------
        ValueError
            If `session` is not the replay's current session.
        """
        state, day = self._state, session.trading_date
        if not state.session_open or state.days[state.day_index] != day:
            if day in state.days[: state.day_index]:
                return
            raise ValueError(f"{day} is not the replay's current session")
        prints = self.day_prints(session)
        while state.played < len(prints):
            await self._streams.deliver_held()
            tick = prints[state.played]
            await self._pace(tick.ts_event)
            self._advance_clock(tick.ts_event)
            fills = self._engine.on_print(tick)
            state.played += 1
            if fills or self._journal.checkpoint_due(tick.ts_event):
                self._journal.write(self._journal.record("print", fills=[encode_fill(f) for f in fills]))
            for fill in fills:
                await self._streams.emit(FillReport(account_id=self.account_id, fill=fill))
            for spent in self._engine.take_closed():  # buys by amount that ended with dust
                await self._streams.emit(spent)
            await self._streams.quote(tick)
        await self._streams.deliver_held()
        self._advance_clock(session.ts_close)
        expired = self._engine.expire_open_orders(session.ts_close)
        self._journal.write(
            {
                "type": "close",
                "day": day.isoformat(),
                "ts": iso(session.ts_close),
                "expired": [report.broker_order_number for report in expired],
            },
            sync=True,
        )
        state.session_open = False
        state.day_index += 1
        state.played = 0
        for report in expired:
            await self._streams.emit(report)

    def _open_session(self, session: TradingSession) -> None:
        state = self._state
        self._advance_clock(session.ts_first_order)
        self.open_engine_day(session.trading_date)
        state.session_open, state.played, state.last_opened = True, 0, session.trading_date
        self._journal.write({"type": "session", "day": session.trading_date.isoformat(), "ts": iso(self._clock.now())})

    def open_engine_day(self, day: date) -> tuple[TradingSession, list[Tick]]:
        """Open `day`'s session in the engine (base prices, orders accepted from its first order phase) and
        return it with its prints (also how the journal re-runs a day on resume)."""
        session = self._market.session(day)
        self._engine.open_session(session, self._market.base_prices(day), session.ts_first_order)
        return session, self.day_prints(session)

    def day_prints(self, session: TradingSession) -> list[Tick]:
        """Return every print of `session`, all symbols, in time order (ties: symbol order, then data order);
        cached for the current day."""
        state, day = self._state, session.trading_date
        if state.prints is None or state.prints[0] != day:
            keyed = [
                (tick.ts_event, rank, index, tick)
                for rank, symbol in enumerate(self._market.symbols)
                for index, tick in enumerate(self._market.prints(symbol, session))
            ]
            state.prints = (day, [tick for *_, tick in sorted(keyed, key=lambda k: k[:3])])
        return state.prints[1]

    async def _pace(self, ts: datetime) -> None:
        if self._speed is None:
            await asyncio.sleep(0)
            return
        gap_secs = max(0.0, (ts - self._clock.now()).total_seconds())
        await asyncio.sleep(gap_secs / self._speed)

    def _advance_clock(self, ts: datetime) -> None:
        if ts > self._clock.now():
            self._clock.set(ts)
