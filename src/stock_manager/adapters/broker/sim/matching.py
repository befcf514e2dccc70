"""The simulator's matching engine: validates orders, fills them against replayed prints, keeps the ledger.

Pure and synchronous: no I/O, no clock, no asyncio. Every call carries its own time, so the same sequence
of calls always produces the same orders, fills and cash; the sim broker's journal relies on that to rebuild
the engine after a crash. It is built from the venue's `Instrument`s (price grid, size grid, minimum order,
price band), its `CostModel` and the session's time-in-force policy, and knows no venue: the protocol fronts
(the KIS-compatible server, the Upbit-compatible server) put their wire formats around its public methods.

This module holds the engine's sessions, validation and matching; the account ledger (deposit,
reservations, holdings, fills and costs) is the `AccountLedger` collaborator in `ledger`, the orders by
number, in time priority and by client order id are the `OrderBook` collaborator in `order_book`, the rules
of one order (configuration, reserve price and price checks, reports) are in `order_rules`, and the order
book's records (`BookOrder`, `BookSession`, `DayQuote`) are in `book`.

Rules
-----
* Sessions: orders are accepted from the session's first order phase until its close (``accept_from <= ts
  < ts_close``). Where the session's orders expire at the close (day orders) their remainder expires then;
  elsewhere working orders carry over into the next session.
* Validation, in this order: market open, account, symbol traded today, quantity a positive multiple of the
  instrument's size increment, LIMIT price present and on the instrument's grid, LIMIT price inside the
  day's band around the base price (the previous close) where the instrument has one, the order's value at
  least the instrument's minimum, a client order id never used before, then cash for a buy or holdings for a
  sell.
* Cash for a buy: quantity × price + commission must not exceed the orderable cash, where price is the
  limit price, or for a MARKET order the day's upper band (brokers reserve market buys at the upper limit),
  or without a band the last price plus `MARKET_BUY_RESERVE_MARGIN`. Orderable cash is the deposit minus what
  working buys reserve on their remaining quantity.
* Holdings for a sell: quantity must not exceed the shares held minus the remaining quantity of working
  sells of that symbol.
* The daemon is a price taker against the prints: a MARKET order fills at the first print after it was
  accepted, a LIMIT buy at any print at or below its limit, a LIMIT sell at any print at or above it, always
  at the print's price. Each print can fill at most ``participation_rate × print volume`` (rounded down to
  the instrument's size increment: whole shares, 1e-8 BTC), shared by the eligible orders in time priority,
  so a print with volume 0 fills nothing and thin prints fill orders partly.
* A market buy by KRW amount (`submit_amount_buy`, Upbit's ``ord_type=price``) is checked like a MARKET buy
  (amount at least the minimum order value; amount plus commission within the orderable cash, which it
  reserves) and then spends its amount at market: at each print it buys
  ``floor(remaining KRW ÷ price)`` on the size grid (participation applies). Once the remainder cannot buy one
  size increment at the print's price it ends: FILLED when nothing is left, else CANCELED with its fills (the
  dust is never spent, so its reservation is released), and a `CancelReport` for it waits in `take_closed`.
* Each fill pays commission and, on sells, the transaction tax of the print's KST date (`CostModel`, both
  truncated to the won). The deposit moves at each fill (no T+2 settlement is modelled); holdings keep the
  average purchase price without costs, as KIS reports ``pchs_avg_pric``.
* Order numbers are 10-digit zero-padded (``"0000000001"``) and never reused within a replay; fill ids are
  ``f"{order_number}-{seq:04d}"`` with ``seq`` counting the order's fills from 1.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.broker.sim.book import BookOrder, BookSession, DayQuote
from stock_manager.adapters.broker.sim.ledger import AccountLedger
from stock_manager.adapters.broker.sim.order_book import OrderBook
from stock_manager.adapters.broker.sim.order_rules import MatchingConfig, admit, require_cash, reserve_price
from stock_manager.adapters.broker.sim.rejections import RejectCode, reject
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.broker import (
    BrokerOrderReport,
    BrokerOrderState,
    BrokerPosition,
    CancelReport,
    CashBalance,
    OrderAck,
    OrderRequest,
)

REASON_CANCELED = "canceled by request"
REASON_EXPIRED = "expired at the close"
REASON_SPENT = "amount spent; the rest cannot buy one size increment"


class MatchingEngine:
    """The simulated venue and account (module docstring has the rules).

    Parameters
    ----------
    account_id : str
        The one account this engine holds.
    instruments : Mapping[str, Instrument]
        The instruments that can be traded, by symbol, with their price and size rules.
    config : MatchingConfig
        Participation rate, start cash and costs.
    """

    def __init__(
        self, account_id: str, instruments: Mapping[str, Instrument], config: MatchingConfig | None = None
    ) -> None:
        self.account_id = account_id
        self.config = config or MatchingConfig()
        self._instruments = dict(instruments)
        self._last_prints: dict[str, Tick] = {}
        self._session: BookSession | None = None
        self._closed: list[CancelReport] = []  # buys by amount the engine ended itself, not yet taken
        self.book = OrderBook(account_id)
        self.ledger = AccountLedger(account_id, self.config, self.book.working)

    # -- ACCOUNT (the ledger's) -----------------------------------------------------------------------

    @property
    def deposit_krw(self) -> Decimal:
        """Return the cash balance, KRW."""
        return self.ledger.deposit_krw

    @property
    def orderable_krw(self) -> Decimal:
        """Return the cash a new buy can use, KRW."""
        return self.ledger.orderable_krw

    def cash(self) -> CashBalance:
        """Return the account's deposit and orderable cash."""
        return self.ledger.cash()

    def holding(self, symbol: str) -> Position:
        """Return the account's position in `symbol`."""
        return self.ledger.holding(symbol)

    def positions(self) -> list[BrokerPosition]:
        """Return the holdings with non-zero quantity, by symbol."""
        return self.ledger.positions()

    def sellable_quantity(self, symbol: str) -> Decimal:
        """Return the quantity held minus working sells of `symbol`."""
        return self.ledger.sellable_quantity(symbol)

    def fills(self, trading_date: date | None = None) -> list[Fill]:
        """Return the fills of `trading_date` (all when None), in execution order."""
        return self.ledger.fills(trading_date)

    def instrument(self, symbol: str) -> Instrument | None:
        """Return the instrument of `symbol`, or None when it is not traded here."""
        return self._instruments.get(symbol)

    # -- SESSION --------------------------------------------------------------------------------------

    def open_session(self, session: TradingSession, base_prices: Mapping[str, Decimal], accept_from: datetime) -> None:
        """Start accepting orders for `session` from `accept_from` (the pre-open).

        Parameters
        ----------
        base_prices : Mapping[str, Decimal]
            Base price (previous close), KRW, of each symbol that trades in this session; symbols missing
            here are halted for the day.

        Raises
        ------
        ValueError
            If another session is still open (close it first).
        """
        if self._session is not None and not self._session.closed:
            raise ValueError(f"session {self._session.session.trading_date} is still open")
        quotes = {
            symbol: DayQuote(base, self._instruments[symbol].price_band(base))
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
        """Close the session at `ts`: where its orders are day orders, cancel the remainder of every working
        order; elsewhere they stay working into the next session.

        Returns
        -------
        list[CancelReport]
            One report per expired order, in time priority, with the quantity that will never fill.
        """
        reports: list[CancelReport] = []
        if self._session is not None and self._session.session.orders_expire_at_close:
            reports = [self.book.close(order, ts, REASON_EXPIRED) for order in list(self.book.working)]
        if self._session is not None:
            self._session.closed = True
        return reports

    # -- COMMANDS -------------------------------------------------------------------------------------

    def submit(self, request: OrderRequest, ts: datetime) -> OrderAck:
        """Validate and accept an order at `ts`.

        Returns
        -------
        OrderAck
            The order number (10 digits, zero-padded), no venue reference, and `ts`.

        Raises
        ------
        OrderRejectedByBroker
            With a `RejectCode` value as ``code`` when any rule in the module docstring fails.
        """
        session, instrument, quote = admit(self._session, self.account_id, self._instruments, request, ts)
        quantity = request.quantity
        if not instrument.is_valid_quantity(quantity):
            raise reject(RejectCode.QUANTITY, str(quantity))
        reserve = reserve_price(request, instrument, quote, self._last_price(request.symbol, quote))
        value_price = (
            request.limit_price if request.limit_price is not None else self._last_price(request.symbol, quote)
        )
        if quantity * value_price < instrument.min_notional:
            raise reject(RejectCode.UNDER_MIN_NOTIONAL, f"{quantity * value_price} < {instrument.min_notional}")
        self.book.require_unused(request.client_order_id)
        if request.side is Side.BUY:
            require_cash(self.ledger.cost_of_buying(quantity, reserve), self.orderable_krw)
        elif quantity > self.sellable_quantity(request.symbol):
            raise reject(RejectCode.INSUFFICIENT_HOLDINGS, f"sellable {self.sellable_quantity(request.symbol)}")
        return self.book.accept(BookOrder("", request, session.session.trading_date, ts, reserve))

    def submit_amount_buy(
        self, account_id: str, symbol: str, amount_krw: Decimal, ts: datetime, client_order_id: str | None = None
    ) -> OrderAck:
        """Validate and accept a market buy that spends `amount_krw` (KRW, before commission) at `ts`.

        The order is a MARKET BUY whose quantity is what it buys (module docstring).

        Raises
        ------
        OrderRejectedByBroker
            As `submit`; `RejectCode.PRICE` for an amount that is not a positive finite number.
        """
        request = OrderRequest(account_id, symbol, Side.BUY, OrderType.MARKET, Decimal(0), None, client_order_id)
        session, instrument, _ = admit(self._session, self.account_id, self._instruments, request, ts)
        if not amount_krw.is_finite() or amount_krw <= 0:
            raise reject(RejectCode.PRICE, str(amount_krw))
        if amount_krw < instrument.min_notional:
            raise reject(RejectCode.UNDER_MIN_NOTIONAL, f"{amount_krw} < {instrument.min_notional}")
        self.book.require_unused(client_order_id)
        require_cash(amount_krw + self.config.cost_model.commission_krw(amount_krw), self.orderable_krw)
        order = BookOrder("", request, session.session.trading_date, ts, Decimal(0), amount_krw=amount_krw)
        return self.book.accept(order)

    def cancel(self, order_number: str, ts: datetime) -> CancelReport:
        """Cancel the whole remainder of a working order at `ts`.

        Raises
        ------
        OrderRejectedByBroker
            If the order does not exist or has nothing left to cancel (filled, cancelled or expired).
        """
        order = self.book.find(order_number)
        if order is None:
            raise reject(RejectCode.ORDER_NOT_FOUND, order_number)
        if order.state is not BrokerOrderState.OPEN:
            raise reject(RejectCode.NOT_CANCELABLE, f"order {order.number} is {order.state}")
        return self.book.close(order, ts, REASON_CANCELED)

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
        instrument = self._instruments[tick.symbol]
        capacity = instrument.floor_quantity(tick.volume * self.config.participation_rate)
        fills: list[Fill] = []
        for order in list(self.book.working):
            if capacity <= 0:
                break
            if order.request.symbol != tick.symbol or not order.crosses(tick.price):
                continue
            if order.amount_krw is not None:
                quantity = min(instrument.floor_quantity(order.remaining_krw / tick.price), capacity)
            else:
                quantity = min(order.remaining, capacity)
                if order.request.side is Side.BUY:
                    quantity = min(quantity, self.ledger.affordable_quantity(order, tick.price, instrument))
            if quantity > 0:
                fills.append(self._execute(order, quantity, tick))
                capacity -= quantity
            if (
                order.amount_krw is not None
                and order.state is BrokerOrderState.OPEN
                and instrument.floor_quantity(order.remaining_krw / tick.price) <= 0
            ):
                self._closed.append(self.book.close(order, tick.ts_event, REASON_SPENT))
        return fills

    def take_closed(self) -> list[CancelReport]:
        """Return (and forget) the reports of the buys by amount the engine ended since the last call: the dust
        left of their amount will not be spent (module docstring)."""
        closed, self._closed = self._closed, []
        return closed

    def burn_client_order_id(self, client_order_id: str) -> None:
        """Mark a client order id as used although no order was accepted with it (venues that make client
        ids single-use even for a failed order)."""
        self.book.burn_client_order_id(client_order_id)

    def client_order_id_used(self, client_order_id: str) -> bool:
        """Return True when `client_order_id` was used by an order or burnt."""
        return self.book.client_order_id_used(client_order_id)

    def order_by_client_id(self, client_order_id: str) -> BrokerOrderReport | None:
        """Return the order placed with `client_order_id`, or None (never placed, or the id only burnt)."""
        return self.book.order_by_client_id(client_order_id)

    # -- QUERIES --------------------------------------------------------------------------------------

    @property
    def has_working_orders(self) -> bool:
        """Return True while any order can still fill."""
        return bool(self.book.working)

    def orders(self, trading_date: date | None = None) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` (all orders when None) in order-number order."""
        return self.book.orders(trading_date)

    def working_orders(self) -> list[BrokerOrderReport]:
        """Return the orders that can still fill, in time priority."""
        return self.book.working_orders()

    def order(self, order_number: str) -> BrokerOrderReport | None:
        """Return one order's report, or None when the number is unknown."""
        return self.book.order(order_number)

    def order_amount_krw(self, order_number: str) -> Decimal | None:
        """Return the KRW amount of a market buy by amount, or None (another order, or an unknown number)."""
        return self.book.order_amount_krw(order_number)

    def last_print(self, symbol: str) -> Tick | None:
        """Return the last print of `symbol` the engine has seen, or None."""
        return self._last_prints.get(symbol)

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _last_price(self, symbol: str, quote: DayQuote) -> Decimal:
        last = self._last_prints.get(symbol)
        return last.price if last is not None else quote.base_price

    def _execute(self, order: BookOrder, quantity: Decimal, tick: Tick) -> Fill:
        request, costs = order.request, self.config.cost_model
        notional = quantity * tick.price
        day = self._session.session.trading_date if self._session is not None else order.trading_date
        order.fill_count += 1
        fill = Fill(
            broker_fill_id=f"{order.number}-{order.fill_count:04d}",
            broker_order_number=order.number,
            symbol=request.symbol,
            side=request.side,
            quantity=quantity,
            price=tick.price,
            commission_krw=costs.commission_krw(notional),
            tax_krw=costs.tax_krw(request.side, notional, day),
            ts_filled=tick.ts_event,
            trading_date=day,
        )
        order.filled_quantity += quantity
        order.filled_amount_krw += notional
        if order.filled_quantity == request.quantity if order.amount_krw is None else order.remaining_krw == 0:
            self.book.retire_filled(order)
        self.ledger.book_fill(fill)
        return fill
