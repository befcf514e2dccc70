"""The matching engine's account ledger: deposit, buy reservations, holdings, fills and their costs.

A mixin of `MatchingEngine` (in `matching`), whose state it shares: the deposit, positions and fills it
keeps, and the working orders whose reservations it counts; it is never used alone. Its rules (cash for a
buy, holdings for a sell, costs at each fill, no T+2 settlement, average purchase price without costs) are
in the `matching` module docstring.
"""

from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.sim.book import BookOrder
from stock_manager.domain.clock import kst_date
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.domain.positions import Position
from stock_manager.service_layer.broker_port import BrokerPosition, CashBalance

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.matching import MatchingConfig


class AccountLedger:
    """The engine's one account: cash, reservations, holdings and fills; mixed into `MatchingEngine`."""

    # Provided by MatchingEngine.
    account_id: str
    config: "MatchingConfig"
    _cash: Decimal
    _positions: dict[str, Position]
    _fills: list[Fill]
    _working: list[BookOrder]

    @property
    def deposit_krw(self) -> Decimal:
        """Return the cash balance after every fill's notional, commission and tax, KRW."""
        return self._cash

    @property
    def reserved_krw(self) -> Decimal:
        """Return the cash working buys reserve on their remaining quantity (with commission), KRW."""
        return sum(
            (
                self._cost_of_buying(order.remaining, order.reserve_price)
                for order in self._working
                if order.request.side is Side.BUY
            ),
            Decimal(0),
        )

    @property
    def orderable_krw(self) -> Decimal:
        """Return the cash a new buy can use: deposit minus reservations, KRW."""
        return self._cash - self.reserved_krw

    def cash(self) -> CashBalance:
        """Return the account's deposit and orderable cash."""
        return CashBalance(
            account_id=self.account_id, deposit_krw=self._cash, orderable_krw=self.orderable_krw
        )

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
        """Return shares held minus the remaining quantity of working sells of `symbol`."""
        working = sum(
            (
                o.remaining
                for o in self._working
                if o.request.symbol == symbol and o.request.side is Side.SELL
            ),
            Decimal(0),
        )
        return self.holding(symbol).quantity - working

    def fills(self, trading_date: date | None = None) -> list[Fill]:
        """Return the fills on the KST date `trading_date` (all fills when None), in execution order."""
        return [f for f in self._fills if trading_date is None or kst_date(f.ts_filled) == trading_date]

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _cost_of_buying(self, quantity: Decimal, price: Decimal) -> Decimal:
        notional = quantity * price
        return notional + self.config.cost_model.commission_krw(notional)

    def _affordable_quantity(self, order: BookOrder, price: Decimal) -> Decimal:
        # Guard for the invariant cash >= 0: a buy never fills beyond its reservation plus the free cash.
        available = (
            self._cash - self.reserved_krw + self._cost_of_buying(order.remaining, order.reserve_price)
        )
        if available <= 0:
            return Decimal(0)
        quantity = (available / (price * (1 + self.config.cost_model.commission_rate))).to_integral_value(
            ROUND_FLOOR
        )
        while quantity > 0 and self._cost_of_buying(quantity, price) > available:
            quantity -= 1
        return quantity

    def _book_fill(self, fill: Fill, notional: Decimal) -> None:
        # Moves the deposit by the fill's notional (KRW) and costs, and the holding by its shares.
        if fill.side is Side.BUY:
            self._cash -= notional + fill.commission_krw
        else:
            self._cash += notional - fill.commission_krw - fill.tax_krw
        self._positions[fill.symbol] = self.holding(fill.symbol).apply_fill(fill)
        self._fills.append(fill)
