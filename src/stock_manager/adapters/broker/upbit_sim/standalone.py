"""The Upbit simulator as a stand-alone server that replays the market itself (for ``stockbot exchange-sim
--venue upbit``, wired by the CLI).

It builds a `SimBroker` over the bundled Upbit candles (its journal in `UpbitSimOptions.state_dir`, resumed when
the same replay was interrupted), puts the Upbit protocol front on 127.0.0.1, prints the URLs and the ``.env``
lines with the key pair it accepts, then plays day after day at the chosen speed (market seconds per wall
second). After the last day it keeps serving inquiries until stopped. Ctrl+C (or `stop`) closes the sockets and
the journal cleanly.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.broker.upbit_sim.auth import UpbitKey
from stock_manager.adapters.broker.upbit_sim.limits import DEFAULT_LIMITS
from stock_manager.adapters.broker.upbit_sim.server import DEFAULT_KEY, UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY, upbit_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class UpbitSimOptions:
    """What the stand-alone Upbit simulator runs.

    Attributes
    ----------
    port : int
        Port on 127.0.0.1 for REST and WebSocket; 0 picks a free one.
    date_from, date_to : date
        Replay period (UTC days), inclusive.
    symbols : Sequence[str]
        Bundled markets to replay (``KRW-BTC``).
    speed : float | None
        Market seconds per wall second; None plays as fast as possible.
    state_dir : Path
        Journal directory of the replay.
    fresh : bool
        Start the period again on a new simulated account instead of resuming.
    key : UpbitKey
        The key pair accepted.
    start_cash_krw : Decimal
        Deposit of a new replay, KRW.
    rate_limits_on : bool
        Enforce Upbit's per-second limits (429, then 418 blocks).
    """

    port: int
    date_from: date
    date_to: date
    symbols: Sequence[str]
    speed: float | None
    state_dir: Path
    fresh: bool = False
    key: UpbitKey = DEFAULT_KEY
    start_cash_krw: Decimal = Decimal(10_000_000)
    rate_limits_on: bool = True


async def run_upbit_exchange_sim(
    options: UpbitSimOptions, say: Callable[[str], None], stop: asyncio.Event | None = None
) -> int:
    """Serve the simulator and play the replay until `stop` is set or the task is cancelled (Ctrl+C).

    Returns
    -------
    int
        0 (the exit code).

    Raises
    ------
    ConfigurationError
        For unknown markets, an empty period, a busy state directory or a port already in use.
    """
    venue = SimBroker(
        symbols=list(options.symbols),
        start_date=options.date_from,
        end_date=options.date_to,
        clock=FixedClock(UPBIT_DAY.start_of(options.date_from) - timedelta(hours=1)),
        state_dir=options.state_dir,
        speed=options.speed,
        fresh=options.fresh,
        venue="upbit",
        cost_model=upbit_cost_model(),
        start_cash_krw=options.start_cash_krw,
    )
    sim = UpbitExchangeSimulator(
        venue,
        keys=[options.key],
        wall_clock=SystemClock(),
        port=options.port,
        rate_limits=DEFAULT_LIMITS if options.rate_limits_on else None,
    )
    try:
        try:
            await sim.start()
        except OSError as error:
            raise ConfigurationError(f"cannot listen on 127.0.0.1: {error.strerror or error}") from None
        _banner(sim, options, venue, say)
        replay = asyncio.ensure_future(_play(venue, say))
        stopped = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            await asyncio.wait({replay, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if replay.done() and not replay.cancelled() and (failure := replay.exception()) is not None:
                raise failure
            await stopped
        finally:
            for task in (replay, stopped):
                task.cancel()
            await asyncio.gather(replay, stopped, return_exceptions=True)
        say("Upbit exchange simulator stopped.")
        return 0
    finally:
        await sim.stop()
        await venue.close()


async def _play(venue: SimBroker, say: Callable[[str], None]) -> None:
    async for session in venue.sessions():
        say(f"day {session.trading_date} (UTC; replay account {venue.account_id})")
        await venue.run_until_close(session)
    say("replay finished; still serving inquiries (Ctrl+C stops)")


def _banner(
    sim: UpbitExchangeSimulator, options: UpbitSimOptions, venue: SimBroker, say: Callable[[str], None]
) -> None:
    speed = "fastest" if options.speed is None else f"{options.speed:g}x"
    say(
        f"Upbit exchange simulator replaying {', '.join(venue.symbols)} {options.date_from} → {options.date_to} "
        f"at {speed}"
    )
    say(f"REST              {sim.rest_base_url}")
    say(f"WebSocket public  {sim.ws_public_url}")
    say(f"WebSocket private {sim.ws_private_url}")
    say("Accepted key pair (simulator only), as .env lines:")
    for name, value in (
        ("VENUE", "upbit"),
        ("UPBIT_ACCESS_KEY", options.key.access_key),
        ("UPBIT_SECRET_KEY", options.key.secret_key),
        ("UPBIT_REST_BASE_URL", sim.rest_base_url),
        ("UPBIT_WS_URL", sim.ws_public_url),
    ):
        say(f"{name}={value}")
