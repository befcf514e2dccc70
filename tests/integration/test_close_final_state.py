"""The close of a session whose orders expire at it: cancels are sent a lead before the session's end while the
venue still takes them; when the last cancels are refused anyway (the venue has closed: "모의투자 장종료 입니다")
and a closing-auction fill arrives after the close, it is recorded as usual and the order ends the day in the
venue's final state, taken from its totals the same evening (not at the next morning's recovery)."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.sessions import TradingSession
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.closing import CLOSING_REASON, run_until_close
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner
from tests.fakes import FakeBroker, RecordingNotifier, Reject, krx_venue
from tests.integration.test_day_open_after_restart import NoParams, Watcher
from tests.integration.test_execution import ACCOUNT, HOURS, T0, make_execution, make_signal, order_in_db, submitted

CLOSED = Reject("모의투자 장종료 입니다", code="40580000")


def runner_for(execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, sleep):  # type: ignore[no-untyped-def]
    spec = StrategySpec(
        strategy_id="watcher",
        name="watcher",
        source="test",
        params_from=lambda raw: NoParams(),
        problems=lambda raw: [],
        default_params=NoParams,
        build=lambda params: Watcher(),
    )
    return SessionRunner(
        execution=execution,
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        mode=Mode.PAPER,
        venue=krx_venue(),
        strategies=StrategyBook((spec,)),
        final_state_checks=5,
        final_state_interval_secs=30.0,
        sleep=sleep,
    )


async def test_close_when_the_last_cancel_is_refused_and_a_fill_comes_after_it_then_the_day_ends_in_the_venues_state(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: 4 of 10 shares executed; at the close the cancel is refused (the venue has closed), the venue
    # still shows the order working; a closing-auction execution of 3 shares is noticed after the close, and
    # only then does the venue expire the remainder (its totals: 7 executed, cancelled).
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT, aggregate_fills=True)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await broker.subscribe_order_events(execution.on_broker_event)
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    number = order.broker_order_number
    assert number is not None
    await broker.fill(number, 4, 72000)
    broker.script_cancel(CLOSED)
    looks: list[float] = []

    async def evening(secs: float) -> None:
        looks.append(secs)
        clock.advance(timedelta(seconds=secs))
        if len(looks) == 1:
            await broker.fill(number, 3, 72100)  # the closing auction's execution, noticed after the close
        elif len(looks) == 2:
            broker._cancel_in_book(number)  # the venue expires the remainder (no notice)

    runner = runner_for(execution, broker, uow_factory, clock, evening)
    runner.last_prices["005930"] = Decimal(72_100)
    clock.set(HOURS.ts_close + timedelta(seconds=1))

    # Act
    settlement = await runner.close(HOURS)

    # Assert: the order's final state and executions are the venue's, the same evening, and the day's
    # settlement counts them.
    stored = await order_in_db(uow_factory, order)
    assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELED, Decimal(7))
    assert broker.orders[number].filled_quantity == Decimal(7)
    assert len(looks) == 2 and not execution.open_orders
    assert settlement.fills_count == 2
    assert execution.positions["005930"].quantity == Decimal(7)
    async with uow_factory() as uow:
        kinds = [e.kind for e in await uow.events.list_kind("cancel_rejected", ACCOUNT)]
    assert kinds == ["cancel_rejected"]


@dataclass
class ClosingMarket:
    """A schedule whose session closes when the test says so."""

    closed: asyncio.Event

    async def run_until_close(self, session: TradingSession) -> None:
        await self.closed.wait()


async def test_session_when_the_close_lead_comes_then_working_orders_are_cancelled_before_the_close(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: one working order; the lead before the close arrives while the session is still open.
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    execution = make_execution(uow_factory, broker, clock, RecordingNotifier())
    await broker.subscribe_order_events(execution.on_broker_event)
    order = await submitted(execution, uow_factory, make_signal(quantity=10, limit_price="72100"))
    market = ClosingMarket(asyncio.Event())
    lead_reached = asyncio.Event()
    cancels_before_close: list[int] = []

    async def before_close(session: TradingSession) -> None:
        await lead_reached.wait()

    async def play() -> None:
        lead_reached.set()
        for _ in range(50):
            await asyncio.sleep(0)
        cancels_before_close.append(len(broker.cancel_calls))
        market.closed.set()

    # Act
    await asyncio.gather(run_until_close(market, HOURS, execution, before_close), play())

    # Assert: the cancel went out before the session closed, with the closing reason.
    assert cancels_before_close == [1]
    assert broker.cancel_calls[0].broker_order_number == order.broker_order_number
    stored = await order_in_db(uow_factory, order)
    assert stored.status in (OrderStatus.CANCELED, OrderStatus.SENT)
    assert CLOSING_REASON.startswith("session closing")
