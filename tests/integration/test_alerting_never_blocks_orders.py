"""A Slack outage never delays or fails an order: orders go through `Execution` on a real database while
the fake Slack Web API hangs or refuses connections."""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.notifications.fanout import FanoutNotifier
from stock_manager.adapters.notifications.slack import SlackChannels, SlackNotifier
from stock_manager.adapters.notifications.slack_client import SlackPoster
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.signals import Signal
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from tests.fake_slack import TOKEN, FakeSlack, refused_base_url
from tests.fakes import FakeBroker, krx_venue
from tests.integration.test_execution import HOURS

ACCOUNT = "50123456-01"
DAY = date(2024, 3, 4)
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)  # within HOURS, the session of tests.integration.test_execution
SYMBOLS = ("005930", "000660", "005380")
HANG_SECS = 20.0


def signal(symbol: str) -> Signal:
    return Signal(
        strategy_id="ma_cross",
        symbol=symbol,
        side=Side.BUY,
        intent=Intent.ENTRY,
        order_type=OrderType.LIMIT,
        reference_price=Decimal(50_000),
        ts_signal=T0,
        reason="golden cross",
        quantity=Decimal(10),
        limit_price=Decimal(50_000),
    )


def execution_with_slack(uow_factory, slack_url: str) -> tuple[Execution, SlackNotifier, FakeBroker]:
    clock = FixedClock(T0)
    broker = FakeBroker(clock, ACCOUNT)
    slack = SlackNotifier(
        SlackPoster(TOKEN, base_url=slack_url, timeout_secs=int(HANG_SECS) + 5, retries=0),
        SlackChannels("C0ALERTS01", "C0TRADES01"),
        clock=clock,
        label="paper",
        poll_interval_secs=0.02,
    )
    slack.start()
    execution = Execution(
        config=ExecutionConfig(ACCOUNT, Mode.PAPER, RiskLimits(5, Decimal(1_000), Decimal(2))),
        uow_factory=uow_factory,
        broker=broker,
        clock=clock,
        notifier=FanoutNotifier(ConsoleNotifier(), slack),
        venue=krx_venue(),
    )
    execution.load({}, [])
    execution.begin_session(DAY, Decimal(10_000_000), session=HOURS)
    for symbol in SYMBOLS:  # in session, with a fresh quote at the order's price: only alerting is under test
        execution.note_quote(symbol, Decimal(50_000), T0, Decimal(1), Decimal(10_000_000))
    return execution, slack, broker


async def submit_all(execution: Execution) -> list[float]:
    took = []
    for symbol in SYMBOLS:
        started = time.perf_counter()
        order = await execution.submit(signal(symbol))
        took.append(time.perf_counter() - started)
        assert order is not None and order.status is OrderStatus.SENT
    return took


async def test_orders_when_slack_hangs_then_each_is_sent_without_waiting_for_slack(uow_factory):
    with FakeSlack() as fake:
        execution, slack, broker = execution_with_slack(uow_factory, fake.base_url)
        await fake.until(lambda s: len(s.calls("auth.test")) == 1)
        fake.set_outage("hang", hang_secs=HANG_SECS)

        took = await submit_all(execution)

        # Slack is still stuck on the first order's notice while all three orders are at the broker.
        await fake.until(lambda s: s.in_flight == 1)
        assert [c.request.symbol for c in broker.place_calls] == list(SYMBOLS)
        assert max(took) < 1.0 < HANG_SECS  # each order took database time, not Slack time
        fake.set_outage("none")  # release the hanging request
        assert slack.close(timeout_secs=10)
    # Once Slack answered again, the notices went out in order (each order's creation is a trade event).
    assert [m["text"].splitlines()[1][:14] for m in fake.messages("C0TRADES01")] == [
        "BUY 10 005930 ",
        "BUY 10 000660 ",
        "BUY 10 005380 ",
    ]


async def test_orders_when_slack_refuses_connections_then_they_are_sent_and_notices_given_up(uow_factory):
    execution, slack, _ = execution_with_slack(uow_factory, refused_base_url())

    took = await submit_all(execution)

    assert max(took) < 1.0
    async with uow_factory() as uow:
        stored = await uow.orders.list_for_date(ACCOUNT, DAY)
    assert [o.status for o in stored] == [OrderStatus.SENT] * 3
    assert slack.close(timeout_secs=30)
    assert slack.stats.sent == 0 and slack.stats.given_up == 3
