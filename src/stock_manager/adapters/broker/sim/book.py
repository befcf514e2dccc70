"""The matching engine's order book records: an accepted order with its fill progress, the session it trades
in, and each symbol's base price and limits that session.

Plain records with no logic beyond an order's remaining quantity and whether a print crosses its price. The
`MatchingEngine` (in `matching`) creates and changes them; its ledger (in `ledger`) reads the working orders'
reservations.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.instruments import PriceBand
from stock_manager.domain.model import OrderType, Side
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest


@dataclass(frozen=True, slots=True)
class DayQuote:
    """A symbol's base price and its price band in a session (None: the instrument has no band)."""

    base_price: Decimal
    limits: PriceBand | None


@dataclass(slots=True)
class BookOrder:
    """An order the engine accepted, with its fill progress (prices and amounts in KRW)."""

    number: str
    request: OrderRequest
    trading_date: date
    ts_accepted: datetime
    reserve_price: Decimal  # buys: price × quantity reserved in cash (limit, or the upper band for MARKET)
    filled_quantity: Decimal = Decimal(0)
    filled_amount_krw: Decimal = Decimal(0)
    state: BrokerOrderState = BrokerOrderState.OPEN
    fill_count: int = 0
    amount_krw: Decimal | None = None  # a market buy by KRW amount: KRW to spend (its quantity is what it buys)

    @property
    def remaining(self) -> Decimal:
        """Return the quantity that can still fill (0 once filled, cancelled or expired; always 0 for a buy by
        amount, which has no quantity: see `remaining_krw`)."""
        if self.state is not BrokerOrderState.OPEN or self.amount_krw is not None:
            return Decimal(0)
        return self.request.quantity - self.filled_quantity

    @property
    def remaining_krw(self) -> Decimal:
        """Return the KRW a buy by amount may still spend on notional (0 for other orders and once closed)."""
        if self.state is not BrokerOrderState.OPEN or self.amount_krw is None:
            return Decimal(0)
        return self.amount_krw - self.filled_amount_krw

    def crosses(self, price: Decimal) -> bool:
        """Return True when a print at `price` (KRW) can fill this order (always for a MARKET order)."""
        limit = self.request.limit_price
        if self.request.order_type is OrderType.MARKET or limit is None:
            return True
        return price <= limit if self.request.side is Side.BUY else price >= limit


@dataclass(slots=True)
class BookSession:
    """The session the engine accepts orders for (from `accept_from`), with the quotes of its traded symbols."""

    session: TradingSession
    accept_from: datetime
    quotes: dict[str, DayQuote]
    closed: bool = False
