"""A stop request (a signal) reaches a daemon wherever it is: even while it is still logging in (KIS may make a
new token wait a minute), it returns at once, stopped, having sent nothing."""

import asyncio
import time

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.modes import Mode
from stock_manager.service_layer.daemon import DaemonConfig, TradingDaemon
from tests.fakes import FakeBroker, RecordingNotifier
from tests.integration.test_execution import ACCOUNT, T0


class SlowLogin(FakeBroker):
    """A broker whose login takes a minute (KIS's one-token-per-minute wait)."""

    closed = False

    async def login(self) -> None:
        await asyncio.sleep(60)

    async def close(self) -> None:
        self.closed = True


def never_assembled(*args, **kwargs):
    raise AssertionError("nothing is built for a daemon stopped before it logged in")


async def test_stop_request_when_the_daemon_is_still_logging_in_then_run_returns_at_once_stopped(
    uow_factory: SqlUnitOfWorkFactory,
):
    clock = FixedClock(T0)
    broker = SlowLogin(clock, ACCOUNT)
    daemon = TradingDaemon(
        config=DaemonConfig(mode=Mode.PAPER, account_id=None),
        uow_factory=uow_factory,
        broker=broker,
        schedule=None,  # type: ignore[arg-type]  # never reached
        clock=clock,
        wall_clock=clock,
        notifier=RecordingNotifier(),
        assemble=never_assembled,
    )
    run = asyncio.create_task(daemon.run())
    await asyncio.sleep(0.1)

    started = time.monotonic()
    daemon.request_stop("SIGTERM received")
    result = await asyncio.wait_for(run, timeout=2)

    assert time.monotonic() - started < 0.5
    assert (result.stopped, result.killed, result.settlements) == ("SIGTERM received", False, [])
    assert broker.closed and broker.place_calls == []
