"""Market data values: daily bars and trade ticks."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One trading day of one symbol (KRW prices, volume in the instrument's unit)."""

    symbol: str
    trading_date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Tick:
    """A trade print from the venue's stream, or a replayed point of a bar's path.

    Attributes
    ----------
    price : Decimal
        Trade price, KRW.
    volume : Decimal
        Shares traded at this print (may be 0).
    ts_event : datetime
        Aware UTC time of the print at the exchange.
    """

    symbol: str
    price: Decimal
    volume: Decimal
    ts_event: datetime
