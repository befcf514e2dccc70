"""The KRX venue as the core sees it (`VenueProfile`): its instruments from the KIS master file, the Korean
trading day, decisions timed at the 15:30 close, executions identified by cumulative quantity, and day orders.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity
from stock_manager.adapters.marketdata.master import symbol_info
from stock_manager.adapters.venues.krx.rules import KRX_DAY, VENUE, krx_instrument
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument, InstrumentBook
from stock_manager.domain.model import InstrumentKind, TimeInForce
from stock_manager.service_layer.ports.venue import FillIdentity, VenueProfile

#: 15:30 KST, after the start of the KRX trading day (00:00 KST).
BAR_CLOSE_OFFSET = timedelta(hours=15, minutes=30)


def listed_instrument(symbol: str) -> Instrument:
    """Return the instrument of a KOSPI symbol from the bundled KIS master (name, kind, tick table).

    Raises
    ------
    ConfigurationError
        If the symbol is not in the master, or of a group the project does not trade.
    """
    info = symbol_info(symbol)
    if info.kind is None:
        raise ConfigurationError(f"symbol {symbol} is of master group {info.group_code}, which is not traded")
    return replace(krx_instrument(symbol, info.kind, info.name), market=info.market)


def kind_of(symbol: str) -> InstrumentKind:
    """Return the kind (STOCK, ETF) of a listed symbol, STOCK when the master does not know it."""
    try:
        return symbol_info(symbol).kind or InstrumentKind.STOCK
    except ConfigurationError:
        return InstrumentKind.STOCK


def krx_profile(
    instruments: Iterable[Instrument] | InstrumentBook, fill_identity: FillIdentity | None = None
) -> VenueProfile:
    """Return the KRX venue profile for `instruments`."""
    book = instruments if isinstance(instruments, InstrumentBook) else InstrumentBook.of(list(instruments))
    return VenueProfile(
        name=VENUE,
        instruments=book,
        trading_day=KRX_DAY,
        bar_close_offset=BAR_CLOSE_OFFSET,
        fill_identity=fill_identity or CumulativeFillIdentity(),
        client_order_ids=False,
        order_numbers_restart_daily=True,
        default_time_in_force=TimeInForce.DAY,
    )
