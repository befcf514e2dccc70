"""The simulator's matching engine: validates orders, fills them against replayed prints, keeps the ledger.

Pure and synchronous: no I/O, no clock, no asyncio. Every call carries its own time, so the same sequence
of calls always produces the same orders, fills and cash; the sim broker's journal relies on that to rebuild
the engine after a crash, and a KIS-protocol server can put the same engine behind HTTP later.

This module holds the engine's sessions, validation, order book and matching; the account ledger (deposit,
reservations, holdings, fills and costs) is the `AccountLedger` mixin in `ledger`, and the order book's
records (`BookOrder`, `BookSession`, `DayQuote`) are in `book`.

Rules
-----
* Sessions: orders are accepted from the session's pre-open until its close (``accept_from <= ts <
  ts_close``); all orders are day orders and their remainder expires at the close.
* Validation, in this order, with KIS-like messages: market open, account, symbol traded today, quantity a
  positive whole number of shares, LIMIT price present and on the KRX tick grid, LIMIT price inside the
  day's ±30 % limits around the base price (the previous close), then cash for a buy or holdings for a sell.
  Today's tick table and ±30 % band apply to every replayed date (KRX used narrower bands before 2015).
* Cash for a buy: quantity × price + commission must not exceed the orderable cash, where price is the
  limit price, or the day's upper limit for a MARKET order (KIS reserves market buys at the upper limit).
  Orderable cash is the deposit minus what working buys reserve on their remaining quantity.
* Holdings for a sell: quantity must not exceed the shares held minus the remaining quantity of working
  sells of that symbol.
* The daemon is a price taker against the prints: a MARKET order fills at the first print after it was
  accepted, a LIMIT buy at any print at or below its limit, a LIMIT sell at any print at or above it, always
  at the print's price. Each print can fill at most ``participation_rate × print volume`` shares (rounded
  down), shared by the eligible orders in time priority, so a print with volume 0 fills nothing and thin
  prints fill orders partly.
* Each fill pays commission and, on sells, the transaction tax of the print's KST date (`CostModel`, both
  truncated to the won). The deposit moves at each fill (no T+2 settlement is modelled); holdings keep the
  average purchase price without costs, as KIS reports ``pchs_avg_pric``.
* Order numbers are 10-digit zero-padded (``"0000000001"``) and never reused within a replay; fill ids are
  ``f"{order_number}-{seq:04d}"`` with ``seq`` counting the order's fills from 1.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from stock_manager.adapters.broker.sim.book import BookOrder, BookSession, DayQuote
from stock_manager.adapters.broker.sim.ledger import AccountLedger
from stock_manager.adapters.broker.sim.rejections import RejectCode, reject
from stock_manager.domain.clock import kst_date
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import Tick
from stock_manager.domain.market_rules import CostModel, is_on_tick, price_limits
from stock_manager.domain.model import InstrumentKind, OrderType, Side
from stock_manager.domain.positions import PRICE_QUANTUM, Position
from stock_manager.service_layer.broker_port import (
    BrokerOrderReport,
    BrokerOrderState,
    CancelReport,
    OrderAck,
    OrderRequest,
    TradingSession,
)

#: KIS real-account branch (``KRX_FWDG_ORD_ORGNO``) seen on paper accounts; the simulator uses it too.
SIM_BRANCH = "00950"
ORDER_NUMBER_DIGITS = 10
REASON_CANCELED = "canceled by request"
REASON_EXPIRED = "expired at the close"


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


class MatchingEngine(AccountLedger):
    """The simulated venue and account (module docstring has the rules).

    Parameters
    ----------
    account_id : str
        The one account this engine holds.
    instruments : Mapping[str, InstrumentKind]
        Symbols that can be traded, with their tick table.
    config : MatchingConfig
        Participation rate, start cash and costs.
    """

    def __init__(
        self, account_id: str, instruments: Mapping[str, InstrumentKind], config: MatchingConfig | None = None
    ) -> None:
        self.account_id = account_id
        self.config = config or MatchingConfig()
        self._instruments = dict(instruments)
        self._cash = self.config.start_cash_krw
        self._positions: dict[str, Position] = {}
        self._orders: dict[str, BookOrder] = {}
        self._working: list[BookOrder] = []  # open orders in time priority
        self._fills: list[Fill] = []
        self._last_prints: dict[str, Tick] = {}
        self._session: BookSession | None = None
        self._next_number = 1

    # -- SESSION --------------------------------------------------------------------------------------

    def open_session(
        self, session: TradingSession, base_prices: Mapping[str, Decimal], accept_from: datetime
    ) -> None:
        """Start accepting orders for `session` from `accept_from` (the pre-open).

        Parameters
        ----------
        base_prices : Mapping[str, Decimal]
            Base price (previous close), KRW, of each symbol that trades in this session; symbols missing
            here are halted for the day.

        Raises
        ------
        ValueError
            If another session is still open (expire its orders first).
        """
        if self._session is not None and not self._session.closed:
            raise ValueError(f"session {self._session.session.trading_date} is still open")
        quotes = {
            symbol: DayQuote(base, price_limits(base, self._instruments[symbol]))
            for symbol, base in base_prices.items()
            if symbol in self._instruments
        }
        self._session = BookSession(session=session, accept_from=accept_from, quotes=quotes)

    @property
    def session(self) -> TradingSession | None:
        """Return the current session while it accepts orders or trades, else None."""
        return self._session.session if self._session is not None and not self._session.closed else None

    def day_quote(self, symbol: str) -> DayQuote | None:
        """Return the base price and limits of `symbol` in the current or last session, or None."""
        return self._session.quotes.get(symbol) if self._session is not None else None

    def expire_open_orders(self, ts: datetime) -> list[CancelReport]:
        """Cancel the remainder of every working order at the close and close the session.

        Returns
        -------
        list[CancelReport]
            One report per expired order, in time priority, with the quantity that will never fill.
        """
        reports = [self._close_order(order, ts, REASON_EXPIRED) for order in list(self._working)]
        if self._session is not None:
            self._session.closed = True
        return reports

    # -- COMMANDS -------------------------------------------------------------------------------------

    def submit(self, request: OrderRequest, ts: datetime) -> OrderAck:
        """Validate and accept an order at `ts`.

        Returns
        -------
        OrderAck
            The order number (10 digits, zero-padded), the branch ``"00950"`` and `ts`.

        Raises
        ------
        OrderRejectedByBroker
            With a `RejectCode` value as ``code`` when any rule in the module docstring fails.
        """
        session = self._require_open(ts)
        if request.account_id != self.account_id:
            raise reject(RejectCode.ACCOUNT, request.account_id)
        kind = self._instruments.get(request.symbol)
        if kind is None:
            raise reject(RejectCode.UNKNOWN_SYMBOL, request.symbol)
        quote = session.quotes.get(request.symbol)
        if quote is None:
            raise reject(RejectCode.HALTED, request.symbol)
        quantity = request.quantity
        if not (quantity.is_finite() and quantity > 0 and quantity == quantity.to_integral_value()):
            raise reject(RejectCode.QUANTITY, str(quantity))
        reserve_price = self._check_price(request, kind, quote)
        if request.side is Side.BUY:
            needed = self._cost_of_buying(quantity, reserve_price)
            if needed > self.orderable_krw:
                raise reject(
                    RejectCode.INSUFFICIENT_CASH, f"need {needed} KRW, orderable {self.orderable_krw}"
                )
        elif quantity > self.sellable_quantity(request.symbol):
            raise reject(
                RejectCode.INSUFFICIENT_HOLDINGS, f"sellable {self.sellable_quantity(request.symbol)} shares"
            )

        number = str(self._next_number).zfill(ORDER_NUMBER_DIGITS)
        self._next_number += 1
        order = BookOrder(number, request, session.session.trading_date, ts, reserve_price)
        self._orders[number] = order
        self._working.append(order)
        return OrderAck(broker_order_number=number, broker_branch=SIM_BRANCH, ts_accepted=ts)

    def cancel(self, order_number: str, ts: datetime) -> CancelReport:
        """Cancel the whole remainder of a working order at `ts`.

        Raises
        ------
        OrderRejectedByBroker
            If the order does not exist or has nothing left to cancel (filled, cancelled or expired).
        """
        order = self._orders.get(normalize_order_number(order_number))
        if order is None:
            raise reject(RejectCode.ORDER_NOT_FOUND, order_number)
        if order.state is not BrokerOrderState.OPEN:
            raise reject(RejectCode.NOT_CANCELABLE, f"order {order.number} is {order.state}")
        return self._close_order(order, ts, REASON_CANCELED)

    def on_print(self, tick: Tick) -> list[Fill]:
        """Match the working orders of the print's symbol against one trade print.

        Returns
        -------
        list[Fill]
            The fills the print produced, in time priority of their orders (often empty).

        Raises
        ------
        ValueError
            If no session is open (prints only happen inside a session).
        """
        if self._session is None or self._session.closed:
            raise ValueError(f"print at {tick.ts_event.isoformat()} outside a session")
        self._last_prints[tick.symbol] = tick
        if tick.volume <= 0:
            return []
        capacity = (tick.volume * self.config.participation_rate).to_integral_value(ROUND_FLOOR)
        fills: list[Fill] = []
        for order in list(self._working):
            if capacity <= 0:
                break
            if order.request.symbol != tick.symbol or not order.crosses(tick.price):
                continue
            quantity = min(order.remaining, capacity)
            if order.request.side is Side.BUY:
                quantity = min(quantity, self._affordable_quantity(order, tick.price))
            if quantity <= 0:
                continue
            fills.append(self._execute(order, quantity, tick))
            capacity -= quantity
        return fills

    # -- QUERIES --------------------------------------------------------------------------------------

    @property
    def next_order_number(self) -> str:
        """Return the number the next accepted order will get."""
        return str(self._next_number).zfill(ORDER_NUMBER_DIGITS)

    @property
    def has_working_orders(self) -> bool:
        """Return True while any order can still fill."""
        return bool(self._working)

    def orders(self, trading_date: date | None = None) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` (all orders when None) in order-number order."""
        return [
            self._report(order)
            for order in self._orders.values()
            if trading_date is None or order.trading_date == trading_date
        ]

    def order(self, order_number: str) -> BrokerOrderReport | None:
        """Return one order's report, or None when the number is unknown."""
        order = self._orders.get(normalize_order_number(order_number))
        return self._report(order) if order is not None else None

    def last_print(self, symbol: str) -> Tick | None:
        """Return the last print of `symbol` the engine has seen, or None."""
        return self._last_prints.get(symbol)

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _require_open(self, ts: datetime) -> BookSession:
        session = self._session
        if session is None or session.closed:
            raise reject(RejectCode.MARKET_CLOSED, "no session")
        if not session.accept_from <= ts < session.session.ts_close:
            raise reject(RejectCode.MARKET_CLOSED, ts.isoformat())
        return session

    def _check_price(self, request: OrderRequest, kind: InstrumentKind, quote: DayQuote) -> Decimal:
        # Returns the price cash is reserved at for a buy (limit, or the upper limit for MARKET).
        price = request.limit_price
        if request.order_type is OrderType.MARKET:
            if price is not None:
                raise reject(RejectCode.PRICE, "a MARKET order carries no price")
            return quote.limits.upper
        if price is None or not price.is_finite() or price <= 0:
            raise reject(RejectCode.PRICE, str(price))
        if not is_on_tick(price, kind):
            raise reject(RejectCode.TICK_SIZE, str(price))
        if price > quote.limits.upper:
            raise reject(RejectCode.ABOVE_UPPER_LIMIT, f"{price} > {quote.limits.upper}")
        if price < quote.limits.lower:
            raise reject(RejectCode.BELOW_LOWER_LIMIT, f"{price} < {quote.limits.lower}")
        return price

    def _execute(self, order: BookOrder, quantity: Decimal, tick: Tick) -> Fill:
        request, costs = order.request, self.config.cost_model
        notional = quantity * tick.price
        order.fill_count += 1
        fill = Fill(
            broker_fill_id=f"{order.number}-{order.fill_count:04d}",
            broker_order_number=order.number,
            symbol=request.symbol,
            side=request.side,
            quantity=quantity,
            price=tick.price,
            commission_krw=costs.commission_krw(notional),
            tax_krw=costs.tax_krw(request.side, notional, kst_date(tick.ts_event)),
            ts_filled=tick.ts_event,
        )
        order.filled_quantity += quantity
        order.filled_amount_krw += notional
        if order.filled_quantity == request.quantity:
            order.state = BrokerOrderState.FILLED
            self._working.remove(order)
        self._book_fill(fill, notional)
        return fill

    def _close_order(self, order: BookOrder, ts: datetime, reason: str) -> CancelReport:
        remaining = order.remaining
        order.state = BrokerOrderState.CANCELED
        self._working.remove(order)
        return CancelReport(
            account_id=self.account_id,
            broker_order_number=order.number,
            canceled_quantity=remaining,
            ts_event=ts,
            reason=reason,
        )

    def _report(self, order: BookOrder) -> BrokerOrderReport:
        request = order.request
        avg = None
        if order.filled_quantity > 0:
            avg = (order.filled_amount_krw / order.filled_quantity).quantize(PRICE_QUANTUM)
        return BrokerOrderReport(
            account_id=self.account_id,
            broker_order_number=order.number,
            broker_branch=SIM_BRANCH,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            limit_price=request.limit_price,
            state=order.state,
            filled_quantity=order.filled_quantity,
            avg_fill_price=avg,
            ts_accepted=order.ts_accepted,
        )
