"""A KIS Open API-compatible exchange simulator: REST (aiohttp) and WebSocket (websockets) on loopback in
front of the replaying `SimBroker`, for proving the KIS adapter without reaching KIS.

Public API: `KisExchangeSimulator` (start/stop, ``rest_base_url``, ``ws_url``, ``data_frames_sent``,
``records``, ``faults``, ``drop_ws_connections()``, ``expire_tokens()``), `KisCredential`,
`DEFAULT_CREDENTIAL`, `FaultKnobs` and `run_exchange_sim` (the ``stockbot exchange-sim`` command).
"""

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.faults import FaultKnobs
from stock_manager.adapters.broker.kis_sim.server import DEFAULT_CREDENTIAL, KisExchangeSimulator

__all__ = ["DEFAULT_CREDENTIAL", "FaultKnobs", "KisCredential", "KisExchangeSimulator"]
