"""A `Broker` seen under another symbol: the contract specifications trade `harness.SYMBOL` (a KRX code); a venue
that lists other instruments (Upbit's ``KRW-BTC``) is driven under that name by renaming symbols at the port,
in both directions, and nothing else."""

from dataclasses import replace
from datetime import date

from stock_manager.domain.fills import Fill
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.service_layer.ports.broker import (
    AccountRef,
    Broker,
    BrokerOrderEvent,
    BrokerOrderReport,
    BrokerPosition,
    CashBalance,
    FillReport,
    OrderAck,
    OrderEventHandler,
    OrderRequest,
    Quote,
    TickHandler,
)


class SymbolAlias:
    """`broker` with its `symbol` called `alias` (every other value passes through unchanged)."""

    def __init__(self, broker: Broker, *, alias: str, symbol: str) -> None:
        self.inner = broker
        self._alias, self._symbol = alias, symbol

    def _out(self, symbol: str) -> str:
        return self._alias if symbol == self._symbol else symbol

    def _in(self, symbol: str) -> str:
        return self._symbol if symbol == self._alias else symbol

    def _fill(self, fill: Fill) -> Fill:
        return replace(fill, symbol=self._out(fill.symbol))

    async def login(self) -> None:
        await self.inner.login()

    async def get_accounts(self) -> list[AccountRef]:
        return await self.inner.get_accounts()

    async def get_cash(self, account_id: str) -> CashBalance:
        return await self.inner.get_cash(account_id)

    async def get_positions(self, account_id: str) -> list[BrokerPosition]:
        return [replace(p, symbol=self._out(p.symbol)) for p in await self.inner.get_positions(account_id)]

    async def get_orders(self, account_id: str, trading_date: date) -> list[BrokerOrderReport]:
        return [replace(r, symbol=self._out(r.symbol)) for r in await self.inner.get_orders(account_id, trading_date)]

    async def get_fills(self, account_id: str, trading_date: date) -> list[Fill]:
        return [self._fill(f) for f in await self.inner.get_fills(account_id, trading_date)]

    async def get_price(self, symbol: str) -> Quote:
        return replace(await self.inner.get_price(self._in(symbol)), symbol=symbol)

    async def get_daily_bars(self, symbol: str, end: date, count: int) -> list[DailyBar]:
        return [replace(b, symbol=symbol) for b in await self.inner.get_daily_bars(self._in(symbol), end, count)]

    async def place_order(self, request: OrderRequest) -> OrderAck:
        return await self.inner.place_order(replace(request, symbol=self._in(request.symbol)))

    async def cancel_order(self, account_id: str, broker_order_number: str, venue_order_ref: str) -> None:
        await self.inner.cancel_order(account_id, broker_order_number, venue_order_ref)

    async def subscribe_quotes(self, symbols: list[str], handler: TickHandler) -> None:
        async def renamed(tick: Tick) -> None:
            await handler(replace(tick, symbol=self._out(tick.symbol)))

        await self.inner.subscribe_quotes([self._in(s) for s in symbols], renamed)

    async def subscribe_order_events(self, handler: OrderEventHandler) -> None:
        async def renamed(event: BrokerOrderEvent) -> None:
            await handler(
                FillReport(event.account_id, self._fill(event.fill)) if isinstance(event, FillReport) else event
            )

        await self.inner.subscribe_order_events(renamed)

    async def close(self) -> None:
        await self.inner.close()
