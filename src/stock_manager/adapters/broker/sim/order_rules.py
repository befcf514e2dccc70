"""The matching engine's rules of one order, as pure functions: its configuration, the price cash is reserved
at (and the price checks on the way), and how an order appears in the venue's reports."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from stock_manager.adapters.broker.sim.book import BookOrder, BookSession, DayQuote
from stock_manager.adapters.broker.sim.rejections import RejectCode, reject
from stock_manager.domain.costs import CostModel
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.model import OrderType
from stock_manager.domain.positions import PRICE_QUANTUM
from stock_manager.service_layer.ports.broker import BrokerOrderReport, OrderRequest

ORDER_NUMBER_DIGITS = 10
#: Without a price band, a MARKET buy reserves cash at the last price plus this fraction.
MARKET_BUY_RESERVE_MARGIN = Decimal("0.10")


def normalize_order_number(number: str) -> str:
    """Return `number` zero-padded to 10 digits (KIS paper acks ``"11774"``, inquiries show it padded)."""
    number = number.strip()
    return number.zfill(ORDER_NUMBER_DIGITS) if number.isdigit() else number


@dataclass(frozen=True, slots=True)
class MatchingConfig:
    """Parameters of the simulated venue and account.

    Attributes
    ----------
    participation_rate : Decimal
        Largest fraction of a print's volume the account can trade on it, in (0, 1].
    start_cash_krw : Decimal
        Deposit at the start of the replay, KRW.
    cost_model : CostModel
        Commission and sell-side tax.
    """

    participation_rate: Decimal = Decimal("0.25")
    start_cash_krw: Decimal = Decimal(10_000_000)
    cost_model: CostModel = field(default_factory=CostModel)

    def __post_init__(self) -> None:
        if not Decimal(0) < self.participation_rate <= Decimal(1):
            raise ValueError(f"participation rate must be in (0, 1], was {self.participation_rate}")
        if self.start_cash_krw < 0:
            raise ValueError(f"start cash must not be negative, was {self.start_cash_krw}")


def admit(
    session: BookSession | None,
    account_id: str,
    instruments: Mapping[str, Instrument],
    request: OrderRequest,
    ts: datetime,
) -> tuple[BookSession, Instrument, DayQuote]:
    """Return the session, instrument and day quote of `request` after the checks every order passes first: the
    market takes orders at `ts`, the account is the engine's, the symbol is traded and trades today.

    Raises
    ------
    OrderRejectedByBroker
        `RejectCode.MARKET_CLOSED`, `ACCOUNT`, `UNKNOWN_SYMBOL` or `HALTED`.
    """
    if session is None or session.closed:
        raise reject(RejectCode.MARKET_CLOSED, "no session")
    if not session.accept_from <= ts < session.session.ts_close:
        raise reject(RejectCode.MARKET_CLOSED, ts.isoformat())
    if request.account_id != account_id:
        raise reject(RejectCode.ACCOUNT, request.account_id)
    instrument = instruments.get(request.symbol)
    if instrument is None:
        raise reject(RejectCode.UNKNOWN_SYMBOL, request.symbol)
    quote = session.quotes.get(request.symbol)
    if quote is None:
        raise reject(RejectCode.HALTED, request.symbol)
    return session, instrument, quote


def require_unused(client_ids: Mapping[str, str], client_order_id: str | None) -> None:
    """Refuse a client order id already used or burnt (`RejectCode.DUPLICATE_CLIENT_ORDER_ID`)."""
    if client_order_id is not None and client_order_id in client_ids:
        raise reject(RejectCode.DUPLICATE_CLIENT_ORDER_ID, client_order_id)


def require_cash(needed_krw: Decimal, orderable_krw: Decimal) -> None:
    """Refuse a buy that needs more than the orderable cash (`RejectCode.INSUFFICIENT_CASH`)."""
    if needed_krw > orderable_krw:
        raise reject(RejectCode.INSUFFICIENT_CASH, f"need {needed_krw} KRW, orderable {orderable_krw}")


def reserve_price(request: OrderRequest, instrument: Instrument, quote: DayQuote, last_price: Decimal) -> Decimal:
    """Return the price a buy reserves cash at: its limit; for a MARKET order the day's upper band, or without a
    band `last_price` plus `MARKET_BUY_RESERVE_MARGIN`.

    Raises
    ------
    OrderRejectedByBroker
        For a price on a MARKET order, a missing or non-positive limit, one off the instrument's grid, or one
        outside the day's band.
    """
    price = request.limit_price
    band = quote.limits
    if request.order_type is OrderType.MARKET:
        if price is not None:
            raise reject(RejectCode.PRICE, "a MARKET order carries no price")
        return band.upper if band is not None else last_price * (1 + MARKET_BUY_RESERVE_MARGIN)
    if price is None or not price.is_finite() or price <= 0:
        raise reject(RejectCode.PRICE, str(price))
    if not instrument.is_on_tick(price):
        raise reject(RejectCode.TICK_SIZE, str(price))
    if band is not None and price > band.upper:
        raise reject(RejectCode.ABOVE_UPPER_LIMIT, f"{price} > {band.upper}")
    if band is not None and price < band.lower:
        raise reject(RejectCode.BELOW_LOWER_LIMIT, f"{price} < {band.lower}")
    return price


def report_of(account_id: str, order: BookOrder) -> BrokerOrderReport:
    """Return how the venue reports `order`: its state, executed quantity and average price (a buy by KRW amount
    reports what it bought so far as its quantity)."""
    request = order.request
    avg = None
    if order.filled_quantity > 0:
        avg = (order.filled_amount_krw / order.filled_quantity).quantize(PRICE_QUANTUM)
    return BrokerOrderReport(
        account_id=account_id,
        broker_order_number=order.number,
        venue_order_ref="",
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        quantity=request.quantity if order.amount_krw is None else order.filled_quantity,  # by amount: what it bought
        limit_price=request.limit_price,
        state=order.state,
        filled_quantity=order.filled_quantity,
        avg_fill_price=avg,
        ts_accepted=order.ts_accepted,
        trading_date=order.trading_date,
        client_order_id=request.client_order_id,
    )
