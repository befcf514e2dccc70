"""Sending one order to Upbit, and resolving an ambiguous outcome by its ``identifier`` — never by a blind
re-send.

Source: ../reference/upbit-openapi.md §4.3 (type matrix), §4.5 (``GET /v1/order?identifier=``; 404
``order_not_found`` is a definite "no such order"), §9 pitfalls 1, 6 and 13 (``identifier`` is single-use for
ever, even for a failed order: a retry needs a new one).

The port's order as Upbit's:

* LIMIT → ``limit`` with the price on the instrument's grid (down for a buy, up for a sell) and the volume.
* MARKET SELL → ``market`` with the volume.
* MARKET BUY of a quantity → Upbit has no market buy by quantity (``price`` spends a KRW amount, and the amount
  buys more than asked when the price falls, which would overfill the order). It is sent as a ``limit`` buy of
  the quantity at the last trade price + `market_buy_slippage` (1 % by default) rounded down to the grid: it
  fills like a market order up to that price, never beyond the quantity, and rests if the market runs away.
  A true market buy by KRW amount is `UpbitBroker.place_amount_buy`.
* DAY and GTC are sent without ``time_in_force`` (Upbit orders live until filled or cancelled; it has no day
  orders); IOC/FOK as ``ioc``/``fok`` on limits.

Ambiguity (`AmbiguousOrderOutcome` from the send: a timeout after sending, a 5xx, an unreadable answer):

1. ``GET /v1/order?identifier=<id>``: found → adopt that order and return its acknowledgement;
2. a definite 404 → send **once** more with the identifier ``<id>-r1`` (the old one may be burnt by a refused
   attempt; reports map ``<id>-r1`` back to ``<id>``); an ambiguous re-send is looked up by ``<id>-r1`` the
   same way, and adopted if found;
3. anything else (the lookup failed, the re-send's lookup found nothing) → `AmbiguousOrderOutcome`; the core
   resolves it by inquiry and never sends again.

At most two orders are ever sent for one request, and only after Upbit said the first does not exist. An
order without a client order id cannot be looked up: its ambiguity is raised as it is.
"""

from decimal import Decimal
from typing import Final

import structlog

from stock_manager.adapters.broker.upbit.client import UpbitExchangeClient
from stock_manager.adapters.broker.upbit.models import UpbitOrder
from stock_manager.adapters.broker.upbit.reports import order_ack, resend_identifier
from stock_manager.adapters.venues.upbit.rules import upbit_instrument
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    BrokerError,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.model import OrderType, Side, TimeInForce
from stock_manager.service_layer.ports.broker import OrderAck, OrderRequest

log = structlog.get_logger(__name__)

DEFAULT_MARKET_BUY_SLIPPAGE: Final = Decimal("0.01")
_TIME_IN_FORCE: Final = {TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}


class OrderSender:
    """Places orders for `UpbitBroker` (see the module docstring).

    Parameters
    ----------
    client : UpbitExchangeClient
        The REST client.
    instruments : dict[str, Instrument]
        Price grids by market (others are built with `upbit_instrument`).
    market_buy_slippage : Decimal
        How far above the last price a MARKET BUY's protective limit is (0.01 = 1 %).
    """

    def __init__(
        self,
        client: UpbitExchangeClient,
        instruments: dict[str, Instrument],
        market_buy_slippage: Decimal = DEFAULT_MARKET_BUY_SLIPPAGE,
    ) -> None:
        self._client = client
        self._instruments = instruments
        self._slippage = market_buy_slippage
        self.resends = 0
        self.adopted = 0

    def instrument(self, market: str) -> Instrument:
        """Return the instrument of `market`."""
        if market not in self._instruments:
            self._instruments[market] = upbit_instrument(market)
        return self._instruments[market]

    async def place(self, request: OrderRequest) -> OrderAck:
        """Send `request` as Upbit's order (module docstring) and resolve an ambiguous outcome.

        Raises
        ------
        OrderRejectedByBroker
            Upbit refused it (``code`` = its error name), or it cannot be expressed (``code="CLIENT"``).
        AmbiguousOrderOutcome
            The outcome could not be resolved by the identifier.
        TemporaryBrokerError, FatalBrokerError
            As `UpbitExchangeClient.place_order`.
        """
        instrument = self.instrument(request.symbol)
        tif = _TIME_IN_FORCE.get(request.time_in_force)
        if request.order_type is OrderType.LIMIT:
            if request.limit_price is None or request.limit_price <= 0:
                raise OrderRejectedByBroker("a limit order needs a positive limit price", code="CLIENT")
            price: Decimal | None = instrument.round_price(request.limit_price, request.side)
            args = ("limit", request.quantity, price, tif)
        elif request.side is Side.SELL:
            args = ("market", request.quantity, None, None)
        else:
            tickers = await self._client.ticker([request.symbol])
            if not tickers:
                raise TemporaryBrokerError(f"Upbit has no ticker for {request.symbol}: a market buy needs its price")
            price = instrument.round_price(tickers[0].trade_price * (1 + self._slippage), Side.BUY)
            args = ("limit", request.quantity, price, tif)
        ord_type, volume, price, tif = args
        side = "bid" if request.side is Side.BUY else "ask"
        log.info(
            "upbit_order_sending",
            market=request.symbol,
            side=side,
            ord_type=ord_type,
            volume=str(volume),
            price=None if price is None else str(price),
            identifier=request.client_order_id,
        )
        return await self._send(request.symbol, side, ord_type, volume, price, tif, request.client_order_id)

    async def place_amount_buy(self, market: str, amount_krw: Decimal, identifier: str | None) -> OrderAck:
        """Send a market buy spending `amount_krw` (``ord_type=price``), resolving ambiguity the same way."""
        log.info(
            "upbit_order_sending",
            market=market,
            side="bid",
            ord_type="price",
            amount_krw=str(amount_krw),
            identifier=identifier,
        )
        return await self._send(market, "bid", "price", None, amount_krw, None, identifier)

    async def _send(
        self,
        market: str,
        side: str,
        ord_type: str,
        volume: Decimal | None,
        price: Decimal | None,
        tif: str | None,
        identifier: str | None,
    ) -> OrderAck:
        try:
            order = await self._client.place_order(
                market, side, ord_type, volume=volume, price=price, time_in_force=tif, identifier=identifier
            )
        except AmbiguousOrderOutcome as e:
            if identifier is None:
                raise
            log.warning("upbit_order_outcome_unknown", identifier=identifier, error=str(e))
            found = await self._look_up(identifier)
            if found is not None:
                return self._adopt(found)
            retry = resend_identifier(identifier)
            self.resends += 1
            log.warning("upbit_order_resent", identifier=identifier, resend_identifier=retry)
            try:
                order = await self._client.place_order(
                    market, side, ord_type, volume=volume, price=price, time_in_force=tif, identifier=retry
                )
            except AmbiguousOrderOutcome:
                found = await self._look_up(retry)
                if found is not None:
                    return self._adopt(found)
                raise AmbiguousOrderOutcome(
                    f"Upbit order {identifier}: the re-send {retry} is unresolved too; inquire, never send again"
                ) from None
        log.info("upbit_order_accepted", order=order.uuid, identifier=order.identifier, state=order.state)
        return order_ack(order)

    async def _look_up(self, identifier: str) -> UpbitOrder | None:
        # A definite None (404) lets the caller re-send; a failed lookup leaves the outcome ambiguous.
        try:
            return await self._client.get_order(identifier=identifier)
        except FatalBrokerError:
            raise
        except BrokerError as e:
            raise AmbiguousOrderOutcome(
                f"Upbit order {identifier}: the outcome is unknown and the lookup by "
                f"identifier failed ({type(e).__name__}); inquire, never send again"
            ) from None

    def _adopt(self, order: UpbitOrder) -> OrderAck:
        self.adopted += 1
        log.warning("upbit_order_adopted", order=order.uuid, identifier=order.identifier, state=order.state)
        return order_ack(order)
