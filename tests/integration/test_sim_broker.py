"""SimBroker: a replay on the real bundled data, played through the Broker and SessionSchedule ports."""

import asyncio
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError, OrderRejectedByBroker
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType, Side
from stock_manager.localtime import KST, kst_datetime
from stock_manager.service_layer.ports.broker import (
    Broker,
    BrokerOrderEvent,
    BrokerOrderState,
    CancelReport,
    FillReport,
    OrderRequest,
)
from stock_manager.service_layer.ports.schedule import SessionSchedule

SAMSUNG, KODEX = "005930", "069500"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _broker(state_dir: Path, start: date, end: date, symbols: tuple[str, ...] = (SAMSUNG, KODEX), **kw) -> SimBroker:
    return SimBroker(
        symbols=list(symbols), start_date=start, end_date=end, clock=FixedClock(EPOCH), state_dir=state_dir, **kw
    )


def _market(broker: SimBroker, side: Side, qty: int, symbol: str = SAMSUNG) -> OrderRequest:
    return OrderRequest(broker.account_id, symbol, side, OrderType.MARKET, Decimal(qty), None)


def _limit(broker: SimBroker, side: Side, qty: int, price: int, symbol: str = SAMSUNG) -> OrderRequest:
    return OrderRequest(broker.account_id, symbol, side, OrderType.LIMIT, Decimal(qty), Decimal(price))


class Recorder:
    """Records what the handlers saw, in order, with the replay clock at each call."""

    def __init__(self, broker: SimBroker) -> None:
        self.broker = broker
        self.calls: list[tuple[str, object, datetime]] = []

    async def on_tick(self, tick: Tick) -> None:
        self.calls.append(("tick", tick, self.broker_now()))

    async def on_event(self, event: BrokerOrderEvent) -> None:
        self.calls.append(("event", event, self.broker_now()))

    def broker_now(self) -> datetime:
        return self.broker.clock.now()

    @property
    def events(self) -> list[object]:
        return [item for kind, item, _ in self.calls if kind == "event"]


def test_sim_broker_when_built_then_implements_broker_and_session_schedule(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2023, 12, 20), date(2023, 12, 22))

    assert isinstance(broker, SimBroker)
    broker_port: Broker = broker
    schedule: SessionSchedule = broker
    assert broker_port is schedule
    assert broker.account_id == f"SIM-{broker.replay_id}" and len(broker.replay_id) == 8


async def test_sessions_when_iterated_then_clock_at_pre_open_and_xkrx_hours(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2022, 12, 29), date(2023, 1, 3), symbols=(SAMSUNG,))
    seen = []

    async for session in broker.sessions():
        seen.append((session.trading_date, broker.clock.now().astimezone(KST).time(), session.ts_open))
        await broker.run_until_close(session)

    assert seen == [
        (date(2022, 12, 29), time(8, 30), kst_datetime(date(2022, 12, 29), time(9, 0))),
        (date(2023, 1, 2), time(9, 30), kst_datetime(date(2023, 1, 2), time(10, 0))),  # first day: 10:00 open
        (date(2023, 1, 3), time(8, 30), kst_datetime(date(2023, 1, 3), time(9, 0))),
    ]
    assert broker.finished
    assert session_for(date(1995, 5, 2)).ts_close == kst_datetime(date(1995, 5, 2), time(15, 30))  # fallback


async def test_run_until_close_when_orders_placed_from_handlers_then_fills_before_ticks_and_expiry_at_close(
    tmp_path: Path,
) -> None:
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22))
    seen = Recorder(broker)
    acks = []

    async def trader(tick: Tick) -> None:
        await seen.on_tick(tick)
        if tick.symbol == SAMSUNG and tick.ts_event == kst_datetime(date(2023, 12, 22), time(9, 0)):
            acks.append(await broker.place_order(_market(broker, Side.BUY, 10)))
            acks.append(await broker.place_order(_limit(broker, Side.BUY, 5, 34000, KODEX)))  # never reached

    await broker.subscribe_quotes([SAMSUNG, KODEX], trader)
    await broker.subscribe_order_events(seen.on_event)
    async for session in broker.sessions():
        await broker.run_until_close(session)

    ticks = [item for kind, item, _ in seen.calls if kind == "tick"]
    assert len(ticks) == 50
    assert all(now == item.ts_event for kind, item, now in seen.calls if kind == "tick")  # clock = print time
    fill_at = next(i for i, (kind, _, _) in enumerate(seen.calls) if kind == "event")
    fill = seen.calls[fill_at][1]
    assert isinstance(fill, FillReport)
    assert (fill.fill.symbol, fill.fill.quantity, fill.fill.price) == (SAMSUNG, Decimal(10), Decimal(75800))
    assert seen.calls[fill_at + 1][1].ts_event == fill.fill.ts_filled  # then the tick of the same print
    assert fill.fill.ts_filled == kst_datetime(date(2023, 12, 22), time(9, 11, 15))  # next Samsung print
    expiry = seen.events[-1]
    assert isinstance(expiry, CancelReport)
    assert (expiry.broker_order_number, expiry.canceled_quantity, expiry.reason) == (
        acks[1].broker_order_number,
        Decimal(5),
        "expired at the close",
    )
    orders = await broker.get_orders(broker.account_id, date(2023, 12, 22))
    assert [o.state for o in orders] == [BrokerOrderState.FILLED, BrokerOrderState.CANCELED]
    assert await broker.get_fills(broker.account_id, date(2023, 12, 22)) == [fill.fill]
    cash = await broker.get_cash(broker.account_id)
    assert cash.deposit_krw == cash.orderable_krw == Decimal(10_000_000 - 758_000 - 106)
    (position,) = await broker.get_positions(broker.account_id)
    assert (position.symbol, position.quantity) == (SAMSUNG, Decimal(10))


async def test_cancel_order_when_working_then_cancel_report_delivered_before_next_print(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22), symbols=(SAMSUNG,))
    seen = Recorder(broker)
    numbers = []

    async def trader(tick: Tick) -> None:
        await seen.on_tick(tick)
        if tick.ts_event == kst_datetime(date(2023, 12, 22), time(9, 0)):
            numbers.append((await broker.place_order(_limit(broker, Side.BUY, 5, 70000))).broker_order_number)
        elif tick.ts_event == kst_datetime(date(2023, 12, 22), time(9, 11, 15)):
            await broker.cancel_order(broker.account_id, numbers[0], "00950")

    await broker.subscribe_quotes([SAMSUNG], trader)
    await broker.subscribe_order_events(seen.on_event)
    async for session in broker.sessions():
        await broker.run_until_close(session)

    kinds = [(kind, getattr(item, "ts_event", None)) for kind, item, _ in seen.calls[1:4]]
    assert kinds[0] == ("tick", kst_datetime(date(2023, 12, 22), time(9, 11, 15)))
    assert kinds[1][0] == "event" and kinds[2][0] == "tick"
    (report,) = seen.events
    assert isinstance(report, CancelReport)
    assert (report.canceled_quantity, report.reason) == (Decimal(5), "canceled by request")
    with pytest.raises(OrderRejectedByBroker):
        await broker.cancel_order(broker.account_id, numbers[0], "00950")


async def test_get_daily_bars_when_replaying_then_never_a_bar_on_or_after_the_replay_day(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2023, 12, 21), date(2023, 12, 22), symbols=(SAMSUNG,))
    sessions = broker.sessions()

    first = await anext(sessions)
    bars = await broker.get_daily_bars(SAMSUNG, date(2030, 1, 1), 3)
    assert first.trading_date == date(2023, 12, 21)
    assert [b.trading_date for b in bars] == [date(2023, 12, 18), date(2023, 12, 19), date(2023, 12, 20)]
    assert [b.trading_date for b in await broker.get_daily_bars(SAMSUNG, date(2023, 12, 19), 1)] == [date(2023, 12, 19)]
    await broker.run_until_close(first)
    assert (await broker.get_daily_bars(SAMSUNG, date(2030, 1, 1), 1))[0].trading_date == date(2023, 12, 20)
    await anext(sessions)
    assert (await broker.get_daily_bars(SAMSUNG, date(2030, 1, 1), 1))[0].trading_date == date(2023, 12, 21)


async def test_get_price_when_before_first_print_then_previous_close_and_after_prints_then_last_print(
    tmp_path: Path,
) -> None:
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22), symbols=(SAMSUNG,))
    sessions = broker.sessions()
    session = await anext(sessions)

    before = await broker.get_price(SAMSUNG)
    await broker.run_until_close(session)
    after = await broker.get_price(SAMSUNG)

    assert (before.price, before.base_price, before.upper_limit, before.lower_limit) == (
        Decimal(75000),
        Decimal(75000),
        Decimal(97500),
        Decimal(52500),
    )
    assert (after.price, after.ts_event) == (Decimal(75900), session.ts_close)
    with pytest.raises(ConfigurationError):
        await broker.get_price("000660")


async def test_place_order_when_invalid_then_domain_errors(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22), symbols=(SAMSUNG,))

    with pytest.raises(OrderRejectedByBroker) as closed:
        await broker.place_order(_market(broker, Side.BUY, 1))  # before the first session's pre-open
    sessions = broker.sessions()
    await anext(sessions)
    with pytest.raises(OrderRejectedByBroker) as tick:
        await broker.place_order(_limit(broker, Side.BUY, 1, 75050))
    with pytest.raises(FatalBrokerError):
        await broker.place_order(OrderRequest("50123456-01", SAMSUNG, Side.BUY, OrderType.MARKET, Decimal(1), None))

    assert str(closed.value).startswith("장운영시간이 아닙니다.")
    assert str(tick.value).startswith("주식주문호가단위 오류입니다.")
    assert await broker.get_orders(broker.account_id, date(2023, 12, 22)) == []


async def test_run_until_close_when_real_minute_day_then_1441_prints_and_closing_auction(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2025, 6, 13), date(2025, 6, 13), symbols=(SAMSUNG,), speed=1e7)
    ticks: list[Tick] = []

    async def on_tick(tick: Tick) -> None:
        ticks.append(tick)

    await broker.subscribe_quotes([SAMSUNG], on_tick)
    async for session in broker.sessions():
        await broker.run_until_close(session)

    assert len(ticks) == 1441
    assert ticks[0].ts_event.astimezone(KST).time() == time(9, 0)
    assert (ticks[-1].price, ticks[-1].ts_event.astimezone(KST).time()) == (Decimal(58300), time(15, 30))


async def test_subscribe_quotes_when_symbol_not_replayed_then_configuration_error(tmp_path: Path) -> None:
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22), symbols=(SAMSUNG,))

    async def on_tick(tick: Tick) -> None:
        return None

    with pytest.raises(ConfigurationError):
        await broker.subscribe_quotes([KODEX], on_tick)


def test_sim_broker_when_period_has_no_data_or_bad_speed_then_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        _broker(tmp_path / "a", date(2023, 12, 23), date(2023, 12, 25))
    with pytest.raises(ConfigurationError):
        _broker(tmp_path / "b", date(2023, 12, 22), date(2023, 12, 22), speed=0)
    with pytest.raises(ConfigurationError):
        _broker(tmp_path / "c", date(2023, 12, 22), date(2023, 12, 22), symbols=("999999",))
    with pytest.raises(ConfigurationError):
        _broker(tmp_path / "d", date(2023, 12, 22), date(2023, 12, 22), participation_rate=Decimal(0))


async def test_run_until_close_when_speed_given_then_sleeps_market_time_over_speed(tmp_path: Path) -> None:
    # 08:30 pre-open → 15:30 close is 25,200 market seconds; at 100,800× that is 0.25 s of sleeping.
    broker = _broker(tmp_path, date(2023, 12, 22), date(2023, 12, 22), symbols=(SAMSUNG,), speed=100_800)
    loop = asyncio.get_running_loop()

    started = loop.time()
    async for session in broker.sessions():
        await broker.run_until_close(session)

    assert loop.time() - started >= 0.25 * 0.99
