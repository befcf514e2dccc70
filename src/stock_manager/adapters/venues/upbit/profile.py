"""The Upbit venue as the core sees it (`VenueProfile`): KRW-market instruments, the day cut at 00:00 UTC with
the daily bar closing 24 h later, fills identified by Upbit's trade uuid, our client order id sent as
``identifier``, order uuids unique for ever, and orders that live until filled or cancelled (GTC)."""

from collections.abc import Iterable
from datetime import timedelta

from stock_manager.adapters.broker.fill_identity import TradeIdFillIdentity
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY, VENUE
from stock_manager.domain.instruments import Instrument, InstrumentBook
from stock_manager.domain.model import TimeInForce
from stock_manager.service_layer.ports.venue import FillIdentity, VenueProfile

#: A day's candle closes at the end of the day: 24 h after its 00:00 UTC start.
BAR_CLOSE_OFFSET = timedelta(hours=24)


def upbit_profile(
    instruments: Iterable[Instrument] | InstrumentBook, fill_identity: FillIdentity | None = None
) -> VenueProfile:
    """Return the Upbit venue profile for `instruments` (built with `rules.upbit_instrument`)."""
    book = instruments if isinstance(instruments, InstrumentBook) else InstrumentBook.of(list(instruments))
    return VenueProfile(
        name=VENUE,
        instruments=book,
        trading_day=UPBIT_DAY,
        bar_close_offset=BAR_CLOSE_OFFSET,
        fill_identity=fill_identity or TradeIdFillIdentity(),
        client_order_ids=True,
        order_numbers_restart_daily=False,
        default_time_in_force=TimeInForce.GTC,
    )
