"""Fills whose ``myOrder`` events never arrive: the Upbit daemon learns them by inquiry, and records each on the
UTC day it traded — also in the last session of a period, whose close is the daemon's last look at the venue
(Upbit orders live on past the close, so nothing else reads them before the daemon exits)."""

from datetime import UTC

from stock_manager.adapters.broker.fault_log import FaultLog
from stock_manager.adapters.broker.upbit_sim.render import OrderIds
from stock_manager.entrypoints.venues import FAULT_LOG_FILE
from tests.e2e.test_upbit_daemon import run_upbit


async def test_upbit_sim_when_every_fill_event_is_lost_then_each_trade_is_recorded_on_its_day_by_inquiry(
    tmp_path, db_url
):
    # Arrange: every myOrder fill event lost; no periodic reconciliation within a session.
    _, broker, orders, fills, settlements, _ = await run_upbit(
        tmp_path, db_url, sim_faults="lost_my_order_probability=1", reconcile_interval_secs=3600
    )

    # Assert: the venue's every trade is recorded once, on the day it traded, and each day's settlement counts
    # its own fees; no order is left working with executions unrecorded.
    wire = OrderIds(broker.book, broker.replay_id)
    venue_trades = {wire.trade_uuid(f.broker_fill_id): f for f in broker.book.fills()}
    assert (
        FaultLog.read(tmp_path / "data" / "sim-upbit" / FAULT_LOG_FILE)["lost_my_order_event"] == len(venue_trades) > 10
    )
    assert sorted(s.fill.broker_fill_id for s in fills) == sorted(venue_trades)
    assert all(s.fill.trading_date == s.fill.ts_filled.astimezone(UTC).date() for s in fills)
    for settlement in settlements:
        assert settlement.commission_krw == sum(
            (s.fill.commission_krw for s in fills if s.fill.trading_date == settlement.trading_date), 0
        ), settlement.trading_date
    executed = {o.id: o.filled_quantity for o in orders}
    assert all(executed[s.order_id] > 0 for s in fills)
