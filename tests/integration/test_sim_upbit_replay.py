"""SimBroker replaying the bundled Upbit KRW-BTC candles: UTC days, orders living across days, market buys by
KRW amount journaled and rebuilt after a crash without a second notice."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.upbit.rules import upbit_cost_model
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import (
    BrokerOrderEvent,
    BrokerOrderState,
    CancelReport,
    FillReport,
    OrderRequest,
)

BTC = "KRW-BTC"
DAY = date(2024, 3, 1)


def _replay(state_dir: Path, **kw) -> SimBroker:
    return SimBroker(
        symbols=[BTC],
        start_date=DAY,
        end_date=DAY + timedelta(days=1),
        venue="upbit",
        clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
        state_dir=state_dir,
        cost_model=upbit_cost_model(),
        start_cash_krw=Decimal(100_000_000),
        **kw,
    )


async def test_upbit_replay_when_a_day_plays_then_utc_sessions_192_prints_and_orders_carried_over(tmp_path: Path):
    venue = _replay(tmp_path)
    played: list = []
    await venue.subscribe_quotes([BTC], lambda tick: _append(played, tick))
    sessions = aiter(venue.sessions())
    session = await anext(sessions)
    assert (session.ts_open, session.ts_close) == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))
    quote = await venue.get_price(BTC)
    assert quote.upper_limit is None and quote.lower_limit is None
    resting = OrderRequest(
        venue.account_id, BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), Decimal(1_000_000)
    )  # far below the market: it rests

    ack = await venue.place_order(resting)
    await venue.run_until_close(session)

    assert len(played) == 192 and all(t.volume >= 0 for t in played)
    assert sum((t.volume for t in played), Decimal(0)) == Decimal("6256.97193595")  # the day candle's volume
    await anext(sessions)
    [carried] = [
        r
        for r in await venue.get_orders(venue.account_id, DAY + timedelta(days=1))
        if r.broker_order_number == ack.broker_order_number
    ]
    assert carried.state is BrokerOrderState.OPEN and carried.trading_date == DAY
    await venue.close()


async def test_amount_buy_when_the_replay_is_rebuilt_after_a_crash_then_same_fills_and_no_second_notice(tmp_path: Path):
    venue = _replay(tmp_path, participation_rate=Decimal("0.0001"))
    events: list[BrokerOrderEvent] = []
    await venue.subscribe_order_events(lambda event: _append(events, event))
    session = await anext(aiter(venue.sessions()))
    ack = await venue.place_amount_buy(venue.account_id, BTC, Decimal(1_000_000), client_order_id="amount-1")
    await venue.run_until_close(session)
    fills = [e.fill for e in events if isinstance(e, FillReport)]
    [spent] = [e for e in events if isinstance(e, CancelReport)]
    assert len(fills) > 1 and spent.broker_order_number == ack.broker_order_number
    spent_krw = sum((f.notional_krw for f in fills), Decimal(0))
    assert Decimal(1_000_000) - spent_krw < fills[-1].price * Decimal("0.00000001")  # only dust is left
    await venue.close()

    rebuilt = _replay(tmp_path, participation_rate=Decimal("0.0001"))
    after: list[BrokerOrderEvent] = []
    await rebuilt.subscribe_order_events(lambda event: _append(after, event))
    assert await rebuilt.get_fills(rebuilt.account_id, DAY) == fills
    [report] = await rebuilt.get_orders(rebuilt.account_id, DAY)
    assert report.state is BrokerOrderState.CANCELED and report.client_order_id == "amount-1"
    sessions = aiter(rebuilt.sessions())
    await anext(sessions)  # the closed day offered again, nothing to play
    await anext(sessions)
    assert not [e for e in after if isinstance(e, CancelReport)]
    await rebuilt.close()


async def _append(items: list, item: object) -> None:
    items.append(item)


async def test_price_when_part_of_a_day_has_played_then_the_quote_carries_the_days_open_high_and_low(tmp_path: Path):
    venue = _replay(tmp_path)
    played: list = []
    await venue.subscribe_quotes([BTC], lambda tick: _append(played, tick))
    session = await anext(aiter(venue.sessions()))
    await venue.run_until_close(session)

    quote = await venue.get_price(BTC)

    prices = [t.price for t in played]
    assert (quote.day_open, quote.day_high, quote.day_low) == (prices[0], max(prices), min(prices))
    assert quote.price == prices[-1]
    await venue.close()
