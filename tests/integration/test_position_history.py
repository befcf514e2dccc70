"""Positions at a restart come from the last close's checkpoint plus the fills recorded after it, and are
exactly the positions folded from every fill (on a real database, both backends)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.adapters.venues.krx.phases import krx_session
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.positions import Position, positions_from_fills
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.storage import DailySettlement, PositionCheckpoint, StoredFill
from stock_manager.service_layer.position_history import PositionHistory, load_position_history
from stock_manager.service_layer.recovery import RecoveryInputs, gather_plan
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner
from tests.fakes import FakeBroker, RecordingNotifier, krx_venue

ACCOUNT = "50123456-01"
D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)
LIMITS = RiskLimits(
    max_open_positions=5,
    max_quantity_per_symbol=Decimal(1_000),
    daily_loss_limit_pct=Decimal(2),
    max_value_per_symbol_krw=None,
    max_symbol_weight_pct=None,
    max_order_value_krw=None,
    price_collar_pct=None,
    max_quote_age_secs=None,
    max_orders_per_minute=None,
    cooldown_after_failures=None,
)


def fill(
    fill_id: str,
    day: date,
    at: time,
    symbol: str,
    side: Side,
    quantity: int,
    price: str,
    commission: str = "10",
    tax: str = "0",
) -> Fill:
    return Fill(
        broker_fill_id=fill_id,
        broker_order_number=fill_id.split("@")[0],
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        commission_krw=Decimal(commission),
        tax_krw=Decimal(tax),
        ts_filled=kst_datetime(day, at),
        trading_date=day,
    )


#: Two days of trading: buys at different prices, a partial sell (realized PnL), a symbol bought, sold flat
#: and bought again, two executions in the same second (ordered by fill id), costs and sell tax.
BEFORE_CLOSE = [
    fill("A:1@10", D1, time(9, 1), "005930", Side.BUY, 10, "72100"),
    fill("A:2@5", D1, time(9, 30), "000660", Side.BUY, 5, "130500"),
    fill("A:1@30", D1, time(10, 0), "005930", Side.BUY, 20, "71800"),
    fill("A:3@5", D1, time(14, 0), "000660", Side.SELL, 5, "131000", tax="120"),
    fill("B:1@12", D2, time(9, 5), "005930", Side.SELL, 12, "72500", tax="156"),
    fill("B:2@3", D2, time(9, 5), "000660", Side.BUY, 3, "129900"),
    fill("B:3@4", D2, time(9, 5), "000660", Side.BUY, 4, "129800"),
    fill("B:4@7", D2, time(15, 10), "069500", Side.BUY, 7, "35105"),
]
#: Today, after the close of D2 wrote its checkpoint.
TODAY = [
    fill("C:1@4", D3, time(9, 0, 1), "005930", Side.SELL, 4, "73000", tax="52"),
    fill("C:2@2", D3, time(9, 20), "035420", Side.BUY, 2, "188000"),
    fill("C:3@7", D3, time(11, 0), "069500", Side.SELL, 7, "35300", tax="49"),
]


async def record(uow_factory: SqlUnitOfWorkFactory, fills: list[Fill]) -> None:
    async with uow_factory() as uow:
        for f in fills:
            assert await uow.fills.add(StoredFill(f, ACCOUNT, None, "notice"), f.ts_filled + timedelta(seconds=1))
        await uow.commit()


async def close_session(uow_factory: SqlUnitOfWorkFactory, day: date) -> PositionCheckpoint:
    """Write the checkpoint as a session's close does: every fill recorded so far, folded."""
    async with uow_factory() as uow:
        history = await load_position_history(uow, ACCOUNT, day)
        checkpoint = history.checkpoint(day, kst_datetime(day, time(15, 40)))
        assert checkpoint is not None
        await uow.positions.put_checkpoint(checkpoint)
        await uow.commit()
    return checkpoint


async def load(uow_factory: SqlUnitOfWorkFactory, today: date | None) -> PositionHistory:
    async with uow_factory() as uow:
        return await load_position_history(uow, ACCOUNT, today)


# -- SPECIFICATIONS -------------------------------------------------------------------------------------


async def test_load_when_last_close_wrote_a_checkpoint_then_reads_only_later_fills_and_equals_folding_every_fill(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange
    await record(uow_factory, BEFORE_CLOSE)
    await close_session(uow_factory, D2)
    await record(uow_factory, TODAY)
    everything = [*BEFORE_CLOSE, *TODAY]
    # Act
    history = await load(uow_factory, D3)
    # Assert
    assert history.from_checkpoint
    assert sorted(f.broker_fill_id for f in history.later) == sorted(f.broker_fill_id for f in TODAY)
    assert history.positions() == positions_from_fills(ACCOUNT, everything)
    assert history.positions(before=D3) == positions_from_fills(ACCOUNT, BEFORE_CLOSE)
    assert history.positions()["000660"].realized_pnl_krw == Decimal(2500)  # the D1 round trip, kept
    assert history.positions()["069500"].is_flat


async def test_load_when_a_fill_executed_before_the_checkpoint_is_recorded_after_it_then_folds_every_fill(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: recovery finds, on D3, a buy of D1 the daemon missed; folded after the D2 sell it would give
    # another average price and realized PnL than in execution order.
    await record(uow_factory, BEFORE_CLOSE)
    checkpoint = await close_session(uow_factory, D2)
    late = fill("A:9@50", D1, time(13, 0), "005930", Side.BUY, 50, "70000")
    await record(uow_factory, [late, *TODAY])
    everything = [*BEFORE_CLOSE, late, *TODAY]
    # Act
    history = await load(uow_factory, D3)
    # Assert
    assert not history.from_checkpoint
    assert history.positions() == positions_from_fills(ACCOUNT, everything)
    assert history.positions(before=D3) == positions_from_fills(ACCOUNT, [*BEFORE_CLOSE, late])
    folded_onto_checkpoint = positions_from_fills(ACCOUNT, [late, *TODAY], start=checkpoint.positions)
    assert folded_onto_checkpoint["005930"] != history.positions()["005930"]  # why it must not be used


@pytest.mark.parametrize("today", [D2, None], ids=["checkpoint-holds-today", "no-session-date"])
async def test_load_when_checkpoint_cannot_tell_before_today_apart_then_folds_every_fill(
    uow_factory: SqlUnitOfWorkFactory, today: date | None
):
    await record(uow_factory, BEFORE_CLOSE)
    await close_session(uow_factory, D2)

    history = await load(uow_factory, today)

    assert not history.from_checkpoint
    assert len(history.later) == len(BEFORE_CLOSE)
    assert history.positions() == positions_from_fills(ACCOUNT, BEFORE_CLOSE)


async def test_checkpoint_when_written_at_each_close_then_replaces_the_last_and_reads_back_exactly(
    uow_factory: SqlUnitOfWorkFactory,
):
    await record(uow_factory, BEFORE_CLOSE[:4])
    await close_session(uow_factory, D1)
    await record(uow_factory, BEFORE_CLOSE[4:])

    written = await close_session(uow_factory, D2)
    async with uow_factory() as uow:
        read = await uow.positions.get_checkpoint(ACCOUNT)
        other = await uow.positions.get_checkpoint("99999999-01")

    assert read == written
    assert read is not None and read.trading_date == D2
    assert read.positions == positions_from_fills(ACCOUNT, BEFORE_CLOSE)  # the flat 069500 row too
    assert (read.last_ts_filled, read.last_broker_fill_id) == (kst_datetime(D2, time(15, 10)), "B:4@7")
    assert other is None


async def test_list_settlements_without_summary_then_same_equity_and_no_summary(uow_factory: SqlUnitOfWorkFactory):
    settlement = DailySettlement(
        account_id=ACCOUNT,
        trading_date=D1,
        mode="sim",
        start_equity_krw=Decimal("10000000"),
        end_equity_krw=Decimal("10012345.5"),
        cash_krw=Decimal("7000000"),
        realized_pnl_krw=Decimal(2500),
        unrealized_pnl_krw=Decimal(-100),
        commission_krw=Decimal(40),
        tax_krw=Decimal(120),
        orders_count=4,
        fills_count=4,
        return_pct=Decimal("0.123455"),
        summary={"orders": [{"symbol": "005930"}]},
        ts_created=datetime(2024, 3, 4, 6, 40, tzinfo=UTC),
    )
    async with uow_factory() as uow:
        await uow.settlements.put(settlement)
        await uow.commit()
    async with uow_factory() as uow:
        [full] = await uow.settlements.list_all(ACCOUNT)
        [light] = await uow.settlements.list_all(ACCOUNT, with_summary=False)

    assert full.summary == {"orders": [{"symbol": "005930"}]}
    assert light.summary == {}
    assert light.end_equity_krw == full.end_equity_krw == Decimal("10012345.5")
    assert light.trading_date == D1 and light.start_equity_krw == full.start_equity_krw


async def test_restore_when_checkpoint_and_fills_of_today_then_same_positions_and_loss_baseline_as_every_fill(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the D2 close wrote its checkpoint; the daemon died on D3 after today's fills.
    await record(uow_factory, BEFORE_CLOSE)
    await close_session(uow_factory, D2)
    await record(uow_factory, TODAY)
    everything = [*BEFORE_CLOSE, *TODAY]
    clock = FixedClock(kst_datetime(D3, time(11, 30)))
    broker = FakeBroker(clock, ACCOUNT)
    for symbol, position in positions_from_fills(ACCOUNT, everything).items():
        broker.set_position(symbol, position.quantity, position.avg_price)
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, LIMITS),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        venue=krx_venue(),
    )
    runner = SessionRunner(
        execution=execution,
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        mode=Mode.SIM,
        venue=krx_venue(),
        strategies=StrategyBook((MA_CROSS,)),
    )
    session = krx_session(D3, kst_datetime(D3, time(9, 0)), kst_datetime(D3, time(15, 30)))
    # Act
    restored = await runner.restore(session)
    # Assert
    before = positions_from_fills(ACCOUNT, BEFORE_CLOSE)
    assert execution.positions == positions_from_fills(ACCOUNT, everything)
    assert restored.before_today == before
    today_net = sum((p.net_realized_pnl_krw for p in execution.positions.values()), Decimal(0)) - sum(
        (p.net_realized_pnl_krw for p in before.values()), Decimal(0)
    )
    assert execution.realized_pnl_today_krw == today_net != 0
    assert execution.stopped_reason is None  # the broker's holdings agree


async def test_gather_plan_when_the_broker_reports_a_fill_older_than_the_checkpoint_then_positions_from_every_fill(
    uow_factory: SqlUnitOfWorkFactory,
):
    # Arrange: the checkpoint was written at 15:40 on D3 (a close that ran on the same day as this check);
    # the broker reports an execution of D3 at 15:00 that our records lack.
    await record(uow_factory, [*BEFORE_CLOSE, *TODAY])
    await close_session(uow_factory, D3)
    clock = FixedClock(kst_datetime(D3, time(15, 0)))
    broker = FakeBroker(clock, ACCOUNT)
    by_hand = broker.add_order("000660", Side.BUY, Decimal(2), Decimal(129000), ts_accepted=clock.now())
    missed = broker.execute(by_hand.broker_order_number, 2, 129000)
    everything = [*BEFORE_CLOSE, *TODAY]
    for symbol, position in positions_from_fills(ACCOUNT, [*everything, missed]).items():
        broker.set_position(symbol, position.quantity, position.avg_price)
    # Act
    plan = await gather_plan(uow_factory, broker, RecoveryInputs(ACCOUNT, D3), CumulativeFillIdentity())
    # Assert
    assert [a.kind for a in plan.actions] == ["external_order", "external_fill"]
    [recorded_as] = [a.fill for a in plan.actions if a.fill is not None]
    assert plan.positions_after == positions_from_fills(ACCOUNT, [*everything, recorded_as])
    assert plan.position_differences == ()


def test_positions_when_an_extra_fill_sorts_before_the_checkpoint_then_refuses():
    base = positions_from_fills(ACCOUNT, BEFORE_CLOSE)
    history = PositionHistory(ACCOUNT, base, (kst_datetime(D2, time(15, 10)), "B:4@7"), (), 8)
    early = fill("B:0@1", D2, time(15, 10), "005930", Side.BUY, 1, "72000")

    assert not history.sorts_after([early])
    assert history.sorts_after(TODAY)
    with pytest.raises(ValueError, match="before the position checkpoint"):
        history.positions([early])
    with pytest.raises(ValueError, match="fills of 2024-03-05"):
        history.positions(before=D2)
    assert history.positions(TODAY) == positions_from_fills(ACCOUNT, [*BEFORE_CLOSE, *TODAY])
    assert PositionHistory(ACCOUNT).checkpoint(D2, kst_datetime(D2, time(15, 40))) is None
    assert history.positions()["005930"] == Position(
        ACCOUNT, "005930", Decimal(18), Decimal("71900.0000"), Decimal("7200.0000"), Decimal(30), Decimal(156)
    )


@pytest.mark.parametrize("calls", [("before", "all", "extra"), ("extra", "all", "before"), ("all", "late", "before")])
def test_positions_when_asked_in_any_order_then_each_equals_folding_its_fills(calls: tuple[str, ...]):
    # Recorded in another order than executed (the last D2 fill first); folds are kept between calls.
    history = PositionHistory(ACCOUNT, later=(BEFORE_CLOSE[-1], *reversed(BEFORE_CLOSE[:-1]), *TODAY))
    everything = [*BEFORE_CLOSE, *TODAY]
    missed = fill("C:9@5", D3, time(14, 0), "000660", Side.SELL, 5, "131500", tax="98")
    late = fill("B:9@1", D2, time(9, 0), "005930", Side.BUY, 1, "72000")  # sorts before recorded fills
    expected = {
        "before": (lambda: history.positions(before=D3), positions_from_fills(ACCOUNT, BEFORE_CLOSE)),
        "all": (lambda: history.positions(), positions_from_fills(ACCOUNT, everything)),
        "extra": (lambda: history.positions([missed]), positions_from_fills(ACCOUNT, [*everything, missed])),
        "late": (lambda: history.positions([late]), positions_from_fills(ACCOUNT, [*everything, late])),
    }
    for call in calls:
        positions, wanted = expected[call]
        assert positions() == wanted, call
