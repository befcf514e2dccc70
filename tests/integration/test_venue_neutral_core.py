"""The core trades any venue's instruments: an order of a coin-like instrument (quantities to 8 decimals, a
price grid unlike any stock exchange's, a minimum order value, no price band, a fractional fee, a venue day
boundary at 00:00 UTC) goes through risk, execution, storage and a fill exactly; and nothing is announced of a
write that was rolled back."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.fill_identity import TradeIdFillIdentity
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import DayBoundary, FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument, InstrumentBook, TickTable
from stock_manager.domain.model import Intent, OrderType, Side, TimeInForce
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.sessions import continuous_session
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import CashBalance, FillReport, Quote
from stock_manager.service_layer.ports.venue import VenueProfile
from tests.fakes import FakeBroker, RecordingNotifier

ACCOUNT = "coin-account-1"
DAY = date(2024, 6, 3)
T0 = datetime(2024, 6, 3, 3, 0, tzinfo=UTC)
COIN = "KRW-XYZ"
#: A grid no stock exchange uses: 0.5 KRW below 1,000, 25 KRW from 1,000, 1,000 KRW from 1,000,000.
GRID = TickTable(((Decimal(1_000), Decimal("0.5")), (Decimal(1_000_000), Decimal(25))), Decimal(1_000))
XYZ = Instrument(
    symbol=COIN,
    venue="coinvenue",
    ticks=GRID,
    size_increment=Decimal("0.00000001"),
    min_notional=Decimal(5_000),
    band_rate=None,
    kind="CRYPTO",
    market="KRW",
)
LIMITS = RiskLimits(
    max_open_positions=5,
    max_quantity_per_symbol=None,
    daily_loss_limit_pct=Decimal(2),
    max_value_per_symbol_krw=None,
    max_symbol_weight_pct=None,
    max_order_value_krw=None,
    price_collar_pct=Decimal(5),
    max_quote_age_secs=60,
    max_orders_per_minute=None,
    cooldown_after_failures=None,
)


def coin_venue() -> VenueProfile:
    return VenueProfile(
        name="coinvenue",
        instruments=InstrumentBook.of([XYZ]),
        trading_day=DayBoundary(timedelta(0)),
        bar_close_offset=timedelta(hours=24),
        fill_identity=TradeIdFillIdentity(),
        client_order_ids=True,
        order_numbers_restart_daily=False,
        default_time_in_force=TimeInForce.GTC,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def broker(clock: FixedClock) -> FakeBroker:
    fake = FakeBroker(clock, ACCOUNT)
    fake.cash = CashBalance(ACCOUNT, Decimal(10_000_000), Decimal(10_000_000))
    fake.quotes[COIN] = Quote(COIN, Decimal(88_712_000), Decimal(88_700_000), None, None, T0)
    return fake


@pytest.fixture
async def execution(uow_factory: SqlUnitOfWorkFactory, broker: FakeBroker, clock: FixedClock) -> Execution:
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, LIMITS),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        venue=coin_venue(),
    )
    start = datetime(2024, 6, 3, tzinfo=UTC)
    execution.begin_session(DAY, Decimal(10_000_000), session=continuous_session(DAY, start, start + timedelta(1)))
    execution.note_quote(COIN, Decimal(88_712_000), T0)
    await broker.subscribe_order_events(execution.on_broker_event)
    return execution


def coin_signal(budget_krw: str, limit: str) -> Signal:
    return Signal(
        strategy_id="breakout",
        symbol=COIN,
        side=Side.BUY,
        intent=Intent.ENTRY,
        order_type=OrderType.LIMIT,
        reference_price=Decimal(limit),
        ts_signal=T0,
        reason="breakout",
        target_value_krw=Decimal(budget_krw),
        limit_price=Decimal(limit),
    )


async def test_order_when_instrument_has_8_decimal_sizes_and_its_own_grid_then_exact_through_fill_and_storage(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: a budget of 1,234,567 KRW at a limit off the venue's grid (it is rounded down to 88,712,000).
    signal = coin_signal("1234567", "88712345.67")

    # Act
    order = await execution.submit(signal)
    assert order is not None and order.broker_order_number is not None
    fill = await broker.fill(
        order.broker_order_number,
        Decimal("0.00695601"),
        Decimal(88_712_000),
        fill_id="trade-uuid-1",
        commission_krw=Decimal("308.54077956"),
    )

    # Assert: the limit is on the instrument's grid, the quantity floored to 1e-8, the client id sent.
    [call] = broker.place_calls
    assert call.request.limit_price == Decimal(88_712_000)
    assert call.request.quantity == Decimal("0.01391657")  # floor(1,234,567 / 88,712,000 × 1e8) / 1e8
    assert call.request.client_order_id == order.client_order_id and len(order.client_order_id or "") == 29
    assert call.request.time_in_force is TimeInForce.GTC
    async with uow_factory() as uow:
        stored = await uow.orders.get(order.id)
        [recorded] = await uow.fills.list_for_date(ACCOUNT, DAY)
        [position] = await uow.positions.list_all(ACCOUNT)
    assert stored is not None and stored.status is OrderStatus.PARTIAL
    assert stored.client_order_id == order.client_order_id
    assert (stored.quantity, stored.filled_quantity) == (Decimal("0.01391657"), Decimal("0.00695601"))
    assert recorded.fill.broker_fill_id == "trade-uuid-1"  # the venue's trade id, not a cumulative identity
    assert (recorded.fill.quantity, recorded.fill.commission_krw) == (fill.quantity, Decimal("308.54077956"))
    assert stored.filled_amount_krw == Decimal("617081.55912")  # 0.00695601 × 88,712,000, exact
    assert (position.quantity, position.avg_price) == (Decimal("0.00695601"), Decimal(88_712_000))
    assert recorded.fill.trading_date == DAY


async def test_order_when_below_the_venues_minimum_value_or_size_then_denied_before_it_exists(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    await execution.submit(coin_signal("4999", "88712000"))  # under the 5,000 KRW minimum

    assert broker.place_calls == []
    async with uow_factory() as uow:
        [denial] = await uow.risk.list_events(ACCOUNT)
        assert await uow.orders.list_for_date(ACCOUNT, DAY) == []
    assert denial.rule == "sizing" and "minimum" in denial.message


async def test_event_when_its_transaction_rolls_back_then_never_announced(uow_factory: SqlUnitOfWorkFactory):
    notifier = RecordingNotifier()

    async with uow_factory() as uow:
        await record_event(uow, notifier, ts=T0, kind="order_created", severity="INFO", message="rolled back")
        # no commit: leaving the block rolls the order and its event back
    async with uow_factory() as uow:
        await record_event(uow, notifier, ts=T0, kind="order_created", severity="INFO", message="committed")
        await uow.rollback()
        await record_event(uow, notifier, ts=T0, kind="fill", severity="INFO", message="kept")
        await uow.commit()

    assert [e.message for e in notifier.events] == ["kept"]
    async with uow_factory() as uow:
        assert [e.message for e in await uow.events.recent(10)] == ["kept"]


async def test_order_when_the_write_fails_after_its_event_then_the_order_is_not_announced(
    execution: Execution, broker: FakeBroker, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: the order row is written, then its transaction fails before the commit.
    notifier = execution.ports.notifier
    assert isinstance(notifier, RecordingNotifier)
    real = uow_factory

    class FailingCommit:
        def __init__(self) -> None:
            self.inner = real()

        async def __aenter__(self):
            entered = await self.inner.__aenter__()

            async def commit() -> None:
                raise RuntimeError("the database went away at the commit")

            entered.commit = commit
            return entered

        async def __aexit__(self, *exc: object) -> None:
            await self.inner.__aexit__(*exc)

    execution.ports = type(execution.ports)(
        **{**{f: getattr(execution.ports, f) for f in execution.ports.__dataclass_fields__}, "uow": FailingCommit}
    )
    execution.placement._ports = execution.ports
    execution.safety._ports = execution.ports

    # Act
    with pytest.raises(RuntimeError, match="went away"):
        await execution.submit(coin_signal("1234567", "88712000"))

    # Assert: no order was announced (and none exists), nothing was sent.
    assert [e for e in notifier.events if e.kind == "order_created"] == []
    assert broker.place_calls == []
    async with uow_factory() as uow:
        assert await uow.orders.list_for_date(ACCOUNT, DAY) == []


def test_fill_when_made_then_carries_its_trading_date():
    fill = Fill("t", "o", COIN, Side.BUY, Decimal("0.1"), Decimal(1), Decimal(0), Decimal(0), T0, DAY)
    assert fill.trading_date == DAY and FillReport(ACCOUNT, fill).fill.notional_krw == Decimal("0.1")
