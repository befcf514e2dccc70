"""Market data: loaders of the bundled real KRX data and the intraday paths replayed from it.

Public API: `daily_bars`, `daily_bar`, `bars_before`, `previous_close`, `trading_days`, `intraday_bars`,
`intraday_days`, `symbol_info`, `instrument_kind`, `parse_kospi_master`, `session_prints` and
`BUNDLED_SYMBOLS`.
"""

from stock_manager.adapters.marketdata.bundled import BUNDLED_SYMBOLS, data_fingerprint
from stock_manager.adapters.marketdata.daily import bars_before, daily_bar, daily_bars, previous_close, trading_days
from stock_manager.adapters.marketdata.intraday import IntradayBar, intraday_bars, intraday_days
from stock_manager.adapters.marketdata.master import SymbolInfo, instrument_kind, parse_kospi_master, symbol_info
from stock_manager.adapters.marketdata.paths import session_prints

__all__ = [
    "BUNDLED_SYMBOLS",
    "IntradayBar",
    "SymbolInfo",
    "bars_before",
    "daily_bar",
    "daily_bars",
    "data_fingerprint",
    "instrument_kind",
    "intraday_bars",
    "intraday_days",
    "parse_kospi_master",
    "previous_close",
    "session_prints",
    "symbol_info",
    "trading_days",
]
