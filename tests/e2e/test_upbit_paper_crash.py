"""The Upbit paper daemon dying at the worst moments: right after the paper account took an order (before the
database heard of it), and as a paper fill's notice arrives (before it was recorded). Started again on the same
paper journal and database, it adopts the order once and records the fill once, then trades on: one order of ours
per paper order, every paper fill once, the holdings equal. In process, against the Upbit simulator's public
endpoints, the replay held in lockstep with the paper broker (and paused while the daemon is dead)."""

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit_paper import (
    PaperAccount,
    UpbitPaperBroker,
    UpbitPublicMarketData,
    VenueClock,
    public_config,
)
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.upbit.calendar import UpbitCalendar
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.positions import positions_from_fills
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage
from stock_manager.entrypoints.upbit_paper_venue import paper_params, paper_state_dir
from stock_manager.entrypoints.venues import Lockstep, Venue
from stock_manager.service_layer.ports.broker import FillReport
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings
from tests.e2e.test_crash_recovery import SimulatedCrash
from tests.upbit_sim.support import DAY

#: Market seconds per wall second: the market does not wait for the daemon (a UTC day in 6 s).
SPEED = 14_400.0


class CrashingPaperBroker:
    """The paper broker, with the daemon 'dying' right after one chosen step succeeded at the paper account."""

    def __init__(self, inner: UpbitPaperBroker, crash: str, died: asyncio.Event) -> None:
        self._inner, self._crash, self._died = inner, crash, died

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def place_order(self, request):
        ack = await self._inner.place_order(request)  # the paper account holds (and journaled) the order now
        if self._crash == "after_place" and not self._died.is_set():
            self._died.set()
            raise SimulatedCrash("died between the paper account's acknowledgement and recording it")
        return ack

    async def subscribe_order_events(self, handler):
        async def dying_handler(event):
            if self._crash == "on_fill" and isinstance(event, FillReport) and not self._died.is_set():
                self._died.set()
                raise SimulatedCrash("died as the paper fill's notice arrived, before recording it")
            await handler(event)

        await self._inner.subscribe_order_events(dying_handler)


class PausableReplay:
    """The simulator's replay driven in lockstep with the paper broker's handled frames, paused at will."""

    def __init__(self, tmp_path: Path) -> None:
        self.replay = SimBroker(
            symbols=["KRW-BTC"],
            start_date=DAY,
            end_date=DAY + timedelta(days=3),
            venue="upbit",
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path / "exchange",
            cost_model=upbit_cost_model(),
            speed=SPEED,
        )
        self.lockstep = Lockstep()
        self.running = asyncio.Event()
        self.server = UpbitExchangeSimulator(
            self.replay, wall_clock=SystemClock(), rate_limits=None, after_broadcast=self._step
        )
        self.lockstep.bind(self.server)
        self._task: asyncio.Task[None] | None = None

    async def _step(self) -> None:
        await self.running.wait()
        await self.lockstep()

    async def start(self) -> None:
        await self.server.start()
        self._task = asyncio.create_task(self._play())

    async def _play(self) -> None:
        async for session in self.replay.sessions():
            await self.replay.run_until_close(session)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.server.stop()
        await self.replay.close()


async def run_daemon(settings, exchange: PausableReplay, *, crash: str | None, sessions: int):
    died = asyncio.Event()
    clock = VenueClock()
    market = UpbitPublicMarketData(
        public_config(exchange.server.rest_base_url, exchange.server.ws_public_url),
        settings.sim_symbols,
        observe_time=clock.observe,
        on_frame_handled=exchange.lockstep.handled,
    )
    paper = UpbitPaperBroker(PaperAccount(paper_state_dir(settings), paper_params(settings)), market, clock)
    broker = paper if crash is None else CrashingPaperBroker(paper, crash, died)
    await paper.login()
    schedule = CalendarSchedule(
        clock, UpbitCalendar().next_session, sleep=lambda s: asyncio.sleep(min(s, 0.02)), max_sessions=sessions
    )
    async with open_storage(settings, upgrade=False) as storage:
        daemon = build_daemon(settings, storage, Venue(broker, schedule, clock), notifier=NullNotifier())
        run = asyncio.create_task(daemon.run())
        while market.stream is None or not market.stream.connected:  # noqa: ASYNC110 - a started stream, polled
            await asyncio.sleep(0.01)  # subscribed: let the market move
        exchange.running.set()
        await asyncio.wait({run, asyncio.create_task(died.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if died.is_set():  # the process is gone: the market goes on without it, nothing more is handled here
            exchange.running.clear()
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, SimulatedCrash):
                await run
            await paper.close()
            return None
        return run.result()


@pytest.mark.parametrize("crash", ["after_place", "on_fill"])
async def test_paper_daemon_when_it_died_at_an_order_or_a_fill_then_restarted_adopts_once_and_records_once(
    tmp_path: Path, db_url: str, crash: str
):
    settings = replay_settings(
        tmp_path / "data",
        db_url,
        venue="upbit",
        mode="paper",
        sim_symbols="KRW-BTC",
        upbit_paper_clock="venue",
        risk_max_quote_age_secs=900,
    )
    exchange = PausableReplay(tmp_path)
    await exchange.start()
    try:
        assert await run_daemon(settings, exchange, crash=crash, sessions=2) is None, "the daemon died"
        result = await run_daemon(settings, exchange, crash=None, sessions=2)
    finally:
        await exchange.stop()

    paper = PaperAccount.attach(paper_state_dir(settings))
    assert paper is not None
    async with open_storage(settings, upgrade=False) as storage, storage.uow_factory() as uow:
        account = paper.account_id
        orders = [
            o
            for s in await uow.settlements.list_all(account)
            for o in await uow.orders.list_for_date(account, s.trading_date)
        ]
        orders += [o for o in await uow.orders.list_open(account) if o not in orders]
        fills = await uow.fills.list_for_account(account)
        adopted = await uow.events.list_kind("recovery_adopted", account)
    paper_orders, paper_fills = paper.engine.orders(), paper.fills()
    holdings = {p.symbol: p.quantity for p in paper.positions()}
    paper.close()
    assert result.settlements, "the restarted daemon traded on"
    numbers = Counter(o.broker_order_number for o in orders)
    assert set(numbers) == {o.broker_order_number for o in paper_orders} and set(numbers.values()) == {1}
    assert sorted(s.fill.broker_fill_id for s in fills) == sorted(f.broker_fill_id for f in paper_fills)
    assert all(s.order_id is not None for s in fills)
    ours = positions_from_fills(account, [s.fill for s in fills])
    assert {s: p.quantity for s, p in ours.items() if p.quantity} == holdings
    if crash == "after_place":
        assert len(adopted) == 1  # found in the paper account by its identifier, adopted, never sent again
    else:
        assert any(s.source == "recovery" for s in fills)  # the fill the dead daemon never recorded
