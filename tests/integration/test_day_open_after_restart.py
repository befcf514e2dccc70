"""A daemon (re)started during a trading day learns the day's open and range so far from the venue's quote, so an
intraday strategy (the volatility breakout's target is the day's open + k × yesterday's range) decides on the
day's real open, not on the first print it happens to see."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.market import Tick
from stock_manager.domain.modes import Mode
from stock_manager.domain.sessions import continuous_session
from stock_manager.domain.strategies.base import MarketDay, StrategySpec
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.ports.broker import Quote
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_venue_neutral_core import ACCOUNT, COIN, LIMITS, coin_venue

DAY = date(2024, 6, 3)
RESTART = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)  # 15 hours into the UTC day


@dataclass(frozen=True)
class NoParams:
    def to_mapping(self) -> dict[str, str]:
        return {}


@dataclass
class Watcher:
    """A strategy that proposes nothing and remembers what it was shown."""

    seen: list[MarketDay] = field(default_factory=list)
    strategy_id: str = "watcher"
    enters_intraday: bool = True

    def daily_signals(self, history, position, ts_decision):  # type: ignore[no-untyped-def]
        return []

    def tick_signals(self, tick, position, ts_decision, day):  # type: ignore[no-untyped-def]
        self.seen.append(day)
        return []


async def test_open_when_restarted_during_the_day_then_strategies_see_the_venues_day_open_and_range(
    uow_factory: SqlUnitOfWorkFactory,
):
    clock = FixedClock(RESTART)
    broker = FakeBroker(clock, ACCOUNT)
    broker.quotes[COIN] = Quote(
        COIN,
        Decimal(90_100_000),
        Decimal(88_000_000),
        None,
        None,
        RESTART,
        day_open=Decimal(88_500_000),
        day_high=Decimal(91_000_000),
        day_low=Decimal(87_900_000),
    )
    watcher = Watcher()
    spec = StrategySpec(
        strategy_id="watcher",
        name="watcher",
        source="test",
        params_from=lambda raw: NoParams(),
        problems=lambda raw: [],
        default_params=NoParams,
        build=lambda params: watcher,
    )
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.SIM, LIMITS),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        venue=coin_venue(),
    )
    runner = SessionRunner(
        execution=execution,
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=RecordingNotifier(),
        mode=Mode.SIM,
        venue=coin_venue(),
        strategies=StrategyBook((spec,)),
    )
    start = datetime(2024, 6, 3, tzinfo=UTC)

    await runner.open(continuous_session(DAY, start, start + timedelta(days=1)))
    await runner.on_tick(Tick(COIN, Decimal(91_200_000), Decimal("0.1"), RESTART + timedelta(seconds=5)))

    [day] = watcher.seen
    assert day.open_price == Decimal(88_500_000)  # the day's open, not the first print after the restart
    assert (day.low, day.high) == (Decimal(87_900_000), Decimal(91_200_000))  # the range so far, this print too
