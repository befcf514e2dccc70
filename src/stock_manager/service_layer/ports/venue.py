"""**Port:** what the service layer must know of a venue besides its broker: instruments, the trading day,
how executions are identified, and the venue's declared habits (which the core handles generically).

The composition root builds one `VenueProfile` per run from the venue's adapters (rule book, calendar,
broker adapter); the service layer never names a venue.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.fill_matching import MissingFills
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import InstrumentBook
from stock_manager.domain.model import TimeInForce


class FillIdentity(Protocol):
    """**Port:** the identity a venue's execution is recorded under, the same whichever way it was learnt."""

    def identify(self, account_id: str, fill: Fill, recorded_quantity: Decimal) -> str:
        """Return the identity of `fill`, given the quantity of its order already recorded."""
        ...

    def missing(self, account_id: str, recorded: Sequence[Fill], at_broker: Sequence[Fill]) -> MissingFills:
        """Return the venue's executions of one order beyond `recorded`, or the surplus of ours."""
        ...


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """One venue as the core needs it.

    Attributes
    ----------
    name : str
        The venue's name, as its adapters call it; stored with accounts and instruments.
    instruments : InstrumentBook
        The instruments of the run, with their price and size rules.
    trading_day : DayBoundary
        Where the venue's trading day starts.
    bar_close_offset : timedelta
        When a trading day's daily bar closes, after the day's start (decisions on a day's bar are timed
        then: 15.5 h for a stock exchange closing at 15:30 in its zone; 24 h for a market that never closes).
    fill_identity : FillIdentity
        How executions are identified.
    client_order_ids : bool
        The venue takes our client order id (then an unknown outcome is resolved by it, not by shape).
    order_numbers_restart_daily : bool
        Order numbers are unique only within a trading day and fill notices carry only a time of day: a late
        notice is dated on its order's day.
    default_time_in_force : TimeInForce
        What our orders are sent with (DAY where orders expire at the close).
    """

    name: str
    instruments: InstrumentBook
    trading_day: DayBoundary
    bar_close_offset: timedelta
    fill_identity: FillIdentity
    client_order_ids: bool = False
    order_numbers_restart_daily: bool = False
    default_time_in_force: TimeInForce = TimeInForce.DAY

    def date_of(self, ts: datetime) -> date:
        """Return the venue's trading date of the aware instant `ts`."""
        return self.trading_day.date_of(ts)

    def bar_close(self, day: date) -> datetime:
        """Return when trading date `day`'s daily bar closes (aware UTC)."""
        return self.trading_day.start_of(day) + self.bar_close_offset
