"""The matching engine's account ledger: deposit, buy reservations, holdings, fills and their costs.

A collaborator of `MatchingEngine` (in `matching`): it keeps the deposit, positions and fills and reads the
engine's working orders (shared list, time priority) to count their reservations. Its rules (cash for a buy,
holdings for a sell, costs at each fill, no T+2 settlement, average purchase price without costs) are in the
`matching` module docstring.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.sim.book import BookOrder
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.model import Side
from stock_manager.domain.positions import Position
from stock_manager.service_layer.ports.broker import BrokerPosition, CashBalance

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.matching import MatchingConfig


class AccountLedger:
    """The engine's one account: cash, reservations, holdings and fills.

    Parameters
    ----------
    working : Sequence[BookOrder]
        The engine's working orders (read, never changed here).
    """

    def __init__(self, account_id: str, config: "MatchingConfig", working: Sequence[BookOrder]) -> None:
        self.account_id = account_id
        self.config = config
        self._working = working
        self._cash = config.start_cash_krw
        self._positions: dict[str, Position] = {}
        self._fills: list[Fill] = []

    @property
    def deposit_krw(self) -> Decimal:
        """Return the cash balance after every fill's notional, commission and tax, KRW."""
        return self._cash

    @property
    def reserved_krw(self) -> Decimal:
        """Return the cash working buys reserve on their remaining quantity (with commission), KRW."""
        return sum((self.reservation_krw(o) for o in self._working if o.request.side is Side.BUY), Decimal(0))

    @property
    def orderable_krw(self) -> Decimal:
        """Return the cash a new buy can use: deposit minus reservations, KRW."""
        return self._cash - self.reserved_krw

    def cash(self) -> CashBalance:
        """Return the account's deposit and orderable cash."""
        return CashBalance(account_id=self.account_id, deposit_krw=self._cash, orderable_krw=self.orderable_krw)

    def holding(self, symbol: str) -> Position:
        """Return the account's position in `symbol` (flat when never traded)."""
        return self._positions.get(symbol) or Position(account_id=self.account_id, symbol=symbol)

    def positions(self) -> list[BrokerPosition]:
        """Return the holdings with non-zero quantity, by symbol."""
        return [
            BrokerPosition(symbol=symbol, quantity=position.quantity, avg_price=position.avg_price)
            for symbol, position in sorted(self._positions.items())
            if position.quantity != 0
        ]

    def sellable_quantity(self, symbol: str) -> Decimal:
        """Return the quantity held minus the remaining quantity of working sells of `symbol`."""
        working = sum(
            (o.remaining for o in self._working if o.request.symbol == symbol and o.request.side is Side.SELL),
            Decimal(0),
        )
        return self.holding(symbol).quantity - working

    def fills(self, trading_date: date | None = None) -> list[Fill]:
        """Return the fills of `trading_date` (all fills when None), in execution order."""
        return [f for f in self._fills if trading_date is None or f.trading_date == trading_date]

    def cost_of_buying(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Return what buying `quantity` at `price` takes from the deposit (notional plus commission), KRW."""
        notional = quantity * price
        return notional + self.config.cost_model.commission_krw(notional)

    def reservation_krw(self, order: BookOrder) -> Decimal:
        """Return the cash a working buy holds back, KRW: its remaining quantity at its reserve price with
        commission, or for a buy by amount the KRW it may still spend with the commission on it."""
        if order.amount_krw is not None:
            return order.remaining_krw + self.config.cost_model.commission_krw(order.remaining_krw)
        return self.cost_of_buying(order.remaining, order.reserve_price)

    def affordable_quantity(self, order: BookOrder, price: Decimal, instrument: Instrument) -> Decimal:
        """Return how much of a buy can fill at `price` without the deposit going below zero: its reservation
        plus the free cash, on the instrument's size grid."""
        available = self._cash - self.reserved_krw + self.reservation_krw(order)
        if available <= 0:
            return Decimal(0)
        step = instrument.size_increment
        quantity = instrument.floor_quantity(available / (price * (1 + self.config.cost_model.commission_rate)))
        while quantity > 0 and self.cost_of_buying(quantity, price) > available:
            quantity -= step
        return max(quantity, Decimal(0))

    def book_fill(self, fill: Fill) -> None:
        """Move the deposit by the fill's notional and costs (KRW), and the holding by its quantity."""
        notional = fill.notional_krw
        if fill.side is Side.BUY:
            self._cash -= notional + fill.commission_krw
        else:
            self._cash += notional - fill.commission_krw - fill.tax_krw
        self._positions[fill.symbol] = self.holding(fill.symbol).apply_fill(fill)
        self._fills.append(fill)
