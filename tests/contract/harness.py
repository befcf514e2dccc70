"""One harness per `Broker` implementation for the port's contract specifications.

A harness owns a venue for the specification's duration and drives its market: it opens a trading day, plays
the day's prints (or, for the in-memory fake, executes what a market would), loses an order's answer, and
restarts the client on the same venue. A venue joins the contract by adding a harness and listing it in
`conftest.HARNESSES` (the Upbit adapter over the Upbit-compatible simulator did).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from stock_manager.adapters.broker.kis_sim import KisExchangeSimulator
from stock_manager.adapters.broker.kis_sim.faults import FaultKnobs
from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator, UpbitFaultKnobs
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model, upbit_instrument
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import AmbiguousOrderOutcome
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.model import OrderType
from stock_manager.domain.sessions import TradingSession
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import (
    Broker,
    BrokerOrderEvent,
    BrokerOrderState,
    CashBalance,
    OrderRequest,
    Quote,
)
from tests.contract.aliasing import SymbolAlias
from tests.fakes import Ambiguous, FakeBroker
from tests.kis.sim_support import SharedWall, make_adapter
from tests.upbit_sim.support import make_adapter as make_upbit_adapter

SYMBOL = "005930"
DAY = date(2023, 12, 20)
UPBIT_MARKET = "KRW-BTC"
UPBIT_DAY = date(2024, 3, 1)
#: A tiny share of each print's volume, so an order of a few dozen shares fills in several parts.
PARTICIPATION = Decimal("0.00001")


@dataclass
class Events:
    """What the broker's order-event stream delivered."""

    received: list[BrokerOrderEvent] = field(default_factory=list)

    async def __call__(self, event: BrokerOrderEvent) -> None:
        self.received.append(event)


class VenueHarness(Protocol):
    """A `Broker` and the means to drive its venue."""

    broker: Broker
    account_id: str
    instrument: Instrument
    events: Events

    async def open_day(self) -> date:
        """Open the trading day the specifications trade on; return its trading date."""
        ...

    async def play_day(self) -> None:
        """Let the market run to the day's close (fills, then expiry of day orders); notices delivered."""
        ...

    async def place_losing_answer(self, request: OrderRequest) -> None:
        """Place `request` so that the venue takes it but the answer never reaches the client."""
        ...

    async def restart(self) -> None:
        """Replace the client (and, for a simulator, the process) with a new one on the same venue."""
        ...

    async def close(self) -> None:
        """Release everything."""
        ...


class FakeHarness:
    """The unit-test fake: its book plays a market where buy limits at or above the price fill in two parts."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FixedClock(kst_datetime(DAY, time(8, 30)))
        self.account_id = "50123456-01"
        self.fake = FakeBroker(self.clock, self.account_id)
        self.fake.cash = CashBalance(self.account_id, Decimal(10_000_000), Decimal(10_000_000))
        self.fake.checks_cash = True
        self.fake.confirms_cancels = True
        self.fake.quotes[SYMBOL] = Quote(
            SYMBOL, Decimal(72_000), Decimal(72_000), Decimal(93_600), Decimal(50_400), self.clock.now()
        )
        self.broker: Broker = self.fake
        self.instrument = krx_instrument(SYMBOL)
        self.events = Events()

    async def open_day(self) -> date:
        return DAY

    async def play_day(self) -> None:
        self.clock.set(kst_datetime(DAY, time(9, 0)))
        price = self.fake.quotes[SYMBOL].price
        for report in list(self.fake.orders.values()):
            if report.state is not BrokerOrderState.OPEN:
                continue
            if report.order_type is OrderType.MARKET or (report.limit_price or 0) >= price:
                first = (report.quantity - report.filled_quantity) // 2
                for part in (first, report.quantity - report.filled_quantity - first):
                    if part > 0:
                        await self.fake.fill(report.broker_order_number, part, report.limit_price or price)
        self.clock.set(kst_datetime(DAY, time(15, 30)))
        for report in list(self.fake.orders.values()):
            if report.state is BrokerOrderState.OPEN:
                await self.fake.expire(report.broker_order_number)

    async def place_losing_answer(self, request: OrderRequest) -> None:
        self.fake.script_place(Ambiguous(placed=True))
        try:
            await self.fake.place_order(request)
        except AmbiguousOrderOutcome:
            return
        raise AssertionError("the scripted outcome was not ambiguous")

    async def restart(self) -> None:
        """The fake's book is the venue: a new client sees the same book."""

    async def close(self) -> None:
        """Nothing to release."""


class SimHarness:
    """The replaying exchange in process (`SimBroker`), journaled in a directory; restart = a new process."""

    def __init__(self, tmp_path: Path) -> None:
        self._state_dir = tmp_path / "venue"
        self.sim = self._new()
        self.broker: Broker = self.sim
        self.account_id = self.sim.account_id
        self.instrument = krx_instrument(SYMBOL)
        self.events = Events()
        self.session: TradingSession | None = None

    def _new(self) -> SimBroker:
        return SimBroker(
            symbols=[SYMBOL],
            start_date=DAY,
            end_date=DAY,
            participation_rate=PARTICIPATION,
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=self._state_dir,
        )

    async def open_day(self) -> date:
        self.session = await anext(aiter(self.sim.sessions()))
        return self.session.trading_date

    async def play_day(self) -> None:
        assert self.session is not None
        await self.sim.run_until_close(self.session)

    async def place_losing_answer(self, request: OrderRequest) -> None:
        await self.sim.place_order(request)  # the acknowledgement is dropped on the floor

    async def restart(self) -> None:
        await self.sim.close()
        self.sim = self._new()
        self.broker = self.sim
        await self.broker.subscribe_order_events(self.events)

    async def close(self) -> None:
        await self.sim.close()


class KisHarness:
    """The KIS adapter against the KIS-compatible simulator on loopback (real sockets, the KIS wire format)."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp = tmp_path
        self.wall = SharedWall()
        self.venue = SimBroker(
            symbols=[SYMBOL],
            start_date=DAY,
            end_date=DAY,
            participation_rate=PARTICIPATION,
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path / "venue",
        )
        self.faults = FaultKnobs(unanswered_mode="error500")
        self.frames = HandledFrames()
        self.server = KisExchangeSimulator(
            self.venue,
            mode="paper",
            wall_clock=self.wall,
            rate_limit_per_sec=None,
            pingpong_interval_secs=None,
            faults=self.faults,
        )
        self.instrument = krx_instrument(SYMBOL)
        self.events = Events()
        self.session: TradingSession | None = None
        self.account_id = ""
        self.broker: Broker

    async def start(self) -> None:
        await self.server.start()
        self.broker = make_adapter(self.server, self.venue, self.wall, self._tmp / "tokens", self.frames)
        await self.broker.login()
        self.account_id = (await self.broker.get_accounts())[0].account_id

    async def open_day(self) -> date:
        self.session = await anext(aiter(self.venue.sessions()))
        return self.session.trading_date

    async def play_day(self) -> None:
        assert self.session is not None
        await self.venue.run_until_close(self.session)
        await asyncio.wait_for(self.frames.wait_for(self.server.data_frames_sent), 20)

    async def place_losing_answer(self, request: OrderRequest) -> None:
        self.faults.unanswered_orders = 1
        try:
            await self.broker.place_order(request)
        except AmbiguousOrderOutcome:
            return
        raise AssertionError("the simulator answered an order it was told to leave unanswered")

    async def restart(self) -> None:
        await self.broker.close()
        self.broker = make_adapter(self.server, self.venue, self.wall, self._tmp / "tokens", self.frames)
        await self.broker.login()
        await self.broker.subscribe_order_events(self.events)

    async def close(self) -> None:
        await self.broker.close()
        await self.server.stop()
        await self.venue.close()


class UpbitHarness:
    """The Upbit adapter against the Upbit-compatible simulator on loopback (real sockets, Upbit's wire format),
    replaying two UTC days of KRW-BTC; the specifications' `SYMBOL` is KRW-BTC renamed (`aliasing`).

    The account holds enough KRW for the specifications' orders of 10 to 30 BTC, and the simulator's
    ``max_total`` (1,000,000,000 KRW at Upbit) is raised so the "far beyond the cash" order is refused for its
    funds. A tiny participation makes 30 BTC fill in many parts within the day.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.venue = SimBroker(
            symbols=[UPBIT_MARKET],
            start_date=UPBIT_DAY,
            end_date=UPBIT_DAY + timedelta(days=1),
            venue="upbit",
            participation_rate=Decimal("0.02"),
            cost_model=upbit_cost_model(),
            start_cash_krw=Decimal(5_000_000_000),
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path / "venue",
        )
        self.faults = UpbitFaultKnobs(lost_mode="error500")
        self.frames = HandledFrames()
        self.server = UpbitExchangeSimulator(
            self.venue, wall_clock=SystemClock(), faults=self.faults, max_total_krw=Decimal(10**15)
        )
        self.instrument = upbit_instrument(UPBIT_MARKET)
        self.events = Events()
        self.session: TradingSession | None = None
        self.account_id = ""
        self.broker: Broker

    def _adapter(self) -> Broker:
        return SymbolAlias(make_upbit_adapter(self.server, self.frames), alias=SYMBOL, symbol=UPBIT_MARKET)

    async def start(self) -> None:
        await self.server.start()
        self.broker = self._adapter()
        await self.broker.login()
        self.account_id = (await self.broker.get_accounts())[0].account_id

    async def open_day(self) -> date:
        self.session = await anext(aiter(self.venue.sessions()))
        return self.session.trading_date

    async def play_day(self) -> None:
        assert self.session is not None
        await self.venue.run_until_close(self.session)
        await asyncio.wait_for(self.frames.wait_for(self.server.data_frames_sent), 20)

    async def place_losing_answer(self, request: OrderRequest) -> None:
        self.faults.lost_order_responses = 1
        try:
            await self.broker.place_order(request)  # adopted by its identifier when it has one
        except AmbiguousOrderOutcome:
            return

    async def restart(self) -> None:
        await self.broker.close()
        self.broker = self._adapter()
        await self.broker.login()
        await self.broker.subscribe_order_events(self.events)

    async def close(self) -> None:
        await self.broker.close()
        await self.server.stop()
        await self.venue.close()


type HarnessFactory = Callable[[Path], Awaitable[VenueHarness]]


async def fake_harness(tmp_path: Path) -> VenueHarness:
    return FakeHarness(tmp_path)


async def sim_harness(tmp_path: Path) -> VenueHarness:
    return SimHarness(tmp_path)


async def kis_harness(tmp_path: Path) -> VenueHarness:
    harness = KisHarness(tmp_path)
    await harness.start()
    return harness


async def upbit_harness(tmp_path: Path) -> VenueHarness:
    harness = UpbitHarness(tmp_path)
    await harness.start()
    return harness


__all__ = [
    "DAY",
    "SYMBOL",
    "Events",
    "VenueHarness",
    "fake_harness",
    "kis_harness",
    "session_for",
    "sim_harness",
    "upbit_harness",
]
