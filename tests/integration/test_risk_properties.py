"""Property: over random streams of signals, quotes, clock moves, broker outcomes, fills and kill-switch changes,
an order reaches the broker exactly when the kill switch is clear and every risk rule allows it (and no live
order of the same intent exists); never while a rule denies it or the switch is set (spec 001 §11, PRD §15)."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import OrderProposal, RiskLimits
from stock_manager.domain.signals import Signal
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import OrderAck, OrderRequest
from stock_manager.service_layer.risk_gate import pre_trade_denial
from tests.fakes import Accept, Ambiguous, FakeBroker, RecordingNotifier, Reject, krx_venue
from tests.integration.test_risk_controls import KillBeforeSend

DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)
HOURS = krx_session(DAY, kst_datetime(DAY, time(9, 0)), kst_datetime(DAY, time(15, 30)))
SYMBOLS = ("005930", "000660", "035420")
LIMITS = RiskLimits(
    max_open_positions=2,
    max_quantity_per_symbol=Decimal(60),
    max_order_value_krw=Decimal(2_500_000),
    max_value_per_symbol_krw=Decimal(3_000_000),
    max_symbol_weight_pct=Decimal(25),
    price_collar_pct=Decimal(3),
    max_quote_age_secs=60,
    max_orders_per_minute=4,
    cooldown_after_failures=2,
    cooldown_secs=120,
    max_consecutive_broker_failures=3,
)


@dataclass(frozen=True)
class Submit:
    symbol: str
    sell: bool
    quantity: int
    offset_ticks: int  # limit = last price + offset × 100 KRW; None-like 99 = market (sells only)


@dataclass(frozen=True)
class Quote:
    symbol: str
    price_ticks: int  # price = 60,000 + ticks × 100 KRW
    age_secs: int


@dataclass(frozen=True)
class Advance:
    secs: int


@dataclass(frozen=True)
class SetSwitch:
    active: bool
    action: str


@dataclass(frozen=True)
class KillDuringNextSend:
    pass


@dataclass(frozen=True)
class NextOutcome:
    outcome: str  # accept | reject | ambiguous


@dataclass(frozen=True)
class FillOne:
    pass


submits = st.builds(
    Submit, st.sampled_from(SYMBOLS), st.booleans(), st.integers(1, 45), st.integers(-40, 40) | st.just(99)
)
steps = st.lists(
    st.one_of(
        submits,
        submits,
        submits,
        submits,  # most steps are signals
        st.builds(Quote, st.sampled_from(SYMBOLS), st.integers(-100, 100), st.integers(0, 90)),
        st.builds(Advance, st.integers(0, 200)),
        st.builds(SetSwitch, st.booleans(), st.sampled_from(["halt", "cancel_open", "flatten"])),
        st.just(KillDuringNextSend()),
        st.builds(NextOutcome, st.sampled_from(["accept", "reject", "ambiguous"])),
        st.just(FillOne()),
    ),
    min_size=1,
    max_size=25,
)


class CheckingBroker(FakeBroker):
    """Asserts, at the moment of every `place_order`, that the database's kill switch is clear."""

    async def place_order(self, request: OrderRequest) -> OrderAck:
        assert self.uow_factory is not None
        async with self.uow_factory() as uow:
            assert not (await uow.control.get_kill_switch()).active, "an order reached the broker under the switch"
        return await super().place_order(request)


async def run_stream(db_url: str, stream: list[Any]) -> tuple[int, int]:
    account = f"P-{uuid.uuid4().hex[:8]}"
    engine = create_engine(db_url)
    try:
        base = SqlUnitOfWorkFactory(engine, mode="sim")
        killer = KillBeforeSend(base)
        killer.enabled = False
        clock = FixedClock(T0)
        broker = CheckingBroker(clock, account, uow_factory=base)
        execution = Execution(
            config=ExecutionConfig(account, Mode.SIM, LIMITS),
            uow_factory=killer,
            broker=broker,
            clock=clock,
            notifier=RecordingNotifier(),
            venue=krx_venue(),
        )
        execution.load({"035420": Position(account, "035420", quantity=Decimal(30), avg_price=Decimal(60_000))}, [])
        execution.begin_session(DAY, Decimal(10_000_000), session=HOURS)
        await broker.subscribe_order_events(execution.on_broker_event)
        async with base() as uow:
            await uow.control.set_kill_switch(False, "", "test", T0)
            await uow.commit()
        for symbol in SYMBOLS:
            execution.note_quote(symbol, Decimal(60_000), T0, Decimal(42_000), Decimal(78_000))
        sent_total = denied_total = 0
        filled: set[str] = set()
        for n, step in enumerate(stream):
            match step:
                case Submit():
                    snapshot = execution.book.market.get(step.symbol)
                    last = snapshot.last_price if snapshot else Decimal(60_000)
                    market = step.offset_ticks == 99 and step.sell
                    limit = None if market else max(Decimal(42_000), last + 100 * min(step.offset_ticks, 40))
                    side, intent = (Side.SELL, Intent.EXIT) if step.sell else (Side.BUY, Intent.ENTRY)
                    signal = Signal(
                        strategy_id="prop",
                        symbol=step.symbol,
                        side=side,
                        intent=intent,
                        order_type=OrderType.MARKET if market else OrderType.LIMIT,
                        reference_price=last,
                        ts_signal=T0 + timedelta(minutes=n),
                        reason="property",
                        quantity=Decimal(step.quantity),
                        limit_price=limit,
                    )
                    proposal = OrderProposal(
                        step.symbol, side, intent, Decimal(step.quantity), limit or last, signal.order_type
                    )
                    async with base() as uow:
                        switch = await uow.control.get_kill_switch()
                    allowed = pre_trade_denial(proposal, execution.risk_state(), LIMITS, switch) is None
                    live_twin = any(
                        (o.strategy_id, o.symbol, o.intent) == ("prop", step.symbol, intent)
                        for o in execution.open_orders.values()
                    )
                    armed = killer.enabled
                    before = len(broker.place_calls)
                    await execution.submit(signal)
                    sent = len(broker.place_calls) - before
                    expected = allowed and not live_twin and not armed
                    assert sent == (1 if expected else 0), (step, allowed, live_twin, armed)
                    sent_total += sent
                    denied_total += 0 if allowed else 1
                    killer.enabled = False
                case Quote():
                    execution.note_quote(
                        step.symbol,
                        Decimal(60_000 + 100 * step.price_ticks),
                        clock.now() - timedelta(seconds=step.age_secs),
                    )
                case Advance():
                    clock.advance(timedelta(seconds=step.secs))
                case SetSwitch():
                    async with base() as uow:
                        await uow.control.set_kill_switch(step.active, "property", "test", clock.now(), step.action)
                        await uow.commit()
                case KillDuringNextSend():
                    killer.enabled = True
                case NextOutcome():
                    broker.script_place(
                        {"accept": Accept(), "reject": Reject("no"), "ambiguous": Ambiguous(placed=False)}[step.outcome]
                    )
                case FillOne():  # the broker fills the oldest working limit order we have not filled yet
                    working = [
                        o
                        for o in execution.open_orders.values()
                        if o.broker_order_number and o.limit_price and o.broker_order_number not in filled
                    ]
                    if working:
                        order = working[0]
                        assert order.broker_order_number is not None and order.limit_price is not None
                        filled.add(order.broker_order_number)
                        await broker.fill(
                            order.broker_order_number, int(order.remaining_quantity), int(order.limit_price)
                        )
        return sent_total, denied_total
    finally:
        await engine.dispose()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps)
def test_random_order_streams_when_a_rule_denies_or_switch_is_set_then_no_order_reaches_the_broker(db_url, stream):
    sent, denied = asyncio.run(run_stream(db_url, stream))
    event(f"orders sent: {'none' if not sent else 'some'}; denied: {'none' if not denied else 'some'}")
