"""Risk controls on the order path, on both databases: denials recorded in risk_events, the kill switch checked
right before the broker call, observe and stop order modes, cooldown, broker failures tripping the switch,
flatten, limits with history (spec 001 §2, §11; PRD §3.5, §15)."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.adapters.venues.krx.rules import KRX_DAY
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode, OrderMode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.signals import Signal
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.risk_config import change_limit, effective_limits
from stock_manager.service_layer.views.risk import risk_report
from tests.fakes import Ambiguous, FakeBroker, Fatal, RecordingNotifier, Reject, krx_venue

ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)  # 09:05:01 KST
HOURS = krx_session(DAY, kst_datetime(DAY, time(9, 0)), kst_datetime(DAY, time(15, 30)))
LIMITS = RiskLimits()  # the owner's defaults


def signal(
    symbol: str = "005930",
    side: Side = Side.BUY,
    intent: Intent = Intent.ENTRY,
    quantity: int = 10,
    limit: str | None = "72100",
    *,
    minute: int = 0,
) -> Signal:
    return Signal(
        strategy_id="ma_cross",
        symbol=symbol,
        side=side,
        intent=intent,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        reference_price=Decimal(limit or "72100"),
        ts_signal=T0 + timedelta(minutes=minute),
        reason="test",
        quantity=Decimal(quantity),
        limit_price=Decimal(limit) if limit else None,
    )


class KillBeforeSend:
    """A unit-of-work factory over the real database that sets the kill switch (as `stockbot kill` would,
    from another process) right after the order row is committed, or makes the pre-send read fail."""

    def __init__(self, inner: SqlUnitOfWorkFactory, *, fail: bool = False) -> None:
        self.inner, self.fail, self.armed = inner, fail, False
        self.enabled = True  # False: pass everything through unchanged

    def __call__(self) -> Any:
        uow = self.inner()
        factory = self

        class Wrapped:
            async def __aenter__(self) -> Any:
                entered = await uow.__aenter__()
                original_add = entered.orders.add
                original_get = entered.control.get_kill_switch

                async def add(order: Any) -> Any:
                    factory.armed = factory.enabled
                    return await original_add(order)

                async def get_kill_switch() -> Any:
                    if factory.armed:
                        factory.armed = False
                        if factory.fail:
                            raise OSError("connection to the database lost")
                        await entered.control.set_kill_switch(True, "operator: stop", "cli", T0)
                        await entered.commit()
                    return await original_get()

                entered.orders.add = add
                entered.control.get_kill_switch = get_kill_switch
                return entered

            async def __aexit__(self, *exc: object) -> None:
                await uow.__aexit__(*exc)

        return Wrapped()


def make_execution(
    uow_factory: Any,
    broker: FakeBroker,
    clock: FixedClock,
    *,
    limits: RiskLimits = LIMITS,
    order_mode: str = "send",
    positions: dict[str, Position] | None = None,
) -> Execution:
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, limits, OrderMode(order_mode)),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        venue=krx_venue(),
    )
    execution.load(positions or {}, [])
    execution.begin_session(DAY, Decimal(10_000_000), session=HOURS)
    for symbol in ("005930", "000660"):
        execution.note_quote(symbol, Decimal(72_100), T0, Decimal(50_500), Decimal(93_700))
    return execution


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def broker(clock: FixedClock, uow_factory: SqlUnitOfWorkFactory) -> FakeBroker:
    return FakeBroker(clock, ACCOUNT, uow_factory=uow_factory)


async def risk_rows(uow_factory: SqlUnitOfWorkFactory) -> list[tuple[str, str, str | None]]:
    async with uow_factory() as uow:
        return [(e.rule, e.decision, e.symbol) for e in await uow.risk.list_events(ACCOUNT)]


async def orders(uow_factory: SqlUnitOfWorkFactory) -> list[Any]:
    async with uow_factory() as uow:
        return await uow.orders.list_for_date(ACCOUNT, DAY)


# -- DENIALS -------------------------------------------------------------------------------------------------


async def test_submit_when_limit_outside_price_collar_then_denied_recorded_with_inputs_and_nothing_sent(
    uow_factory, broker, clock
):
    execution = make_execution(uow_factory, broker, clock)

    result = await execution.submit(signal(limit="76000"))  # 5.4 % above the last price 72,100

    assert result is None and broker.place_calls == [] and await orders(uow_factory) == []
    async with uow_factory() as uow:
        [row] = await uow.risk.list_events(ACCOUNT)
    assert (row.rule, row.decision, row.symbol) == ("price_collar", "DENY", "005930")
    assert row.snapshot["proposal"]["price_krw"] == "76000"
    assert row.snapshot["risk_state"]["market"]["last_price"] == "72100"
    assert row.snapshot["risk_state"]["phase"] == "CONTINUOUS"


async def test_submit_when_after_the_close_then_denied_by_session_phase(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock)
    clock.set(kst_datetime(DAY, time(15, 30)))
    execution.note_quote("005930", Decimal(72_100), clock.now())

    assert await execution.submit(signal()) is None

    assert broker.place_calls == [] and await risk_rows(uow_factory) == [("session_phase", "DENY", "005930")]


async def test_submit_when_last_tick_older_than_a_minute_then_denied_as_stale(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock)
    clock.advance(timedelta(seconds=61))

    assert await execution.submit(signal()) is None

    assert broker.place_calls == [] and await risk_rows(uow_factory) == [("stale_market_data", "DENY", "005930")]


async def test_submit_when_symbol_failed_three_times_then_cooldown_for_five_minutes(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock)
    broker.script_place(Reject("rejected"), Reject("rejected"), Reject("rejected"))
    for minute in range(3):
        await execution.submit(signal(minute=minute))
    assert len(broker.place_calls) == 3

    denied = await execution.submit(signal(minute=10))
    clock.advance(timedelta(seconds=300))
    execution.note_quote("005930", Decimal(72_100), clock.now())
    allowed = await execution.submit(signal(minute=11))

    assert denied is None and allowed is not None and allowed.status is OrderStatus.SENT
    assert len(broker.place_calls) == 4
    assert ("cooldown", "DENY", "005930") in await risk_rows(uow_factory)


async def test_submit_when_orders_per_minute_reached_then_throttled_until_window_passes(uow_factory, broker, clock):
    limits = replace(LIMITS, max_orders_per_minute=2, max_open_positions=None)
    execution = make_execution(uow_factory, broker, clock, limits=limits)
    sent = [await execution.submit(signal(symbol, quantity=1)) for symbol in ("005930", "000660")]
    execution.note_quote("035420", Decimal(72_100), T0)

    throttled = await execution.submit(signal("035420", quantity=1))
    clock.advance(timedelta(seconds=60))
    execution.note_quote("035420", Decimal(72_100), clock.now())
    later = await execution.submit(signal("035420", quantity=1, minute=1))

    assert all(sent) and throttled is None and later is not None
    assert ("order_rate", "DENY", "035420") in await risk_rows(uow_factory)


# -- THE KILL SWITCH ON THE ORDER PATH ---------------------------------------------------------------------------


async def test_submit_when_kill_switch_set_between_risk_check_and_send_then_order_not_sent(uow_factory, broker, clock):
    execution = make_execution(KillBeforeSend(uow_factory), broker, clock)

    result = await execution.submit(signal())

    assert broker.place_calls == []
    assert result is not None and result.status is OrderStatus.CANCELED
    assert "not sent: kill switch" in result.status_reason
    assert ("kill_switch", "DENY", "005930") in await risk_rows(uow_factory)
    assert execution.kill_reason == "operator: stop"
    assert await execution.submit(signal("000660")) is None and broker.place_calls == []


async def test_submit_when_kill_switch_cannot_be_read_before_send_then_no_order(uow_factory, broker, clock):
    execution = make_execution(KillBeforeSend(uow_factory, fail=True), broker, clock)

    result = await execution.submit(signal())

    assert broker.place_calls == []
    assert result is not None and result.status is OrderStatus.CANCELED
    assert "could not be read" in result.status_reason


async def test_submit_when_kill_switch_set_then_denied_before_an_order_exists(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock)
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "stop", "cli", T0)
        await uow.commit()

    assert await execution.submit(signal()) is None

    assert broker.place_calls == [] and await orders(uow_factory) == []
    assert await risk_rows(uow_factory) == [("kill_switch", "DENY", "005930")]


# -- ORDER MODES ----------------------------------------------------------------------------------------------


async def test_submit_when_observe_mode_then_would_be_order_recorded_and_broker_never_called(
    uow_factory, broker, clock
):
    execution = make_execution(uow_factory, broker, clock, order_mode="observe")

    first = await execution.submit(signal())
    again = await execution.submit(signal())  # the same decision is recorded once
    denied = await execution.submit(signal("000660", limit="90000"))  # risk still decides

    assert first is None and again is None and denied is None
    assert broker.place_calls == [] and await orders(uow_factory) == []
    async with uow_factory() as uow:
        observed = await uow.observed_orders.list_for_date(ACCOUNT, DAY)
        events = await uow.events.list_kind("order_observed", ACCOUNT)
    assert [(o.symbol, o.side, o.quantity, o.limit_price) for o in observed] == [
        ("005930", "BUY", Decimal(10), Decimal(72_100))
    ]
    assert len(events) == 1
    assert ("price_collar", "DENY", "000660") in await risk_rows(uow_factory)


async def test_submit_when_stop_order_mode_then_nothing_sent_and_denial_recorded(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock, order_mode="stop")

    assert await execution.submit(signal(side=Side.SELL, intent=Intent.EXIT)) is None

    assert broker.place_calls == [] and await risk_rows(uow_factory) == [("stop_mode", "DENY", "005930")]


# -- AUTOMATIC TRIPS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [Ambiguous(placed=False), Fatal()])
async def test_sends_when_broker_fails_three_times_in_a_row_then_kill_switch_set_by_daemon(
    uow_factory, broker, clock, failure
):
    execution = make_execution(uow_factory, broker, clock, limits=replace(LIMITS, cooldown_after_failures=None))
    broker.script_place(failure, failure, failure)
    for n, symbol in enumerate(("005930", "000660", "035420")):
        # A fatal error stops the session; the count goes on across sessions until one order is accepted.
        execution.begin_session(DAY, Decimal(10_000_000), session=HOURS)
        execution.note_quote(symbol, Decimal(72_100), T0)
        await execution.submit(signal(symbol, quantity=1, minute=n))

    async with uow_factory() as uow:
        switch = await uow.control.get_kill_switch()
        events = await uow.events.list_kind("kill_switch_set", ACCOUNT)
    assert switch.active and switch.set_by == "daemon" and switch.action == "cancel_open"
    assert "3 consecutive broker failures" in switch.reason
    assert len(events) == 1 and execution.kill_switch.tripped
    assert ("broker_failures", "KILL", None) in await risk_rows(uow_factory)
    before = len(broker.place_calls)
    execution.begin_session(DAY, Decimal(10_000_000), session=HOURS)  # latched: stopped in a new session too
    execution.note_quote("005380", Decimal(72_100), T0)
    assert await execution.submit(signal("005380", quantity=1, minute=9)) is None
    assert len(broker.place_calls) == before


async def test_sends_when_failures_interrupted_by_an_accepted_order_then_no_trip(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock, limits=replace(LIMITS, cooldown_after_failures=None))
    broker.script_place(
        Ambiguous(placed=False),
        Ambiguous(placed=False),
        Reject("no cash"),
        Ambiguous(placed=False),
        Ambiguous(placed=False),
    )
    for n in range(5):
        await execution.submit(signal(quantity=1, minute=n))

    async with uow_factory() as uow:
        assert not (await uow.control.get_kill_switch()).active


async def test_fill_when_daily_loss_limit_reached_then_stop_mode_recorded_once_as_risk_decision(
    uow_factory, broker, clock
):
    execution = make_execution(
        uow_factory,
        broker,
        clock,
        positions={"000660": Position(ACCOUNT, "000660", quantity=Decimal(100), avg_price=Decimal(100_000))},
    )
    await broker.subscribe_order_events(execution.on_broker_event)
    execution.note_quote("000660", Decimal(97_900), T0, Decimal(70_000), Decimal(130_000))
    exit_order = await execution.submit(signal("000660", Side.SELL, Intent.EXIT, 100, "97900"))
    assert exit_order is not None and exit_order.broker_order_number is not None

    await broker.fill(exit_order.broker_order_number, 100, 97_900)  # -210,000 KRW and costs: beyond -2 %

    assert execution.loss_limit_hit and execution.stopped_reason is not None
    assert await risk_rows(uow_factory) == [("daily_loss_limit", "STOP", None)]


# -- FLATTEN --------------------------------------------------------------------------------------------------


async def test_flatten_when_kill_switch_asks_for_it_then_market_sells_of_every_position_pass_the_switch(
    uow_factory, broker, clock
):
    execution = make_execution(
        uow_factory,
        broker,
        clock,
        positions={
            "005930": Position(ACCOUNT, "005930", quantity=Decimal(31), avg_price=Decimal(64_300)),
            "000660": Position(ACCOUNT, "000660", quantity=Decimal(5), avg_price=Decimal(150_000)),
        },
    )
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "flatten now", "cli", T0, "flatten")
        await uow.commit()
    execution.request_kill("flatten now")

    sent = await execution.flatten("flatten now")

    assert sorted(
        (c.request.symbol, c.request.side, c.request.order_type, c.request.quantity) for c in broker.place_calls
    ) == [("000660", Side.SELL, OrderType.MARKET, Decimal(5)), ("005930", Side.SELL, OrderType.MARKET, Decimal(31))]
    assert all(o.strategy_id == "kill_switch" for o in sent)


async def test_flatten_when_switch_only_halts_or_market_closed_then_nothing_sold(uow_factory, broker, clock):
    execution = make_execution(
        uow_factory,
        broker,
        clock,
        positions={"005930": Position(ACCOUNT, "005930", quantity=Decimal(31), avg_price=Decimal(64_300))},
    )
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "halt", "cli", T0, "halt")
        await uow.commit()

    await execution.flatten("halt")
    clock.set(kst_datetime(DAY, time(16, 0)))
    skipped = await execution.flatten("after hours")

    assert broker.place_calls == [] and skipped == []
    async with uow_factory() as uow:
        assert len(await uow.events.list_kind("flatten_skipped", ACCOUNT)) == 1


# -- LIMITS WITH HISTORY ---------------------------------------------------------------------------------------


async def test_change_limit_when_set_twice_then_newest_wins_and_history_kept(uow_factory):
    ts = T0
    async with uow_factory() as uow:
        await change_limit(uow, LIMITS, "max_symbol_weight_pct", "25", changed_by="cli", reason="a", ts=ts)
        await change_limit(uow, LIMITS, "max_symbol_weight_pct", "15", changed_by="cli", reason="b", ts=ts)
        await change_limit(uow, LIMITS, "price_collar_pct", "off", changed_by="cli", reason="c", ts=ts)
        await uow.commit()
    async with uow_factory() as uow:
        limits = await effective_limits(uow, LIMITS)
        history = await uow.risk.limit_changes()
    assert limits.max_symbol_weight_pct == Decimal(15) and limits.price_collar_pct is None
    assert limits.max_open_positions == LIMITS.max_open_positions
    assert [(c.name, c.old_value, c.new_value) for c in history] == [
        ("max_symbol_weight_pct", "20", "25"),
        ("max_symbol_weight_pct", "25", "15"),
        ("price_collar_pct", "5", None),
    ]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("max_weight", "20", "unknown risk limit"),
        ("max_symbol_weight_pct", "-1", "positive number ≤ 100"),
        ("max_symbol_weight_pct", "150", "positive number ≤ 100"),
        ("max_open_positions", "0", "positive number"),
        ("max_open_positions", "", "`off` is the only way to switch a rule off"),
        ("max_open_positions", "  ", "`off` is the only way to switch a rule off"),
        ("max_orders_per_minute", "2.5", "whole number"),
        ("cooldown_secs", "off", "cannot be off"),
        ("daily_loss_includes_unrealized", "maybe", "true or false"),
    ],
)
async def test_change_limit_when_invalid_then_refused_naming_the_limit_and_nothing_stored(
    uow_factory, name, value, problem
):
    async with uow_factory() as uow:
        with pytest.raises(ConfigurationError, match=problem):
            await change_limit(uow, LIMITS, name, value, changed_by="cli", reason="", ts=T0)
        assert await uow.risk.limit_changes() == []


async def test_risk_report_when_daemon_traded_today_then_limits_sources_and_usage(uow_factory, broker, clock):
    execution = make_execution(uow_factory, broker, clock)
    await execution.submit(signal())
    await execution.submit(signal("000660", limit="90000"))
    async with uow_factory() as uow:
        await change_limit(uow, LIMITS, "max_open_positions", "3", changed_by="cli", reason="", ts=T0)
        from stock_manager.service_layer.ports.storage import DaemonState

        await uow.control.put_daemon_state(DaemonState(ACCOUNT, "sim", "TRADING", "", DAY, None, 1, T0, T0))
        await uow.commit()

    report = await risk_report(uow_factory, LIMITS, T0, KRX_DAY)

    lines = {line.name: line for line in report.limits}
    assert lines["max_open_positions"].value == "3" and lines["max_open_positions"].source.startswith("database")
    assert lines["max_open_positions"].usage == "1 engaged"
    assert lines["max_quantity_per_symbol"].usage == "largest 005930: 10 shares"
    assert report.denials_today == {"price_collar": 1}
    assert not report.kill_switch.active
