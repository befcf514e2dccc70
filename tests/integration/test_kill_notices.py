"""Kill-switch notices on PostgreSQL: the switch's own transaction notifies ``stockbot_kill`` on commit, never on
rollback; the daemon's watcher reads the row as soon as a notice arrives."""

import asyncio
from datetime import UTC, datetime

import pytest

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.kill_listener import PgKillSwitchListener
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory

T0 = datetime(2024, 3, 4, 0, 5, tzinfo=UTC)
pytestmark = pytest.mark.postgres


async def test_set_kill_switch_when_committed_then_listener_hears_at_once_and_not_on_rollback(pg_url):
    engine = create_engine(pg_url)
    listener = PgKillSwitchListener(pg_url)
    await listener.connect()
    try:
        uow_factory = SqlUnitOfWorkFactory(engine)
        async with uow_factory() as uow:  # rolled back: no notice
            await uow.control.set_kill_switch(True, "never committed", "cli", T0, "cancel_open")
        assert await listener.wait(0.3) is False

        async with uow_factory() as uow:
            await uow.control.set_kill_switch(True, "stop", "cli", T0, "cancel_open")
            await uow.commit()
        loop = asyncio.get_running_loop()
        started = loop.time()
        heard = await listener.wait(5.0)
        assert heard and loop.time() - started < 0.5
        async with uow_factory() as uow:
            assert (await uow.control.get_kill_switch()).action == "cancel_open"
    finally:
        await listener.close()
        await engine.dispose()


async def test_listener_when_connection_lost_then_wait_raises_so_the_watcher_keeps_polling(pg_url):
    listener = PgKillSwitchListener(pg_url)
    await listener.connect()
    await listener.close()
    with pytest.raises(RuntimeError, match="not connected"):
        await listener.wait(0.1)


async def test_listener_when_server_unreachable_then_connect_fails_without_showing_the_password():
    listener = PgKillSwitchListener("postgresql+psycopg://stockbot:s3cret@127.0.0.1:1/none")
    with pytest.raises(Exception) as caught:
        await listener.connect(timeout_secs=3)
    assert "s3cret" not in str(caught.value)
