"""``--venue upbit --mode paper``: part of the composition root (`upbit_venue.open_upbit_venue` dispatches here).

Upbit has no paper account: the daemon runs on Upbit's live public market data (keyless REST quotations and the
public WebSocket ``trade`` stream, at ``UPBIT_REST_BASE_URL`` / ``UPBIT_WS_URL`` or api.upbit.com) while its
orders are matched by the local engine in a journaled paper account (``<DATA_DIR>/upbit-paper``, starting with
``UPBIT_PAPER_CASH_KRW``). Sessions are Upbit's 24/7 UTC days; the clock is the wall clock, or with
``UPBIT_PAPER_CLOCK=venue`` the time the venue publishes (a replaying simulator plays faster than real time).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

from stock_manager.adapters.clock import SystemClock
from stock_manager.config.settings import Settings
from stock_manager.config.upbit_paper_settings import PaperClock
from stock_manager.domain.clock import Clock

if TYPE_CHECKING:
    from stock_manager.adapters.broker.upbit_paper.account import PaperParams
    from stock_manager.entrypoints.venues import Venue

#: With the venue's clock, how often the schedule looks at it again, wall seconds (venue time runs fast).
VENUE_CLOCK_POLL_SECS: Final = 0.05
#: The paper account's directory in ``DATA_DIR``.
PAPER_DIR: Final = "upbit-paper"


def paper_state_dir(settings: Settings) -> Path:
    """Return the directory of the paper account's journal."""
    return settings.data_dir / PAPER_DIR


def paper_params(settings: Settings) -> "PaperParams":
    """Return the parameters of the paper account of `settings` (markets, starting cash, participation, fee)."""
    from stock_manager.adapters.broker.upbit_paper.account import PaperParams

    return PaperParams(
        tuple(settings.sim_symbols),
        settings.upbit_paper_cash_krw,
        settings.upbit_paper_participation_rate,
        settings.upbit_fee_rate,
    )


async def _poll_venue_clock(secs: float) -> None:
    await asyncio.sleep(min(secs, VENUE_CLOCK_POLL_SECS))


@asynccontextmanager
async def open_upbit_paper_venue(settings: Settings, *, fresh: bool = False) -> AsyncIterator["Venue"]:
    """Build the paper broker, its schedule and clock; close the broker at the end (the daemon closes it too).

    Raises
    ------
    ConfigurationError
        For a disallowed URL, a malformed ``UPBIT_MAINTENANCE``, a paper account held by another process, or one
        opened with other parameters (without `fresh`).
    TemporaryBrokerError
        If Upbit's public data cannot be reached (the venue's clock needs its time before anything runs).
    """
    from stock_manager.adapters.broker.upbit.config import DEFAULT_REST_BASE_URL, DEFAULT_WS_PUBLIC_URL
    from stock_manager.adapters.broker.upbit_paper import (
        PaperAccount,
        UpbitPaperBroker,
        UpbitPublicMarketData,
        VenueClock,
        public_config,
    )
    from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
    from stock_manager.adapters.venues.upbit.calendar import UpbitCalendar
    from stock_manager.entrypoints.upbit_venue import maintenance_windows, upbit_instruments
    from stock_manager.entrypoints.venues import Venue

    windows = maintenance_windows(settings)
    config = public_config(
        settings.upbit_rest_base_url or DEFAULT_REST_BASE_URL, settings.upbit_ws_url or DEFAULT_WS_PUBLIC_URL
    )
    venue_clock = VenueClock() if settings.upbit_paper_clock is PaperClock.VENUE else None
    clock: Clock = venue_clock or SystemClock()
    market = UpbitPublicMarketData(
        config, settings.sim_symbols, observe_time=venue_clock.observe if venue_clock is not None else None
    )
    instruments = {i.symbol: i for i in upbit_instruments(settings)}
    try:
        account = PaperAccount(paper_state_dir(settings), paper_params(settings), instruments, fresh=fresh)
    except BaseException:
        await market.close()
        raise
    broker = UpbitPaperBroker(account, market, clock)
    try:
        if venue_clock is not None:
            await broker.login()  # the venue's time, before the schedule reads it
        sleep = _poll_venue_clock if venue_clock is not None else asyncio.sleep
        schedule = CalendarSchedule(clock, UpbitCalendar(windows).next_session, sleep=sleep)
        yield Venue(broker, schedule, clock)
    finally:
        await broker.close()
