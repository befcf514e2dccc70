"""Paper trading on Upbit (``--venue upbit --mode paper``): Upbit has no paper account, so this package trades a
local, journaled paper account (`PaperAccount`, the venue-neutral matching engine with Upbit's rules) against
Upbit's live public market data (`UpbitPublicMarketData`, keyless), behind the `Broker` port
(`UpbitPaperBroker`). `VenueClock` follows a replaying venue's published time (tests, drills).
"""

from stock_manager.adapters.broker.upbit_paper.account import PaperAccount, PaperParams
from stock_manager.adapters.broker.upbit_paper.broker import UpbitPaperBroker
from stock_manager.adapters.broker.upbit_paper.clock import VenueClock
from stock_manager.adapters.broker.upbit_paper.market_data import UpbitPublicMarketData, public_config

__all__ = ["PaperAccount", "PaperParams", "UpbitPaperBroker", "UpbitPublicMarketData", "VenueClock", "public_config"]
