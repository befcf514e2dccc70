"""Divergence joins an order and its fills whatever padding each kept of the venue's order number."""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.research.divergence import side_orders

DAY = date(2023, 2, 17)


def test_side_orders_when_the_order_says_1_and_its_fill_0000000001_then_joined():
    order = SimpleNamespace(
        trading_date=DAY,
        symbol="005930",
        side="BUY",
        intent="ENTRY",
        order_type="LIMIT",
        quantity=Decimal(31),
        limit_price=Decimal(64300),
        ts_created=datetime(2023, 2, 16, 23, 30, tzinfo=UTC),
        broker_order_number="1",
    )
    fill = Fill(
        "F-1",
        "0000000001",
        "005930",
        Side.BUY,
        Decimal(31),
        Decimal(62900),
        Decimal(274),
        Decimal(0),
        datetime(2023, 2, 17, 0, 0, tzinfo=UTC),
        DAY,
    )

    (joined,) = side_orders([order], [fill], lambda o: o.broker_order_number)

    assert joined.filled == Decimal(31) and joined.vwap == Decimal(62900)
