"""Hand-written fakes of the service layer's ports, for specifications of the order path and recovery.

`FakeBroker` implements the `Broker` port in memory: an order book, executions, holdings and cash that the
inquiry methods report, a scripted outcome for each `place_order` / `cancel_order` call, and a record of
every call. `RecordingNotifier` implements `Notifier` and keeps what it was told.
"""

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.broker.fill_identity import cumulative_identity
from stock_manager.adapters.venues.krx.profile import krx_profile
from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import AmbiguousOrderOutcome, FatalBrokerError, OrderRejectedByBroker
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument, InstrumentBook
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import InstrumentKind, OrderType, Side
from stock_manager.domain.orders import Order
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    Broker,
    BrokerOrderEvent,
    BrokerOrderReport,
    BrokerOrderState,
    BrokerPosition,
    CancelReport,
    CashBalance,
    FillReport,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)
from stock_manager.service_layer.ports.storage import DailySettlement, EventRecord, UnitOfWorkFactory
from stock_manager.service_layer.views.reports import DailyReport

FAKE_BRANCH = "06010"


class SimulatedCrash(BaseException):
    """The process died here (raised inside the broker call; nothing in the daemon catches it)."""


# -- SCRIPTED OUTCOMES ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """Place the order and acknowledge it (with `number`, or the next number of the book)."""

    number: str | None = None
    ts_accepted: datetime | None = None  # default: the clock's time


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the order in the response: nothing is placed, `OrderRejectedByBroker` is raised."""

    message: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Raise `AmbiguousOrderOutcome`, having placed the order (`placed`) or not."""

    placed: bool
    number: str | None = None
    ts_accepted: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fatal:
    """Raise `FatalBrokerError` without placing anything."""

    message: str = "EGW00123 the access token has expired"


@dataclass(frozen=True, slots=True)
class Crash:
    """Raise `SimulatedCrash`: the daemon dies in the call, after the broker placed the order or before."""

    placed: bool
    number: str | None = None


type PlaceOutcome = Accept | Reject | Ambiguous | Fatal | Crash


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """One `place_order` call: the request, and our orders the database held as NEW at that moment."""

    request: OrderRequest
    new_rows_in_database: tuple[Order, ...] | None  # None when the fake was given no unit-of-work factory


@dataclass(frozen=True, slots=True)
class CancelCall:
    """One `cancel_order` call."""

    account_id: str
    broker_order_number: str
    venue_order_ref: str


# -- BROKER ---------------------------------------------------------------------------------------------


class FakeBroker:
    """The `Broker` port in memory, with scripted outcomes and a record of every order and cancel call.

    Parameters
    ----------
    clock : Clock
        Time of acknowledgements and executions.
    account_id : str
        The one account this login may trade.
    uow_factory : UnitOfWorkFactory | None
        When given, every `place_order` reads the database first and records the NEW order rows it finds
        (to specify that the order is committed before the broker is called).
    aggregate_fills : bool
        Report executions as KIS ``inquire-daily-ccld`` does: one per order, its cumulative quantity at
        its average price (default: each execution on its own, as the replaying simulator does).
    """

    def __init__(
        self,
        clock: Clock,
        account_id: str,
        *,
        uow_factory: UnitOfWorkFactory | None = None,
        aggregate_fills: bool = False,
    ) -> None:
        self.clock = clock
        self.aggregate_fills = aggregate_fills
        self.account_id = account_id
        self.uow_factory = uow_factory
        self.place_calls: list[PlaceCall] = []
        self.cancel_calls: list[CancelCall] = []
        self.orders: dict[str, BrokerOrderReport] = {}  # by broker order number
        self.fills: list[Fill] = []
        self.positions: dict[str, BrokerPosition] = {}
        self.cash = CashBalance(account_id, Decimal(10_000_000), Decimal(10_000_000))
        self.quotes: dict[str, Quote] = {}
        self.daily_bars: dict[str, list[DailyBar]] = {}
        self.order_event_handler: OrderEventHandler | None = None
        self.tick_handler: TickHandler | None = None
        self.closed = False
        self._place_outcomes: deque[PlaceOutcome] = deque()
        self._cancel_outcomes: deque[Reject | None] = deque()
        self._next_number = 11774
        self.checks_cash = False  # refuse buys beyond the orderable cash (as a venue would)
        self.confirms_cancels = False  # confirm each cancel with a notice, refuse one with nothing left
        self._next_fill = 1

    # -- SCRIPTING --------------------------------------------------------------------------------------

    def script_place(self, *outcomes: PlaceOutcome) -> None:
        """Queue outcomes of the next `place_order` calls, in order; an empty queue accepts."""
        self._place_outcomes.extend(outcomes)

    def script_cancel(self, *outcomes: Reject | None) -> None:
        """Queue outcomes of the next `cancel_order` calls (None cancels); an empty queue cancels."""
        self._cancel_outcomes.extend(outcomes)

    def next_number(self) -> str:
        """Return a fresh broker order number in KIS's ten-digit, zero-padded form (e.g. ``"0000011774"``)."""
        number = f"{self._next_number:010d}"
        self._next_number += 1
        return number

    def add_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        limit_price: Decimal | None,
        *,
        number: str | None = None,
        ts_accepted: datetime | None = None,
        order_type: OrderType | None = None,
        state: BrokerOrderState = BrokerOrderState.OPEN,
    ) -> BrokerOrderReport:
        """Put an order in the book directly (placed by hand in HTS/MTS, or by an earlier process)."""
        report = BrokerOrderReport(
            account_id=self.account_id,
            broker_order_number=number or self.next_number(),
            venue_order_ref=FAKE_BRANCH,
            symbol=symbol,
            side=side,
            order_type=order_type or (OrderType.LIMIT if limit_price is not None else OrderType.MARKET),
            quantity=quantity,
            limit_price=limit_price,
            state=state,
            filled_quantity=Decimal(0),
            avg_fill_price=None,
            ts_accepted=ts_accepted or self.clock.now(),
            trading_date=kst_date(ts_accepted or self.clock.now()),
        )
        self.orders[report.broker_order_number] = report
        return report

    def execute(
        self,
        broker_order_number: str,
        quantity: Decimal | int,
        price: Decimal | int,
        *,
        fill_id: str | None = None,
        commission_krw: Decimal = Decimal(0),
        tax_krw: Decimal = Decimal(0),
    ) -> Fill:
        """Execute part of a booked order: update the book and holdings; return the fill, undelivered."""
        report = self.orders[broker_order_number]
        quantity, price = Decimal(quantity), Decimal(price)
        if report.filled_quantity + quantity > report.quantity:
            raise AssertionError(f"the fake broker cannot overfill order {broker_order_number}")
        fill = Fill(
            broker_fill_id=fill_id or f"{broker_order_number}-{self._next_fill}",
            broker_order_number=broker_order_number,
            symbol=report.symbol,
            side=report.side,
            quantity=quantity,
            price=price,
            commission_krw=commission_krw,
            tax_krw=tax_krw,
            ts_filled=self.clock.now(),
            trading_date=kst_date(self.clock.now()),
        )
        self._next_fill += 1
        self.fills.append(fill)
        filled = report.filled_quantity + quantity
        amount = (report.avg_fill_price or Decimal(0)) * report.filled_quantity + quantity * price
        self.orders[broker_order_number] = replace(
            report,
            filled_quantity=filled,
            avg_fill_price=amount / filled,
            state=BrokerOrderState.FILLED if filled == report.quantity else report.state,
        )
        self._hold(fill)
        return fill

    async def fill(
        self,
        broker_order_number: str,
        quantity: Decimal | int,
        price: Decimal | int,
        *,
        fill_id: str | None = None,
        commission_krw: Decimal = Decimal(0),
        tax_krw: Decimal = Decimal(0),
    ) -> Fill:
        """Execute part of a booked order and deliver the fill notice to the subscribed handler."""
        fill = self.execute(
            broker_order_number, quantity, price, fill_id=fill_id, commission_krw=commission_krw, tax_krw=tax_krw
        )
        await self.deliver(FillReport(self.account_id, fill))
        return fill

    async def deliver(self, event: BrokerOrderEvent) -> None:
        """Deliver one notice (again, if a test wants a duplicate) to the subscribed handler."""
        if self.order_event_handler is None:
            raise AssertionError("nobody subscribed to the fake broker's order events")
        await self.order_event_handler(event)

    async def expire(self, broker_order_number: str, reason: str = "expired at the close") -> CancelReport:
        """Cancel an order's remainder at the broker and deliver the notice."""
        self._cancel_in_book(broker_order_number)
        report = self.orders[broker_order_number]
        notice = CancelReport(
            self.account_id,
            broker_order_number,
            report.quantity - report.filled_quantity,
            self.clock.now(),
            reason,
            report.trading_date,
        )
        await self.deliver(notice)
        return notice

    def set_position(self, symbol: str, quantity: Decimal | int, avg_price: Decimal | int) -> None:
        """Override the broker's holding of `symbol` (a zero quantity removes it)."""
        if Decimal(quantity) == 0:
            self.positions.pop(symbol, None)
        else:
            self.positions[symbol] = BrokerPosition(symbol, Decimal(quantity), Decimal(avg_price))

    # -- PORT: SESSION AND ACCOUNT ----------------------------------------------------------------------

    async def login(self) -> None:
        """Do nothing: the fake needs no credentials."""

    async def get_accounts(self) -> list[AccountRef]:
        """Return the one account."""
        return [AccountRef(self.account_id)]

    async def get_cash(self, account_id: str) -> CashBalance:
        """Return the configured cash."""
        return self.cash

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        """Return the holdings with non-zero quantity."""
        return [p for p in self.positions.values() if p.quantity != 0]

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        """Return the book's orders accepted on the KST `trading_date`."""
        return [r for r in self.orders.values() if r.trading_date == trading_date]

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        """Return the executions of the KST `trading_date` (one aggregate per order with `aggregate_fills`)."""
        fills = [f for f in self.fills if f.trading_date == trading_date]
        if not self.aggregate_fills:
            return fills
        totals: dict[str, Fill] = {}
        for fill in fills:
            report = self.orders[fill.broker_order_number]
            assert report.avg_fill_price is not None
            totals[fill.broker_order_number] = replace(
                fill,
                broker_fill_id=f"ccld:{fill.broker_order_number}:{report.filled_quantity}",
                quantity=report.filled_quantity,
                price=report.avg_fill_price,
            )
        return list(totals.values())

    async def get_price(self, symbol: str) -> Quote:
        """Return the configured quote of `symbol`."""
        return self.quotes[symbol]

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        """Return the configured bars of `symbol` on or before `end`, oldest first."""
        bars = [b for b in self.daily_bars.get(symbol, []) if b.trading_date <= end]
        return bars[-count:]

    # -- PORT: ORDERS -----------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Record the call, then play the next scripted outcome (accept when none is scripted)."""
        self.place_calls.append(PlaceCall(request, await self._new_rows()))
        if self.checks_cash and not self._place_outcomes and request.side is Side.BUY:
            price = request.limit_price or self.quotes[request.symbol].upper_limit or Decimal(0)
            if request.quantity * price > self.cash.orderable_krw:
                raise OrderRejectedByBroker(
                    f"orderable cash {self.cash.orderable_krw} is short of {request.quantity * price}", code="FAKE_CASH"
                )
        outcome = self._place_outcomes.popleft() if self._place_outcomes else Accept()
        match outcome:
            case Accept(number=number, ts_accepted=ts):
                report = self._book(request, number, ts)
                return OrderAck(report.broker_order_number, report.venue_order_ref, report.ts_accepted)
            case Reject(message=message, code=code):
                raise OrderRejectedByBroker(message, code=code)
            case Ambiguous(placed=placed, number=number, ts_accepted=ts):
                if placed:
                    self._book(request, number, ts)
                raise AmbiguousOrderOutcome("read timeout after sending the order request")
            case Fatal(message=message):
                raise FatalBrokerError(message)
            case Crash(placed=placed, number=number):
                if placed:
                    self._book(request, number, None)
                raise SimulatedCrash("the process died before the acknowledgement was recorded")
        raise AssertionError(f"unknown outcome {outcome!r}")

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        """Record the call, then cancel the remainder in the book (or refuse, if scripted)."""
        self.cancel_calls.append(CancelCall(account_id, broker_order_number, venue_order_ref))
        outcome = self._cancel_outcomes.popleft() if self._cancel_outcomes else None
        if outcome is not None:
            raise OrderRejectedByBroker(outcome.message, code=outcome.code)
        key = next((n for n in self.orders if n.lstrip("0") == broker_order_number.lstrip("0")), None)
        if self.confirms_cancels and (key is None or self.orders[key].state is not BrokerOrderState.OPEN):
            raise OrderRejectedByBroker(f"order {broker_order_number} has nothing left to cancel", code="FAKE_CANCEL")
        self._cancel_in_book(broker_order_number)
        if self.confirms_cancels and key is not None:
            report = self.orders[key]
            await self.deliver(
                CancelReport(
                    self.account_id,
                    key,
                    report.quantity - report.filled_quantity,
                    self.clock.now(),
                    "canceled by request",
                    report.trading_date,
                )
            )

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        """Keep the handler (ticks are not generated by this fake)."""
        self.tick_handler = handler

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        """Keep the handler that `fill`, `expire` and `deliver` call."""
        self.order_event_handler = handler

    async def close(self) -> None:
        """Mark the fake closed; the book is untouched."""
        self.closed = True

    # -- INTERNALS --------------------------------------------------------------------------------------

    async def _new_rows(self) -> tuple[Order, ...] | None:
        if self.uow_factory is None:
            return None
        async with self.uow_factory() as uow:
            return tuple(o for o in await uow.orders.list_open(self.account_id) if o.status.value == "NEW")

    def _book(self, request: OrderRequest, number: str | None, ts: datetime | None) -> BrokerOrderReport:
        return self.add_order(
            request.symbol,
            request.side,
            request.quantity,
            request.limit_price,
            number=number,
            ts_accepted=ts,
            order_type=request.order_type,
        )

    def _cancel_in_book(self, broker_order_number: str) -> None:
        key = next(n for n in self.orders if n.lstrip("0") == broker_order_number.lstrip("0"))
        report = self.orders[key]
        if report.state is BrokerOrderState.OPEN:
            self.orders[key] = replace(report, state=BrokerOrderState.CANCELED)

    def _hold(self, fill: Fill) -> None:
        held = self.positions.get(fill.symbol) or BrokerPosition(fill.symbol, Decimal(0), Decimal(0))
        quantity = held.quantity + fill.quantity * fill.side.sign
        if quantity == 0:
            avg = Decimal(0)
        elif fill.side is Side.BUY:
            avg = (held.avg_price * held.quantity + fill.price * fill.quantity) / quantity
        else:
            avg = held.avg_price
        self.set_position(fill.symbol, quantity, avg)


def _conforms(broker: FakeBroker) -> Broker:
    return broker  # a type checker verifies here that FakeBroker implements the port


# -- NOTIFIER -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RecordingNotifier:
    """The `Notifier` port that keeps every event and session summary it is given."""

    events: list[EventRecord] = field(default_factory=list)
    settlements: list[DailySettlement] = field(default_factory=list)
    reports: list[DailyReport] = field(default_factory=list)

    def event(self, record: EventRecord) -> None:
        """Keep one event."""
        self.events.append(record)

    def session_closed(self, report: DailyReport) -> None:
        """Keep one session's report (and its settlement)."""
        self.reports.append(report)
        self.settlements.append(report.settlement)

    def kinds(self) -> list[str]:
        """Return the kinds of the events told so far, in order."""
        return [e.kind for e in self.events]

    def of_kind(self, kind: str) -> list[EventRecord]:
        """Return the events of `kind`, in order."""
        return [e for e in self.events if e.kind == kind]


def as_recorded(fill: Fill, account_id: str, cumulative: int | Decimal) -> Fill:
    """Return `fill` as the daemon records it: identified by its order and the order's cumulative quantity."""
    return replace(fill, broker_fill_id=cumulative_identity(account_id, fill, Decimal(cumulative)))


def as_recorded_all(account_id: str, broker_fills: Sequence[Fill]) -> list[Fill]:
    """Return a broker's individual executions (in execution order) under the identities the daemon records."""
    cumulative: dict[tuple[date, str], Decimal] = {}
    recorded = []
    for fill in broker_fills:
        key = (fill.trading_date, fill.broker_order_number.lstrip("0"))
        cumulative[key] = cumulative.get(key, Decimal(0)) + fill.quantity
        recorded.append(as_recorded(fill, account_id, cumulative[key]))
    return recorded


class _AnyKrxSymbol(InstrumentBook):
    """An instrument book that knows every KRX symbol (a stock, or an ETF when named), for specifications."""

    def __init__(self, etfs: frozenset[str]) -> None:
        super().__init__({})
        object.__setattr__(self, "_etfs", etfs)

    def get(self, symbol: str) -> Instrument:
        kind = InstrumentKind.ETF if symbol in self._etfs else InstrumentKind.STOCK  # type: ignore[attr-defined]
        return krx_instrument(symbol, kind)

    def __contains__(self, symbol: object) -> bool:
        return True


def krx_venue(*symbols: str, etfs: Sequence[str] = ()):
    """Return the KRX venue profile of `symbols` (every symbol, when none is named); `etfs` trade on ETF ticks."""
    kinds = {s: InstrumentKind.ETF if s in etfs else InstrumentKind.STOCK for s in symbols}
    if symbols:
        return krx_profile([krx_instrument(s, k) for s, k in kinds.items()])
    return krx_profile(_AnyKrxSymbol(frozenset(etfs)))
