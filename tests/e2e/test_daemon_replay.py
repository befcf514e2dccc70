"""The daemon trades a replayed real KRX period end to end, on SQLite and PostgreSQL."""

import contextlib
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.positions import positions_from_fills
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.venues import Venue, open_venue
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings
from tests.fakes import as_recorded_all


class ProcessDied(BaseException):
    """The daemon's process ends here (not an Exception: nothing in the daemon may catch it)."""


async def run_replay(tmp_path: Path, db_url: str, **overrides: str):
    settings = replay_settings(tmp_path / "data", db_url, **overrides)
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        broker = SimBroker.attach(settings.sim_state_dir)  # the broker's own records, read-only
        assert broker is not None
        async with storage.uow_factory() as uow:
            orders = [o for day in broker.days for o in await uow.orders.list_for_date(result.account_id, day)]
            fills = await uow.fills.list_for_account(result.account_id)
            settlements = await uow.settlements.list_all(result.account_id)
            events = await uow.events.list_kind("market_close", result.account_id)
    return result, broker, orders, fills, settlements, events


async def test_run_sim_when_period_has_golden_crosses_then_orders_filled_and_recorded(tmp_path, db_url):
    # Act
    result, broker, orders, fills, settlements, closes = await run_replay(tmp_path, db_url)
    # Assert: every session of the period opened and closed, with a stored settlement and event.
    assert [s.trading_date for s in result.settlements] == broker.days
    assert [s.trading_date for s in settlements] == broker.days
    assert len(closes) == len(broker.days)
    # The two golden crosses became limit buys, accepted by the broker and filled.
    assert sorted((o.symbol, o.side.value, o.status) for o in orders) == [
        ("005930", "BUY", OrderStatus.FILLED),
        ("069500", "BUY", OrderStatus.FILLED),
    ]
    assert all(o.broker_order_number and o.ts_sent and o.ts_filled and o.ts_sent <= o.ts_filled for o in orders)
    assert {str(kst_date(o.ts_created)) for o in orders} == {"2023-02-17", "2023-02-23"}
    # Every broker fill is in the database exactly once, with the broker's price and costs.
    broker_fills = [f for day in broker.days for f in await broker.get_fills(broker.account_id, day)]
    assert sorted(
        (f.broker_fill_id, f.quantity, f.price, f.commission_krw)
        for f in as_recorded_all(result.account_id, broker_fills)
    ) == sorted((s.fill.broker_fill_id, s.fill.quantity, s.fill.price, s.fill.commission_krw) for s in fills)
    assert all(s.order_id is not None for s in fills)
    # Positions recomputed from our fills equal the broker's holdings.
    ours = {s: p.quantity for s, p in positions_from_fills(result.account_id, [s.fill for s in fills]).items()}
    theirs = {p.symbol: p.quantity for p in await broker.get_positions(broker.account_id)}
    assert ours == theirs and theirs
    # The period's costs in the settlements add up to the fills' costs, to the won.
    assert sum((s.commission_krw for s in settlements), Decimal(0)) == sum(
        (s.fill.commission_krw for s in fills), Decimal(0)
    )
    # Equity is cash plus holdings at the last close: the broker's cash agrees.
    cash = await broker.get_cash(broker.account_id)
    assert settlements[-1].cash_krw == cash.deposit_krw
    await broker.close()


async def test_run_sim_when_started_again_after_finishing_then_nothing_is_traded_twice(tmp_path, db_url):
    first, broker, first_orders, first_fills, _, _ = await run_replay(tmp_path, db_url)
    await broker.close()

    second, broker, second_orders, second_fills, _, _ = await run_replay(tmp_path, db_url)
    await broker.close()

    assert second.account_id == first.account_id and second.settlements == []
    assert second_orders == first_orders and second_fills == first_fills


async def test_run_sim_when_fresh_then_same_decisions_on_a_new_account(tmp_path, db_url):
    settings = replay_settings(tmp_path / "data", db_url)
    first, broker, first_orders, _, _, _ = await run_replay(tmp_path, db_url)
    await broker.close()

    async with open_storage(settings, upgrade=False) as storage, open_venue(settings, fresh=True) as venue:
        second = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()

    assert second.account_id != first.account_id
    assert sum(s.orders_count for s in second.settlements) == len(first_orders) == 2  # none refused as duplicate


async def test_run_sim_when_killed_after_the_brokers_last_close_then_restart_settles_that_session(tmp_path, db_url):
    # Arrange: the daemon dies right after the broker closed the final session, before the daemon's own close.
    settings = replay_settings(tmp_path / "data", db_url, sim_protocol="direct")
    clock = replay_clock(settings)
    inner = build_sim_broker(settings, clock)
    last_day = inner.days[-1]

    class DiesAtLastClose:
        def __getattr__(self, name):
            return getattr(inner, name)

        async def run_until_close(self, session):
            await inner.run_until_close(session)
            if session.trading_date == last_day:
                raise ProcessDied  # the process is gone; nothing in the daemon handles it

    async with open_storage(settings, upgrade=False) as storage:
        with contextlib.suppress(ProcessDied):
            await build_daemon(
                settings, storage, Venue(DiesAtLastClose(), DiesAtLastClose(), clock), notifier=NullNotifier()
            ).run()
        async with storage.uow_factory() as uow:
            assert await uow.settlements.get(inner.account_id, last_day) is None
    # Act
    result, broker, orders, _, settlements, _ = await run_replay(tmp_path, db_url, sim_protocol="direct")
    await broker.close()
    # Assert: the same account settles the missing session; every session has its settlement.
    assert result.account_id == inner.account_id
    assert [s.trading_date for s in result.settlements] == [last_day]
    assert [s.trading_date for s in settlements] == broker.days
    assert len(orders) == 2
