"""SimBroker survives a real SIGKILL: a child process replays and kills itself mid-day; the parent resumes.

Marked ``slow``: the child process builds the XKRX calendar on its own (about 5 s).
"""

import asyncio
import os
import signal
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.domain.clock import FixedClock
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import BrokerOrderState

#: Shared by the child and the parent: the replay, and a trader that places orders at fixed print times
#: and, when asked, SIGKILLs its own process right after a chosen print.
REPLAY = """
import asyncio, os, signal, sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.domain.clock import FixedClock
from stock_manager.localtime import kst_datetime
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import OrderRequest

D1, D2 = date(2023, 12, 20), date(2023, 12, 21)
KILL_AT = kst_datetime(D2, time(11, 15))


def build(state_dir):
    clock = FixedClock(datetime(2000, 1, 1, tzinfo=UTC))
    return SimBroker(symbols=["005930"], start_date=D1, end_date=D2, clock=clock, state_dir=Path(state_dir))


async def replay(broker, kill):
    async def on_tick(tick):
        account, samsung = broker.account_id, "005930"
        if tick.ts_event == kst_datetime(D1, time(9, 22, 30)):
            buy = OrderRequest(account, samsung, Side.BUY, OrderType.MARKET, Decimal(10), None)
            await broker.place_order(buy)
        if tick.ts_event == kst_datetime(D2, time(9, 45)):
            sell = OrderRequest(account, samsung, Side.SELL, OrderType.LIMIT, Decimal(5), Decimal(75000))
            await broker.place_order(sell)
        if kill and tick.ts_event == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)

    await broker.subscribe_quotes(["005930"], on_tick)
    async for session in broker.sessions():
        await broker.run_until_close(session)


if __name__ == "__main__":
    asyncio.run(replay(build(sys.argv[1]), kill=True))
"""


def _replay_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "replay"}
    exec(compile(REPLAY, "replay", "exec"), namespace)  # the test's own source, shared with the child
    return namespace


@pytest.mark.slow
async def test_restart_when_process_sigkilled_mid_day_then_exchange_state_survives_and_replay_completes(
    tmp_path: Path,
) -> None:
    replay = _replay_namespace()
    crashed_dir, whole_dir = tmp_path / "crashed", tmp_path / "whole"

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", REPLAY, str(crashed_dir), stderr=asyncio.subprocess.PIPE, env=os.environ.copy()
    )
    session_for(date(2023, 12, 20))  # load the calendar here while the child replays (both take seconds)
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode == -signal.SIGKILL, stderr.decode()

    broker = replay["build"](crashed_dir)
    account = broker.account_id
    orders = await broker.get_orders(account, date(2023, 12, 21))
    assert [(o.side, o.state, o.filled_quantity) for o in orders] == [("SELL", BrokerOrderState.OPEN, Decimal(0))]
    assert [f.quantity for f in await broker.get_fills(account, date(2023, 12, 20))] == [Decimal(10)]
    assert broker.progress == (date(2023, 12, 21), 11)  # 11 prints played: 09:00 … 11:15
    assert broker.clock.now() == kst_datetime(date(2023, 12, 21), time(11, 15))

    await replay["replay"](broker, kill=False)
    whole = SimBroker(
        symbols=["005930"],
        start_date=date(2023, 12, 20),
        end_date=date(2023, 12, 21),
        clock=FixedClock(datetime(2000, 1, 1, tzinfo=UTC)),
        state_dir=whole_dir,
    )
    await replay["replay"](whole, kill=False)

    for day in (date(2023, 12, 20), date(2023, 12, 21)):
        assert await broker.get_orders(account, day) == await whole.get_orders(account, day)
        assert await broker.get_fills(account, day) == await whole.get_fills(account, day)
    assert await broker.get_cash(account) == await whole.get_cash(account)
    assert [o.state for o in await broker.get_orders(account, date(2023, 12, 21))] == [BrokerOrderState.FILLED]
    assert broker.finished and whole.finished
