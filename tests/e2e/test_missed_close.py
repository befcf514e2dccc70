"""A close the daemon missed is settled when it starts again: a paper daemon trading against a KIS-compatible
server is killed during a session in which it placed an order; the session closes without it; started after
the close, it settles that day from the broker's records (settlement, report, snapshot, an event marked
"settled late") before it trades the next sessions."""

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.venues.krx.calendar import session_for
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.kis_factory import from_settings
from stock_manager.entrypoints.venues import Venue
from stock_manager.localtime import kst_date
from tests.e2e.support import replay_settings
from tests.fakes import RecordingNotifier

pytestmark = pytest.mark.slow

CREDENTIAL = KisCredential(
    app_key="PSpaperAPPKEY" + "0" * 23, app_secret="S" * 180, account="50123456-01", hts_id="owner01"
)


async def test_paper_daemon_when_killed_before_the_close_and_started_after_it_then_the_missed_day_is_settled_late(
    tmp_path: Path, db_url: str
):
    # Arrange: a KIS-compatible server (paper) replaying the period (×60,000), and a paper daemon that knows it
    # only by its settings; the server's replay is the session source and the market clock.
    market = replay_settings(tmp_path / "exchange", "sqlite+aiosqlite:///unused.db", sim_speed="60000")
    market_clock = replay_clock(market)
    exchange = build_sim_broker(market, market_clock)
    server = KisExchangeSimulator(
        exchange, mode="paper", credentials=(CREDENTIAL,), wall_clock=SystemClock(), rate_limit_per_sec=None
    )
    await server.start()
    paper = replay_settings(
        tmp_path / "daemon",
        db_url,
        mode="paper",
        kis_app_key=CREDENTIAL.app_key,
        kis_app_secret=CREDENTIAL.app_secret,
        kis_account=CREDENTIAL.account,
        kis_hts_id=CREDENTIAL.hts_id,
        kis_rest_base_url=server.rest_base_url,
        kis_ws_url=server.ws_url,
        kis_rate_limit_per_sec=50,
    )
    notifier = RecordingNotifier()
    try:
        async with open_storage(paper, upgrade=False) as storage:
            first = build_daemon(
                paper,
                storage,
                Venue(from_settings(paper, clock=SystemClock(), market_clock=market_clock), exchange, market_clock),
                notifier=RecordingNotifier(),
            )
            running = asyncio.create_task(first.run())
            # Killed once its first order is at the broker (the daemon's own order of that day).
            while not server.records.orders_received or not exchange.book.orders():
                assert not running.done(), "the daemon ended before it placed an order"
                await asyncio.sleep(0.001)
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            (order,) = exchange.book.orders()
            missed_day = kst_date(order.ts_accepted)
            await exchange.run_until_close(session_for(missed_day))  # the session goes on and closes without it
            async with storage.uow_factory() as uow:
                assert await uow.settlements.get(CREDENTIAL.account, missed_day) is None

            # Act: started after the close.
            second = build_daemon(
                paper,
                storage,
                Venue(from_settings(paper, clock=SystemClock(), market_clock=market_clock), exchange, market_clock),
                notifier=notifier,
            )
            result = await asyncio.wait_for(second.run(), timeout=120)
            async with storage.uow_factory() as uow:
                settlement = await uow.settlements.get(CREDENTIAL.account, missed_day)
                fills = await uow.fills.list_for_date(CREDENTIAL.account, missed_day)
                snapshots = await uow.positions.list_snapshots(CREDENTIAL.account, missed_day)
                orders = await uow.orders.list_for_date(CREDENTIAL.account, missed_day)
    finally:
        await server.stop()
        await exchange.close()

    # Assert: the missed day is the first settlement of the second run, marked late, with the broker's fills
    # (recorded from its totals), the day's report sent and the position snapshotted.
    assert result.settlements[0].trading_date == missed_day
    assert settlement is not None and settlement.summary.get("settled_late") is True
    broker_filled = sum((f.quantity for f in exchange.book.fills(missed_day)), Decimal(0))
    assert broker_filled > 0
    assert sum((s.fill.quantity for s in fills), Decimal(0)) == broker_filled
    assert settlement.fills_count == len(fills) and settlement.orders_count == len(orders) == 1
    assert orders[0].filled_quantity == broker_filled and not orders[0].is_open
    assert [s.symbol for s in snapshots] == [order.symbol]
    late = [e for e in notifier.of_kind("market_close") if "settled late" in e.message]
    assert len(late) == 1 and str(missed_day) in late[0].message
    assert notifier.reports[0].settlement.trading_date == missed_day
