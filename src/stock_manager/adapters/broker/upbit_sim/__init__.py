"""An Upbit Open API-compatible exchange simulator: REST and WebSocket (aiohttp, one port) on loopback in front of
the replaying `SimBroker`, for proving the Upbit adapter without reaching Upbit.

Public API: `UpbitExchangeSimulator` (start/stop, ``rest_base_url``, ``ws_public_url``, ``ws_private_url``,
``data_frames_sent``, ``after_broadcast``, ``records``, ``faults``, ``fault_log``, ``drop_ws_connections()``),
`UpbitKey`, `DEFAULT_KEY`, `UpbitFaultKnobs`, and `run_upbit_exchange_sim` with `UpbitSimOptions` (the stand-alone
server). Modules: `auth` (JWT check), `limits` (rate limits), `wire` (formats), `render` (order objects and
events), `rest`/`rest_exchange`/`rest_quotes` (routes), `ws` (WebSocket), `events` (venue events → frames),
`market_view` (public market state), `faults`, `server`, `standalone`.
"""

from stock_manager.adapters.broker.upbit_sim.auth import UpbitKey
from stock_manager.adapters.broker.upbit_sim.faults import UpbitFaultKnobs
from stock_manager.adapters.broker.upbit_sim.server import DEFAULT_KEY, UpbitExchangeSimulator
from stock_manager.adapters.broker.upbit_sim.standalone import UpbitSimOptions, run_upbit_exchange_sim

__all__ = [
    "DEFAULT_KEY",
    "UpbitExchangeSimulator",
    "UpbitFaultKnobs",
    "UpbitKey",
    "UpbitSimOptions",
    "run_upbit_exchange_sim",
]
