"""`KisBroker` against the KIS-compatible exchange simulator over real loopback sockets: every adapter method,
and each of the simulator's fault knobs."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.domain.errors import AmbiguousOrderOutcome, OrderRejectedByBroker, TemporaryBrokerError
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import (
    BrokerOrderState,
    CancelReport,
    FillReport,
    OrderRequest,
    StreamResumed,
)
from tests.kis.sim_support import ACCOUNT, FIRST_DAY, KODEX, SAMSUNG, Rig, build_rig, make_adapter


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with build_rig(tmp_path) as built:
        yield built


def market(side: Side, quantity: int, symbol: str = SAMSUNG) -> OrderRequest:
    return OrderRequest(ACCOUNT, symbol, side, OrderType.MARKET, Decimal(quantity), None)


def limit(side: Side, quantity: int, price: Decimal, symbol: str = SAMSUNG) -> OrderRequest:
    return OrderRequest(ACCOUNT, symbol, side, OrderType.LIMIT, Decimal(quantity), price)


async def test_login_account_cash_positions_price_and_history(rig: Rig):
    kis = rig.kis
    await kis.login()
    session = await rig.open_session()

    [account] = await kis.get_accounts()
    cash = await kis.get_cash(ACCOUNT)
    positions = await kis.get_positions(ACCOUNT)
    quote = await kis.get_price(SAMSUNG)
    bars = await kis.get_daily_bars(SAMSUNG, date(2023, 12, 19), 30)

    assert account.account_id == ACCOUNT
    assert cash.deposit_krw == Decimal(10_000_000) and cash.orderable_krw == Decimal(10_000_000)
    assert positions == []
    assert quote.lower_limit < quote.base_price < quote.upper_limit
    assert len(bars) == 30 and bars[-1].trading_date <= date(2023, 12, 19)
    assert bars == sorted(bars, key=lambda b: b.trading_date)
    assert session.trading_date == FIRST_DAY
    assert rig.sim.tokens_issued == 1


async def test_market_buy_fills_by_notice_and_shows_in_every_inquiry(rig: Rig):
    kis, recorder = rig.kis, rig.recorder
    await kis.subscribe_order_events(recorder.on_event)
    await kis.subscribe_quotes([SAMSUNG], recorder.on_tick)
    session = await rig.open_session()

    ack = await kis.place_order(market(Side.BUY, 10))
    await rig.play(session)

    fills = [e.fill for e in recorder.of(FillReport)]
    assert fills and {f.broker_order_number.lstrip("0") for f in fills} == {ack.broker_order_number.lstrip("0")}
    assert sum(f.quantity for f in fills) == 10
    assert all(f.commission_krw >= 0 and f.side is Side.BUY for f in fills)
    assert recorder.ticks and {t.symbol for t in recorder.ticks} == {SAMSUNG}
    [report] = await kis.get_orders(ACCOUNT, FIRST_DAY)
    assert (report.state, report.filled_quantity) == (BrokerOrderState.FILLED, Decimal(10))
    [fill] = await kis.get_fills(ACCOUNT, FIRST_DAY)
    assert fill.quantity == 10 and fill.broker_fill_id.startswith("ccld:20231220:")
    [position] = await kis.get_positions(ACCOUNT)
    assert (position.symbol, position.quantity) == (SAMSUNG, Decimal(10))
    assert rig.sim.records.orders_received[0].tr_id == "VTTC0012U"


async def test_limit_buy_far_below_is_cancelled_with_a_notice(rig: Rig):
    kis, recorder = rig.kis, rig.recorder
    await kis.subscribe_order_events(recorder.on_event)
    session = await rig.open_session()
    quote = await kis.get_price(SAMSUNG)

    ack = await kis.place_order(limit(Side.BUY, 3, quote.lower_limit + Decimal(37)))  # off-tick: rounded down
    await kis.cancel_order(ACCOUNT, ack.broker_order_number, ack.venue_order_ref)
    await rig.play(session)

    [cancel] = recorder.of(CancelReport)
    assert cancel.broker_order_number.lstrip("0") == ack.broker_order_number.lstrip("0")
    assert cancel.canceled_quantity == 3
    [report] = await kis.get_orders(ACCOUNT, FIRST_DAY)
    assert report.state is BrokerOrderState.CANCELED and report.limit_price == quote.lower_limit
    assert not recorder.of(FillReport)


async def test_order_above_the_cash_is_rejected_with_kis_message(rig: Rig):
    await rig.kis.login()
    await rig.open_session()

    with pytest.raises(OrderRejectedByBroker) as caught:
        await rig.kis.place_order(market(Side.BUY, 100_000))

    assert caught.value.code and str(caught.value).strip() == str(caught.value)


async def test_sell_without_holdings_is_rejected(rig: Rig):
    await rig.open_session()

    with pytest.raises(OrderRejectedByBroker):
        await rig.kis.place_order(market(Side.SELL, 1, KODEX))


async def test_daily_orders_are_read_over_several_pages(tmp_path: Path):
    async with build_rig(tmp_path, sim_kwargs={"page_sizes": {"daily_ccld": 4}}) as rig:
        await rig.open_session()
        quote = await rig.kis.get_price(SAMSUNG)
        numbers = [
            (await rig.kis.place_order(limit(Side.BUY, 1, quote.lower_limit))).broker_order_number for _ in range(10)
        ]

        reports = await rig.kis.get_orders(ACCOUNT, FIRST_DAY)

        assert [r.broker_order_number.lstrip("0") for r in reports] == [n.lstrip("0") for n in numbers]
        assert rig.sim.records.requests_per_tr["VTTC0081R"] == 3


async def test_real_mode_uses_real_tr_ids(tmp_path: Path):
    async with build_rig(tmp_path, mode="real") as rig:
        await rig.kis.subscribe_order_events(rig.recorder.on_event)
        session = await rig.open_session()

        await rig.kis.place_order(market(Side.BUY, 1))
        await rig.play(session)
        await rig.kis.get_orders(ACCOUNT, FIRST_DAY)

        assert rig.sim.records.orders_received[0].tr_id == "TTTC0012U"
        assert rig.sim.records.requests_per_tr["TTTC0081R"] >= 1
        assert rig.recorder.of(FillReport)


async def test_restart_reuses_the_cached_token_with_no_second_issuance(rig: Rig):
    await rig.kis.login()
    await rig.kis.close()

    again = make_adapter(rig.sim, rig.venue, rig.wall, rig.cache_dir)
    try:
        await again.login()
        cash = await again.get_cash(ACCOUNT)
    finally:
        await again.close()

    assert cash.deposit_krw == Decimal(10_000_000)
    assert rig.sim.tokens_issued == 1
    assert rig.sim.records.requests_per_path["/oauth2/tokenP"] == 1


# -- FAULT KNOBS ------------------------------------------------------------------------------------------


async def test_websocket_drop_reconnects_resubscribes_and_resumes(rig: Rig):
    kis, recorder = rig.kis, rig.recorder
    await kis.subscribe_order_events(recorder.on_event)
    await kis.subscribe_quotes([SAMSUNG], recorder.on_tick)
    session = await rig.open_session()

    assert rig.sim.drop_ws_connections() == 1
    await rig.settle(lambda: bool(recorder.of(StreamResumed)))
    await kis.place_order(market(Side.BUY, 5))
    await rig.play(session)

    [resumed] = recorder.of(StreamResumed)
    assert resumed.account_id == ACCOUNT and resumed.gap_secs >= 0
    assert kis.websocket.connections == 2
    assert sum(e.fill.quantity for e in recorder.of(FillReport)) == 5
    assert recorder.ticks


@pytest.mark.parametrize("mode", ["hang", "close", "error500"])
async def test_order_accepted_but_never_answered_is_ambiguous_and_not_resent(tmp_path: Path, mode: str):
    async with build_rig(tmp_path, adapter_kwargs={"request_timeout_secs": 0.5}) as rig:
        await rig.open_session()
        rig.sim.faults.unanswered_orders = 1
        rig.sim.faults.unanswered_mode = mode  # type: ignore[assignment]

        with pytest.raises(AmbiguousOrderOutcome):
            await rig.kis.place_order(market(Side.BUY, 1))

        assert len(rig.sim.records.orders_received) == 1
        [report] = await rig.kis.get_orders(ACCOUNT, FIRST_DAY)  # resolved by inquiry: the order is there
        assert report.quantity == 1


async def test_random_rate_limits_and_500s_are_retried_for_reads(rig: Rig):
    await rig.kis.login()
    await rig.open_session()
    rig.sim.faults.rate_limit_probability = 0.3
    rig.sim.faults.error500_probability = 0.2
    rig.sim.faults.reseed()

    for _ in range(10):
        quote = await rig.kis.get_price(SAMSUNG)
        cash = await rig.kis.get_cash(ACCOUNT)

    assert quote.price > 0 and cash.deposit_krw == Decimal(10_000_000)
    assert rig.sim.records.requests_per_tr["FHKST01010100"] > 10  # some calls were answered with a fault


async def test_rate_limited_order_is_temporary_and_not_resent(rig: Rig):
    await rig.kis.login()
    await rig.open_session()
    rig.sim.faults.rate_limit_probability = 1.0

    with pytest.raises(TemporaryBrokerError) as caught:
        await rig.kis.place_order(market(Side.BUY, 1))

    assert not isinstance(caught.value, AmbiguousOrderOutcome)
    assert rig.sim.records.requests_per_tr["VTTC0012U"] == 1
    rig.sim.faults.rate_limit_probability = 0.0
    assert await rig.kis.get_orders(ACCOUNT, FIRST_DAY) == []


async def test_gateway_500_on_an_order_is_ambiguous_and_not_resent(rig: Rig):
    await rig.kis.login()
    await rig.open_session()
    rig.sim.faults.error500_probability = 1.0

    with pytest.raises(AmbiguousOrderOutcome):
        await rig.kis.place_order(market(Side.BUY, 1))

    assert rig.sim.records.requests_per_tr["VTTC0012U"] == 1


async def test_expired_token_is_reissued_once(rig: Rig):
    await rig.kis.login()
    await rig.open_session()
    rig.wall.advance(timedelta(minutes=2))

    assert rig.sim.expire_tokens() == 1
    quote = await rig.kis.get_price(SAMSUNG)
    await rig.kis.get_cash(ACCOUNT)

    assert quote.price > 0
    assert rig.sim.tokens_issued == 2


async def test_duplicate_fill_notices_are_delivered_once(rig: Rig):
    kis, recorder = rig.kis, rig.recorder
    await kis.subscribe_order_events(recorder.on_event)
    session = await rig.open_session()
    rig.sim.faults.duplicate_fill_notices = True

    await kis.place_order(market(Side.BUY, 10))
    await rig.play(session)

    fills = recorder.of(FillReport)
    assert sum(e.fill.quantity for e in fills) == 10
    assert kis.duplicates_dropped == len(fills)


async def test_late_fill_notices_still_arrive(tmp_path: Path):
    async with build_rig(tmp_path, sim_kwargs={"sleep": asyncio.sleep}) as rig:
        await rig.kis.subscribe_order_events(rig.recorder.on_event)
        session = await rig.open_session()
        rig.sim.faults.fill_notice_delay_secs = 0.2

        await rig.kis.place_order(market(Side.BUY, 4))
        await rig.venue.run_until_close(session)
        await rig.settle(lambda: sum(e.fill.quantity for e in rig.recorder.of(FillReport)) == 4)


async def test_client_limiter_keeps_a_burst_under_the_servers_rate(tmp_path: Path):
    from stock_manager.adapters.broker.kis import KisBroker
    from stock_manager.adapters.broker.kis_sim import KisExchangeSimulator
    from stock_manager.adapters.clock import SystemClock
    from stock_manager.adapters.venues.krx.rules import krx_cost_model
    from tests.kis.sim_support import adapter_config, make_venue

    venue = make_venue(tmp_path / "venue")
    sim = KisExchangeSimulator(venue, mode="real", wall_clock=SystemClock(), pingpong_interval_secs=None)
    await sim.start()
    kis = KisBroker(
        adapter_config(sim, tmp_path / "tokens", rate_limit_per_sec=None),
        clock=SystemClock(),
        market_clock=venue.clock,
        cost_model=krx_cost_model(),
    )
    try:
        await kis.login()
        await anext(aiter(venue.sessions()))
        for _ in range(25):
            await kis.get_price(SAMSUNG)
    finally:
        await kis.close()
        await sim.stop()
        await venue.close()

    assert kis.config.rate_per_sec == 18.0
    assert sim.records.requests_per_tr["FHKST01010100"] == 25  # no call refused with EGW00201, none repeated


async def test_lockstep_replay_hands_every_frame_to_the_handlers_before_the_next_print(tmp_path: Path):
    holder: dict[str, object] = {}

    async def after_broadcast() -> None:
        rig = holder["rig"]
        await rig.frames.wait_for(rig.sim.data_frames_sent)  # type: ignore[attr-defined]

    async with build_rig(tmp_path, sim_kwargs={"after_broadcast": after_broadcast}) as rig:
        holder["rig"] = rig
        seen_at_order: list[int] = []

        async def buy_on_first_print(tick) -> None:
            rig.recorder.ticks.append(tick)
            if len(rig.recorder.ticks) == 1:
                seen_at_order.append(rig.frames.count)
                await rig.kis.place_order(market(Side.BUY, 2))

        await rig.kis.subscribe_order_events(rig.recorder.on_event)
        await rig.kis.subscribe_quotes([SAMSUNG], buy_on_first_print)
        session = await rig.open_session()
        await rig.venue.run_until_close(session)

        assert rig.frames.count == rig.sim.data_frames_sent
        assert sum(e.fill.quantity for e in rig.recorder.of(FillReport)) == 2
        assert seen_at_order == [0]  # the first frame counts as handled only after its handler returned


async def test_order_refused_after_acceptance_arrives_as_a_reject_report(rig: Rig):
    from stock_manager.service_layer.ports.broker import RejectReport

    await rig.kis.subscribe_order_events(rig.recorder.on_event)
    session = await rig.open_session()
    rig.sim.faults.rejected_after_accept = 1

    ack = await rig.kis.place_order(market(Side.BUY, 1))
    await rig.play(session)

    [reject] = rig.recorder.of(RejectReport)
    assert reject.broker_order_number.lstrip("0") == ack.broker_order_number.lstrip("0")
    assert not rig.recorder.of(FillReport)
    [report] = await rig.kis.get_orders(ACCOUNT, FIRST_DAY)
    assert report.state is BrokerOrderState.REJECTED
