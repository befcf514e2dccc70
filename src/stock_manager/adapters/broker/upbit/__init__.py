"""The Upbit adapter (KRW spot): `UpbitBroker` (the `Broker` port) over its wire layer — REST and WebSocket
clients, typed venue values, error translation.

Reference: upbit-openapi.md (the adapter's spec) and its samples. `UpbitBroker` (`broker`) is built on
`UpbitExchangeClient` (REST) and `UpbitWebSocket` (``myOrder`` and trades): `placement` sends orders and resolves
ambiguous outcomes by identifier, `reports` converts values, `streams` turns WebSocket messages into events.

Modules: `config` (keys, hosts, rates, timing), `auth` (parameter string, ``query_hash``, JWTs), `ratelimit`
(groups, ``Remaining-Req``, 429/418), `errors` (Upbit answers → project errors), `rest` (the raw client),
`orders` (order body and the §4.3 type matrix), `models` + `parsers` (REST values), `client` (the domain
client, with `quotations` for market data), `ws_messages` (WebSocket events, with `ws_simple` for the SIMPLE
format), `ws_subscription` (what a session subscribes to) and `websocket` (the session).
"""

from stock_manager.adapters.broker.upbit.auth import UpbitAuth
from stock_manager.adapters.broker.upbit.broker import UpbitBroker, account_id_for
from stock_manager.adapters.broker.upbit.client import UpbitExchangeClient
from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.errors import (
    NonceUsed,
    RetryableRead,
    UpbitBlocked,
    UpbitOrderNotFound,
    UpbitRateLimited,
    UpbitRequestRefused,
)
from stock_manager.adapters.broker.upbit.models import (
    UpbitBalance,
    UpbitCandle,
    UpbitChance,
    UpbitInstrument,
    UpbitOrder,
    UpbitTicker,
    UpbitTrade,
    UpbitTradeTick,
)
from stock_manager.adapters.broker.upbit.ratelimit import BlockNotice, UpbitRateLimiter
from stock_manager.adapters.broker.upbit.rest import UpbitRestClient
from stock_manager.adapters.broker.upbit.websocket import Subscription, UpbitWebSocket
from stock_manager.adapters.broker.upbit.ws_messages import (
    AssetChange,
    MyAssetEvent,
    MyOrderEvent,
    OrderbookEvent,
    OrderbookUnit,
    TickerEvent,
    TradeEvent,
    UpbitEvent,
)

__all__ = [
    "AssetChange",
    "BlockNotice",
    "MyAssetEvent",
    "MyOrderEvent",
    "NonceUsed",
    "OrderbookEvent",
    "OrderbookUnit",
    "RetryableRead",
    "Subscription",
    "TickerEvent",
    "TradeEvent",
    "UpbitAuth",
    "UpbitBalance",
    "UpbitBlocked",
    "UpbitBroker",
    "UpbitCandle",
    "UpbitChance",
    "UpbitConfig",
    "UpbitEvent",
    "UpbitExchangeClient",
    "UpbitInstrument",
    "UpbitOrder",
    "UpbitOrderNotFound",
    "UpbitRateLimited",
    "UpbitRateLimiter",
    "UpbitRequestRefused",
    "UpbitRestClient",
    "UpbitTicker",
    "UpbitTrade",
    "UpbitTradeTick",
    "UpbitWebSocket",
    "account_id_for",
]
