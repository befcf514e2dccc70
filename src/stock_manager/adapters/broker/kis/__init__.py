"""The KIS Open API adapter (한국투자증권): the `Broker` port over REST and WebSocket, paper and live.

Public API: `KisBroker`, `KisConfig`, `KisMode` (built from settings by `entrypoints.kis_factory`).
Modules: `config` (hosts, TR ids, limits), `auth` (token cache, approval key, hashkey), `ratelimit`,
`rest` (raw client, paging, retries), `errors` (KIS codes → project errors), `parsers` (REST answers),
`ws_frames` (WebSocket frames, AES notices), `websocket` (the session), `dispatch` (frames → port events),
`broker` (the facade), `masking`.
"""

from stock_manager.adapters.broker.kis.broker import KisBroker
from stock_manager.adapters.broker.kis.config import KisConfig, KisMode

__all__ = ["KisBroker", "KisConfig", "KisMode"]
