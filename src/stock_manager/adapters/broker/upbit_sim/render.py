"""How the simulated exchange's orders, trades and balances look on Upbit's wire (REST order objects with
decimal strings, ``myOrder``/``myAsset`` events with JSON numbers).

Source: ../reference/upbit-openapi.md §4.1 (accounts), §4.10 (order object, states, fee arithmetic: a bid
reserves ``rate × funds`` up front and pays it per fill, an ask pays it from the proceeds; a market buy's final
``locked`` is the refunded dust plus the unused fee), §5.3 (``myOrder``: with state ``trade`` the price and volume
are the fill's). Ids: an order's uuid and a trade's uuid are UUID-5s of the replay id and the engine's order
number or fill id, so they stay the same after the simulator restarts on the same replay.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from stock_manager.adapters.broker.sim.book_view import ExchangeBook
from stock_manager.adapters.broker.upbit_sim.wire import epoch_ms, kst_iso, number, text
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState

NAMESPACE: Final = uuid.UUID("5f0e6c1e-3a55-4f0b-9d0e-7b1c8a2e4d61")
STATES: Final = {
    BrokerOrderState.OPEN: "wait",
    BrokerOrderState.FILLED: "done",
    BrokerOrderState.CANCELED: "cancel",
    BrokerOrderState.REJECTED: "cancel",
}


class OrderIds:
    """Upbit uuids of the venue's orders and trades, and the way back from an order uuid to its number."""

    def __init__(self, book: ExchangeBook, replay_id: str) -> None:
        self._book = book
        self._replay_id = replay_id
        self._numbers: dict[str, str] = {}

    def order_uuid(self, order_number: str) -> str:
        """Return the uuid of venue order `order_number`."""
        value = str(uuid.uuid5(NAMESPACE, f"{self._replay_id}:order:{order_number}"))
        self._numbers[value] = order_number
        return value

    def trade_uuid(self, fill_id: str) -> str:
        """Return the uuid of the trade (fill) `fill_id`."""
        return str(uuid.uuid5(NAMESPACE, f"{self._replay_id}:trade:{fill_id}"))

    def number_of(self, order_uuid: str) -> str | None:
        """Return the venue order number of `order_uuid`, or None when no order has it."""
        if order_uuid not in self._numbers:
            for report in self._book.orders():
                self.order_uuid(report.broker_order_number)
        return self._numbers.get(order_uuid)


class OrderFacts:
    """Everything the wire says of one order, from the venue's report and its fills (amounts in KRW)."""

    def __init__(
        self,
        report: BrokerOrderReport,
        fills: Sequence[Fill],
        amount_krw: Decimal | None,
        fee_rate: Decimal,
        *,
        pending_cancel: bool = False,
    ) -> None:
        self.report = report
        self.fills = list(fills)
        self.amount_krw = amount_krw
        self.pending_cancel = pending_cancel
        self.executed = sum((f.quantity for f in self.fills), Decimal(0))
        self.funds = sum((f.notional_krw for f in self.fills), Decimal(0))
        self.paid_fee = sum((f.commission_krw for f in self.fills), Decimal(0))
        bid = report.side is Side.BUY
        limit = report.limit_price if report.order_type is OrderType.LIMIT else None
        if amount_krw is not None:
            self.reserved_fee = amount_krw * fee_rate
        else:
            self.reserved_fee = limit * report.quantity * fee_rate if bid and limit is not None else Decimal(0)
        self.remaining_fee = max(Decimal(0), self.reserved_fee - self.paid_fee) if bid else Decimal(0)
        self.remaining_volume = None if amount_krw is not None else report.quantity - self.executed
        self.state = "wait" if pending_cancel else STATES[report.state]
        if amount_krw is not None:
            self.locked = amount_krw - self.funds + self.remaining_fee
        elif self.state == "done":
            self.locked = Decimal(0)
        elif bid:
            assert self.remaining_volume is not None
            self.locked = self.remaining_volume * (limit or Decimal(0)) + self.remaining_fee
        else:
            assert self.remaining_volume is not None  # None only for a market buy by amount, handled above
            self.locked = self.remaining_volume if self.state == "wait" else Decimal(0)

    @property
    def ord_type(self) -> str:
        """Return ``limit``, ``price`` (market buy by amount) or ``market`` (market sell)."""
        if self.amount_krw is not None:
            return "price"
        return "limit" if self.report.order_type is OrderType.LIMIT else "market"

    @property
    def side(self) -> str:
        """Return ``bid`` or ``ask``."""
        return "bid" if self.report.side is Side.BUY else "ask"

    @property
    def price(self) -> Decimal | None:
        """Return the order's ``price``: the limit, a market buy's KRW amount, None for a market sell."""
        return self.amount_krw if self.amount_krw is not None else self.report.limit_price

    @property
    def avg_price(self) -> Decimal:
        """Return the average fill price (0 before a fill)."""
        return self.funds / self.executed if self.executed else Decimal(0)


def order_object(
    facts: OrderFacts, ids: OrderIds, *, with_trades: bool = False, with_funds: bool = False
) -> dict[str, Any]:
    """Return the REST order object (§4.10): decimals as strings; ``trades`` for ``GET /v1/order``,
    ``executed_funds`` for the list endpoints."""
    report = facts.report
    body: dict[str, Any] = {
        "uuid": ids.order_uuid(report.broker_order_number),
        "side": facts.side,
        "ord_type": facts.ord_type,
        "price": None if facts.price is None else text(facts.price),
        "state": facts.state,
        "market": report.symbol,
        "created_at": kst_iso(report.ts_accepted),
    }
    if facts.remaining_volume is not None:
        body["volume"] = text(report.quantity)
        body["remaining_volume"] = text(facts.remaining_volume)
    body |= {
        "reserved_fee": text(facts.reserved_fee),
        "remaining_fee": text(facts.remaining_fee),
        "paid_fee": text(facts.paid_fee),
        "locked": text(facts.locked),
        "executed_volume": text(facts.executed),
    }
    if with_funds:
        body["executed_funds"] = text(facts.funds)
    body |= {
        "prevented_volume": "0",
        "prevented_locked": "0",
        "trades_count": len(facts.fills),
        "identifier": report.client_order_id,
    }
    if with_trades:
        body["trades"] = [
            {
                "market": f.symbol,
                "uuid": ids.trade_uuid(f.broker_fill_id),
                "price": text(f.price),
                "volume": text(f.quantity),
                "funds": text(f.notional_krw),
                "trend": "up" if f.side is Side.BUY else "down",
                "created_at": kst_iso(f.ts_filled, micro=True),
                "side": facts.side,
            }
            for f in facts.fills
        ]
    return body


def my_order_event(facts: OrderFacts, ids: OrderIds, state: str, ts: datetime, *, fill: Fill | None = None) -> dict:
    """Return a ``myOrder`` event (§5.3) in the DEFAULT format; with `fill`, the ``trade`` event of that fill
    (`facts` then describes the order right after it)."""
    report = facts.report

    def num(value: Decimal | None) -> str | None:
        return None if value is None else number(value)

    return {
        "type": "myOrder",
        "code": report.symbol,
        "uuid": ids.order_uuid(report.broker_order_number),
        "ask_bid": facts.side.upper(),
        "order_type": facts.ord_type,
        "state": state,
        "trade_uuid": ids.trade_uuid(fill.broker_fill_id) if fill else None,
        "price": num(fill.price if fill else facts.price),
        "avg_price": num(facts.avg_price),
        "volume": num(fill.quantity if fill else (None if facts.remaining_volume is None else report.quantity)),
        "remaining_volume": num(facts.remaining_volume),
        "executed_volume": num(facts.executed),
        "trades_count": len(facts.fills),
        "reserved_fee": num(facts.reserved_fee),
        "remaining_fee": num(facts.remaining_fee),
        "paid_fee": num(facts.paid_fee),
        "locked": num(facts.locked),
        "executed_funds": num(facts.funds),
        "time_in_force": None,
        "trade_fee": num(fill.commission_krw) if fill else None,
        "is_maker": (report.order_type is OrderType.LIMIT) if fill else None,
        "identifier": report.client_order_id,
        "smp_type": None,
        "prevented_volume": number(Decimal(0)),
        "prevented_locked": number(Decimal(0)),
        "trade_timestamp": epoch_ms(fill.ts_filled) if fill else None,
        "order_timestamp": epoch_ms(report.ts_accepted),
        "timestamp": epoch_ms(ts),
        "stream_type": "REALTIME",
    }


def balances(book: ExchangeBook, quote_currency: str = "KRW") -> list[dict[str, Any]]:
    """Return ``GET /v1/accounts`` (§4.1): KRW first (``balance`` = orderable, ``locked`` = what open bids hold),
    then each base currency held (``locked`` = what open asks hold); decimals as strings."""
    rows = [
        {
            "currency": quote_currency,
            "balance": text(book.orderable_krw),
            "locked": text(book.reserved_krw),
            "avg_buy_price": "0",
            "avg_buy_price_modified": False,
            "unit_currency": quote_currency,
        }
    ]
    for position in book.positions():
        free = book.sellable_quantity(position.symbol)
        rows.append(
            {
                "currency": position.symbol.partition("-")[2],
                "balance": text(free),
                "locked": text(position.quantity - free),
                "avg_buy_price": text(position.avg_price),
                "avg_buy_price_modified": False,
                "unit_currency": quote_currency,
            }
        )
    return rows


def my_asset_event(book: ExchangeBook, ts: datetime, asset_uuid: str) -> dict[str, Any]:
    """Return a ``myAsset`` event (§5.3) with every balance (JSON numbers)."""
    assets = [
        {
            "currency": row["currency"],
            "balance": number(Decimal(row["balance"])),
            "locked": number(Decimal(row["locked"])),
        }
        for row in balances(book)
    ]
    return {
        "type": "myAsset",
        "asset_uuid": asset_uuid,
        "assets": assets,
        "asset_timestamp": epoch_ms(ts),
        "timestamp": epoch_ms(ts),
        "stream_type": "REALTIME",
    }
