"""A market buy by KRW amount (``ord_type=price``, pitfall 1): it spends its amount over the prints, ends
``cancel`` with its fills and the dust refunded; the adapter reports it FILLED, sends no cancel for it, and each
trade is seen once — by stream and by inquiry under the same trade uuid, so it is recorded once."""

from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.fill_identity import TradeIdFillIdentity
from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator
from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, CancelReport, FillReport
from tests.upbit_sim.support import BTC, DAY, Recorder, SignedClient, make_adapter, make_venue, settle


async def test_amount_buy_when_spent_then_cancel_with_fills_reported_filled_and_each_trade_recorded_once(
    tmp_path: Path,
):
    venue = make_venue(tmp_path / "venue", participation=Decimal("0.0002"))
    frames = HandledFrames()
    sim = UpbitExchangeSimulator(
        venue, wall_clock=SystemClock(), rate_limits=None, after_broadcast=lambda: frames.wait_for(sim.data_frames_sent)
    )
    await sim.start()
    adapter = make_adapter(sim, frames)
    recorder = Recorder()
    await adapter.subscribe_order_events(recorder.on_event)
    session = await anext(aiter(venue.sessions()))

    ack = await adapter.place_amount_buy(adapter.account_id, BTC, Decimal(5_000_000), client_order_id="amount-1")
    await venue.run_until_close(session)
    await settle(frames, sim)

    client = SignedClient(sim)
    wire = (await client.get("/v1/order", {"uuid": ack.broker_order_number})).json()
    await client.aclose()
    assert (wire["ord_type"], wire["state"], wire["price"]) == ("price", "cancel", "5000000")
    assert "volume" not in wire and Decimal(wire["executed_volume"]) > 0
    assert Decimal(wire["locked"]) < Decimal("5000000") * Decimal("0.0005") + 1  # dust + unused fee, refunded
    streamed = [e.fill for e in recorder.of(FillReport)]
    assert len(streamed) > 1 and not recorder.of(CancelReport)  # spent, not cancelled
    [report] = await adapter.get_orders(adapter.account_id, DAY)
    assert (report.state, report.order_type, report.side) == (BrokerOrderState.FILLED, OrderType.MARKET, Side.BUY)
    assert report.quantity == report.filled_quantity == sum(f.quantity for f in streamed)
    assert report.client_order_id == "amount-1" and report.limit_price is None
    inquired = await adapter.get_fills(adapter.account_id, DAY)
    assert inquired == sorted(streamed, key=lambda f: (f.ts_filled, f.broker_fill_id))
    assert Decimal(5_000_000) - sum(f.notional_krw for f in inquired) < streamed[-1].price * Decimal("0.00000001")
    missing = TradeIdFillIdentity().missing(adapter.account_id, recorded=streamed, at_broker=inquired)
    assert (missing.fills, missing.surplus_quantity) == ((), Decimal(0))
    [position] = await adapter.get_positions(adapter.account_id)
    assert position.quantity == report.filled_quantity
    await adapter.close()
    await sim.stop()
    await venue.close()
