"""``stockbot exchange-sim``: the KIS simulator as a stand-alone server that replays the market itself.

It builds a `SimBroker` over the bundled data (its journal in ``<data dir>/kis-exchange-sim``, resumed
when the same replay was interrupted), puts the KIS protocol front on 127.0.0.1, prints the URLs and a
``.env`` block with the credential it accepts, then plays session after session at the chosen speed
(market seconds per wall second; the night between sessions is skipped). After the last session it keeps
serving inquiries until stopped. Ctrl+C (or `stop`) closes the sockets and the journal cleanly.
"""

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.rest import MASTER_PATH
from stock_manager.adapters.broker.kis_sim.server import DEFAULT_CREDENTIAL, KisExchangeSimulator
from stock_manager.adapters.broker.kis_sim.wire import KisMode
from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.clock import FixedClock
from stock_manager.localtime import kst_datetime


@dataclass(frozen=True, slots=True)
class ExchangeSimOptions:
    """What ``stockbot exchange-sim`` runs.

    Attributes
    ----------
    mode : KisMode
        ``paper`` (VTS: V-prefixed TRs, 2 req/s, H0STCNI9) or ``real``.
    rest_port, ws_port : int
        Ports on 127.0.0.1; 0 picks free ones.
    date_from, date_to : date
        Replay period, inclusive.
    symbols : Sequence[str]
        Bundled symbols to replay.
    speed : float | None
        Market seconds per wall second; None plays as fast as possible.
    state_dir : Path
        Journal directory of the replay.
    fresh : bool
        Start the period again on a new simulated account instead of resuming.
    credential : KisCredential
        The app key, secret, account and HTS id accepted.
    rate_limit_per_sec : float | str | None
        Requests per second per app key ("by-mode": 20 real, 2 paper).
    """

    mode: KisMode
    rest_port: int
    ws_port: int
    date_from: date
    date_to: date
    symbols: Sequence[str]
    speed: float | None
    state_dir: Path
    fresh: bool = False
    credential: KisCredential = DEFAULT_CREDENTIAL
    rate_limit_per_sec: float | str | None = "by-mode"


def check_options(*, rest_port: int, ws_port: int, speed: str) -> None:
    """Refuse ports and a speed ``stockbot exchange-sim`` cannot use, naming the option.

    Raises
    ------
    ConfigurationError
        For a port outside 0–65535 (0: any free port), the same non-zero port twice, or a speed that is
        neither ``fastest`` nor a positive finite number.
    """
    from stock_manager.domain.errors import ConfigurationError

    for option, port in (("--rest-port", rest_port), ("--ws-port", ws_port)):
        if not 0 <= port <= 65535:
            raise ConfigurationError(f"{option} must be 0 (any free port) or 1-65535, was {port}")
    if rest_port and rest_port == ws_port:
        raise ConfigurationError(f"--rest-port and --ws-port must differ, both were {rest_port}")
    if speed != "fastest":
        try:
            value = float(speed)
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            raise ConfigurationError(
                f"--speed must be 'fastest' or a positive number of market seconds per second, was {speed!r}"
            )


async def run_exchange_sim(
    options: ExchangeSimOptions, say: Callable[[str], None], stop: asyncio.Event | None = None
) -> int:
    """Serve the simulator and play the replay until `stop` is set or the task is cancelled (Ctrl+C).

    Returns
    -------
    int
        0 (the exit code).

    Raises
    ------
    ConfigurationError
        For unknown symbols, an empty period, a busy state directory or a port already in use.
    """
    venue = SimBroker(
        symbols=list(options.symbols),
        start_date=options.date_from,
        end_date=options.date_to,
        clock=FixedClock(kst_datetime(options.date_from, time(0, 0))),
        state_dir=options.state_dir,
        speed=options.speed,
        fresh=options.fresh,
    )
    sim = KisExchangeSimulator(
        venue,
        mode=options.mode,
        credentials=[options.credential],
        wall_clock=SystemClock(),
        rest_port=options.rest_port,
        ws_port=options.ws_port,
        rate_limit_per_sec=options.rate_limit_per_sec,
    )
    try:
        try:
            await sim.start()
        except OSError as error:
            from stock_manager.domain.errors import ConfigurationError

            raise ConfigurationError(f"cannot listen on 127.0.0.1: {error.strerror or error}") from None
        _banner(sim, options, venue, say)
        replay = asyncio.ensure_future(_play(venue, say))
        stopped = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            await asyncio.wait({replay, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if replay.done() and not replay.cancelled() and replay.exception() is not None:
                raise replay.exception()  # type: ignore[misc]
            await stopped
        finally:
            for task in (replay, stopped):
                task.cancel()
            await asyncio.gather(replay, stopped, return_exceptions=True)
        say("KIS exchange simulator stopped.")
        return 0
    finally:
        await sim.stop()
        await venue.close()


async def _play(venue: SimBroker, say: Callable[[str], None]) -> None:
    async for session in venue.sessions():
        say(f"session {session.trading_date} (replay account {venue.account_id})")
        await venue.run_until_close(session)
    say("replay finished; still serving inquiries (Ctrl+C stops)")


def _banner(
    sim: KisExchangeSimulator, options: ExchangeSimOptions, venue: SimBroker, say: Callable[[str], None]
) -> None:
    credential = options.credential
    speed = "fastest" if options.speed is None else f"{options.speed:g}x"
    say(
        f"KIS exchange simulator ({options.mode}) replaying {', '.join(venue.symbols)} "
        f"{options.date_from} → {options.date_to} at {speed}"
    )
    say(f"REST      {sim.rest_base_url}")
    say(f"WebSocket {sim.ws_url}")
    say("Accepted credential (simulator only), as .env lines:")
    for name, value in (
        ("KIS_APP_KEY", credential.app_key),
        ("KIS_APP_SECRET", credential.app_secret),
        ("KIS_ACCOUNT", credential.account),
        ("KIS_HTS_ID", credential.hts_id),
        ("KIS_REST_BASE_URL", sim.rest_base_url),
        ("KIS_WS_URL", sim.ws_url),
        ("KIS_MASTER_URL", f"{sim.rest_base_url}{MASTER_PATH}"),
    ):
        say(f"{name}={value}")
