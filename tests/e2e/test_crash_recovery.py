"""A daemon that dies at the worst moments and is started again finishes the period with no duplicate
order and no lost fill: the same orders and fills as a run that never died."""

from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.venues import Venue, open_venue
from stock_manager.service_layer.ports.broker import FillReport
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings
from tests.fakes import as_recorded_all


class SimulatedCrash(BaseException):
    """The process dies here (not an Exception: nothing in the daemon may catch it)."""


class CrashingBroker:
    """The replaying broker, with the daemon 'dying' right after one chosen step succeeded at the broker."""

    def __init__(self, inner: SimBroker, crash: str) -> None:
        self._inner = inner
        self._crash = crash

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def place_order(self, request):
        ack = await self._inner.place_order(request)  # the broker holds the order now
        if self._crash == "after_place":
            raise SimulatedCrash("died between the broker's acknowledgement and recording it")
        return ack

    async def subscribe_order_events(self, handler):
        async def dying_handler(event):
            if self._crash == "on_fill" and isinstance(event, FillReport):
                raise SimulatedCrash("died as the fill notice arrived, before recording it")
            await handler(event)

        await self._inner.subscribe_order_events(dying_handler)


async def run_to_end(settings, *, crash: str | None = None):
    async with open_storage(settings, upgrade=False) as storage:
        if crash is None:
            async with open_venue(settings) as venue:
                return await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        clock = replay_clock(settings)
        broker = CrashingBroker(build_sim_broker(settings, clock), crash)
        return await build_daemon(settings, storage, Venue(broker, broker, clock), notifier=NullNotifier()).run()


async def ledger(settings) -> dict[str, Any]:
    """Our records and the broker's, in comparable form."""
    async with open_storage(settings, upgrade=False) as storage:
        broker = SimBroker.attach(settings.sim_state_dir)
        assert broker is not None
        account = broker.account_id
        broker_orders = [o for day in broker.days for o in await broker.get_orders(account, day)]
        broker_fills = [f for day in broker.days for f in await broker.get_fills(account, day)]
        await broker.close()
        async with storage.uow_factory() as uow:
            fills = await uow.fills.list_for_account(account)
            orders = [
                o
                for s in await uow.settlements.list_all(account)
                for o in await uow.orders.list_for_date(account, s.trading_date)
            ]
            adopted = await uow.events.list_kind("recovery_adopted", account)
    return {
        "orders": sorted((o.idempotency_key.split(":", 1)[1], o.status.value, o.filled_quantity) for o in orders),
        "order_numbers": sorted(o.broker_order_number for o in orders),
        "broker_order_numbers": sorted(o.broker_order_number for o in broker_orders),
        "fills": sorted((s.fill.broker_fill_id, s.fill.quantity, s.fill.price) for s in fills),
        "broker_fills": sorted((f.broker_fill_id, f.quantity, f.price) for f in as_recorded_all(account, broker_fills)),
        "adopted": len(adopted),
    }


@pytest.mark.parametrize("crash", ["after_place", "on_fill"])
async def test_restart_when_daemon_died_at_order_or_fill_then_same_orders_and_fills_as_uninterrupted(
    tmp_path: Path, db_url: str, crash: str
):
    # Arrange: the reference run never dies (its own data dir and database file).
    # The daemon's own crash recovery, on the replay in-process (the protocol's faults: tests/e2e/test_fault_*).
    reference = replay_settings(
        tmp_path / "ref", f"sqlite+aiosqlite:///{(tmp_path / 'ref.db').as_posix()}", sim_protocol="direct"
    )
    await run_to_end(reference)
    settings = replay_settings(tmp_path / "crash", db_url, sim_protocol="direct")
    # Act: die once at the chosen moment, then start again and run to the end.
    with pytest.raises(SimulatedCrash):
        await run_to_end(settings, crash=crash)
    result = await run_to_end(settings)
    # Assert
    expected, actual = await ledger(reference), await ledger(settings)
    assert result.settlements, "the restarted daemon continued the period"
    assert actual["orders"] == expected["orders"]  # same decisions, same final states
    assert actual["order_numbers"] == actual["broker_order_numbers"]  # the broker got each order once
    assert actual["fills"] == actual["broker_fills"] == expected["fills"]  # every fill, once
    if crash == "after_place":
        assert actual["adopted"] == 1  # found at the broker by its shape and adopted
