"""The Upbit paper broker's harness for the `Broker` contract: a journaled paper account matched on the public
trades of the Upbit-compatible simulator (its public REST and WebSocket endpoints only, no key), which replays two
UTC days of KRW-BTC; the specifications' `SYMBOL` is KRW-BTC renamed (`aliasing`).

The simulator's own account is never used: it only publishes the market. The paper account follows the venue's
published time (`VenueClock`), holds enough KRW for the specifications' orders of 10 to 30 BTC and takes 2 % of each
trade, so 30 BTC fill in many parts within the day. A restart is a new broker on the same journal.
"""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit_paper import (
    PaperAccount,
    PaperParams,
    UpbitPaperBroker,
    UpbitPublicMarketData,
    VenueClock,
    public_config,
)
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model, upbit_instrument
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import Broker, OrderRequest
from tests.contract.aliasing import SymbolAlias
from tests.contract.harness import Events

SYMBOL = "005930"
UPBIT_MARKET = "KRW-BTC"
UPBIT_DAY = date(2024, 3, 1)
PAPER_PARAMS = PaperParams((UPBIT_MARKET,), Decimal(5_000_000_000), Decimal("0.02"), Decimal("0.0005"))


class UpbitPaperHarness:
    """`UpbitPaperBroker` over the Upbit simulator's public endpoints (real loopback sockets)."""

    def __init__(self, tmp_path: Path) -> None:
        self._paper_dir = tmp_path / "paper"
        self.venue = SimBroker(
            symbols=[UPBIT_MARKET],
            start_date=UPBIT_DAY,
            end_date=UPBIT_DAY + timedelta(days=1),
            venue="upbit",
            cost_model=upbit_cost_model(),
            clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path / "venue",
        )
        self.frames = HandledFrames()
        self.server = UpbitExchangeSimulator(self.venue, wall_clock=SystemClock(), rate_limits=None)
        self.instrument = upbit_instrument(UPBIT_MARKET)
        self.events = Events()
        self.session: TradingSession | None = None
        self.account_id = ""
        self.paper: UpbitPaperBroker
        self.broker: Broker

    def _adapter(self) -> UpbitPaperBroker:
        clock = VenueClock()
        config = public_config(
            self.server.rest_base_url, self.server.ws_public_url, reconnect_initial_secs=0.05, reconnect_max_secs=0.2
        )
        market = UpbitPublicMarketData(config, [UPBIT_MARKET], observe_time=clock.observe, on_frame_handled=self.frames)
        return UpbitPaperBroker(PaperAccount(self._paper_dir, PAPER_PARAMS), market, clock)

    async def start(self) -> None:
        await self.server.start()
        self.paper = self._adapter()
        self.broker = SymbolAlias(self.paper, alias=SYMBOL, symbol=UPBIT_MARKET)
        await self.broker.login()
        self.account_id = (await self.broker.get_accounts())[0].account_id

    async def open_day(self) -> date:
        self.session = await anext(aiter(self.venue.sessions()))
        await self.broker.login()  # the venue's time moved: the paper clock reads it
        return self.session.trading_date

    async def play_day(self) -> None:
        assert self.session is not None
        await self.venue.run_until_close(self.session)
        await asyncio.wait_for(self.frames.wait_for(self.server.data_frames_sent), 20)

    async def place_losing_answer(self, request: OrderRequest) -> None:
        await self.broker.place_order(request)  # the acknowledgement is dropped on the floor

    async def restart(self) -> None:
        await self.paper.close()
        self.paper = self._adapter()
        self.broker = SymbolAlias(self.paper, alias=SYMBOL, symbol=UPBIT_MARKET)
        await self.broker.login()
        await self.broker.subscribe_order_events(self.events)

    async def close(self) -> None:
        await self.paper.close()
        await self.server.stop()
        await self.venue.close()


async def upbit_paper_harness(tmp_path: Path) -> UpbitPaperHarness:
    harness = UpbitPaperHarness(tmp_path)
    await harness.start()
    return harness
