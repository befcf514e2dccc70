"""A read-only view of the simulated exchange for its protocol fronts: what a venue shows on its own screens
(orders, fills, the account, each symbol's day quote), never a way to change it."""

from datetime import date
from decimal import Decimal

from stock_manager.adapters.broker.sim.book import DayQuote
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.domain.fills import Fill
from stock_manager.domain.market import Tick
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerPosition


class ExchangeBook:
    """Reads of one `MatchingEngine` (see its methods for the rules)."""

    def __init__(self, engine: MatchingEngine) -> None:
        self._engine = engine

    def order(self, order_number: str) -> BrokerOrderReport | None:
        """Return one order's report, or None when the number is unknown."""
        return self._engine.order(order_number)

    def order_amount_krw(self, order_number: str) -> Decimal | None:
        """Return the KRW amount of a market buy by amount (Upbit's ``ord_type=price``), or None."""
        return self._engine.order_amount_krw(order_number)

    def order_by_client_id(self, client_order_id: str) -> BrokerOrderReport | None:
        """Return the order placed with `client_order_id`, or None."""
        return self._engine.order_by_client_id(client_order_id)

    def client_order_id_used(self, client_order_id: str) -> bool:
        """Return True when `client_order_id` was used (by an order, or burnt by a refused one)."""
        return self._engine.client_order_id_used(client_order_id)

    def orders(self, trading_date: date | None = None) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` (all when None), in order-number order."""
        return self._engine.orders(trading_date)

    def working_orders(self) -> list[BrokerOrderReport]:
        """Return the orders that can still fill, in time priority."""
        return self._engine.working_orders()

    def fills(self, trading_date: date | None = None) -> list[Fill]:
        """Return the fills of `trading_date` (all when None), in execution order."""
        return self._engine.fills(trading_date)

    def positions(self) -> list[BrokerPosition]:
        """Return the holdings with non-zero quantity."""
        return self._engine.positions()

    def sellable_quantity(self, symbol: str) -> Decimal:
        """Return the quantity held minus working sells of `symbol`."""
        return self._engine.sellable_quantity(symbol)

    @property
    def deposit_krw(self) -> Decimal:
        """Return the cash balance, KRW."""
        return self._engine.deposit_krw

    @property
    def orderable_krw(self) -> Decimal:
        """Return the cash a new buy can use, KRW."""
        return self._engine.orderable_krw

    @property
    def reserved_krw(self) -> Decimal:
        """Return the cash working buys reserve, KRW."""
        return self._engine.ledger.reserved_krw

    @property
    def commission_rate(self) -> Decimal:
        """Return the commission (fee) rate per side."""
        return self._engine.config.cost_model.commission_rate

    def day_quote(self, symbol: str) -> DayQuote | None:
        """Return the base price and band of `symbol` in the current or last session."""
        return self._engine.day_quote(symbol)

    def last_print(self, symbol: str) -> Tick | None:
        """Return the last print of `symbol` the exchange has seen."""
        return self._engine.last_print(symbol)
