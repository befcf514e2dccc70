"""An unattended daemon does not die of a transient outage at the open: with the KIS-compatible simulator's daily
chart reads failing for two minutes (fault knob ``history_outage_secs``), the market-open sequence is retried
with back-off in stop mode with one alert, and once the reads recover the day's signals are sent (trading
starts). Configuration and authentication failures are not retried."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.errors import FatalBrokerError
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.open_retry import open_with_retries
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.trading_day import SessionRunner
from tests.fakes import RecordingNotifier, krx_venue
from tests.integration.test_day_open_after_restart import NoParams
from tests.integration.test_execution import LIMITS
from tests.kis.sim_support import ACCOUNT, SAMSUNG, Rig, build_rig

OUTAGE_SECS = 120.0


@dataclass
class BuyAtOpen:
    """A strategy that buys one share at the open once it has read the history."""

    strategy_id: str = "buy_at_open"
    enters_intraday: bool = False

    def daily_signals(self, history, position, ts_decision: datetime) -> list[Signal]:  # type: ignore[no-untyped-def]
        if not history or history[-1].symbol != SAMSUNG or position is not None:
            return []
        return [
            Signal(
                strategy_id=self.strategy_id,
                symbol=SAMSUNG,
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.MARKET,
                reference_price=history[-1].close,
                ts_signal=ts_decision,
                reason="buy at the open",
                quantity=Decimal(1),
            )
        ]

    def tick_signals(self, tick, position, ts_decision, day):  # type: ignore[no-untyped-def]
        return []


def runner_on(rig: Rig, uow_factory: SqlUnitOfWorkFactory, notifier: RecordingNotifier) -> SessionRunner:
    venue = krx_venue(SAMSUNG)
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.PAPER, LIMITS),
        uow_factory=uow_factory,
        broker=rig.kis,
        clock=rig.venue.clock,
        notifier=notifier,
        venue=venue,
    )
    spec = StrategySpec(
        strategy_id="buy_at_open",
        name="buy at open",
        source="test",
        params_from=lambda raw: NoParams(),
        problems=lambda raw: [],
        default_params=NoParams,
        build=lambda params: BuyAtOpen(),
    )
    return SessionRunner(
        execution=execution,
        uow_factory=uow_factory,
        broker=rig.kis,
        clock=rig.venue.clock,
        notifier=notifier,
        mode=Mode.PAPER,
        venue=venue,
        strategies=StrategyBook((spec,)),
        sleep=rig.wall.sleep,
    )


async def test_open_when_history_reads_fail_for_two_minutes_then_stop_mode_one_alert_and_trading_after_recovery(
    tmp_path: Path, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: the simulator's chart reads fail for two minutes of (simulated) wall time from the first one.
    async with build_rig(tmp_path) as rig:
        rig.sim.faults.history_outage_secs = OUTAGE_SECS
        await rig.kis.login()
        session = await rig.open_session()
        notifier = RecordingNotifier()
        runner = runner_on(rig, uow_factory, notifier)
        started = rig.wall.now()

        # Act
        opened = await open_with_retries(runner, session)

        # Assert: it waited the outage out, told once, and then traded.
        waited = (rig.wall.now() - started).total_seconds()
        outages = rig.sim.fault_log.counts["history_outage"]
        orders = [o for o in rig.sim.records.orders_received if o.outcome.startswith("accepted")]
    assert opened
    assert waited >= OUTAGE_SECS
    assert outages >= 10  # every try of the adapter and of the open sequence met it
    assert len(notifier.of_kind("stop_mode")) == 1
    (recovered,) = notifier.of_kind("open_recovered")
    assert recovered.payload["failures"] >= 2
    assert runner.execution.stopped_reason is None
    assert len(orders) == 1 and orders[0].body["PDNO"] == SAMSUNG


async def test_open_when_the_broker_refuses_the_credentials_then_not_retried(
    tmp_path: Path, uow_factory: SqlUnitOfWorkFactory
):
    # Arrange: an open whose first read meets a fatal error.
    async with build_rig(tmp_path) as rig:
        await rig.kis.login()
        session = await rig.open_session()
        runner = runner_on(rig, uow_factory, RecordingNotifier())

        async def refused(account_id: str) -> None:
            raise FatalBrokerError("EGW00103 유효하지 않은 AppKey입니다")

        runner.broker = type("Refusing", (), {"get_cash": staticmethod(refused)})()  # type: ignore[assignment]

        # Act / Assert
        with pytest.raises(FatalBrokerError):
            await open_with_retries(runner, session)
