"""Kill switches per venue: ``stockbot kill`` stops every daemon; ``kill --venue upbit`` only the Upbit daemon
(and a daemon's own stop, such as its daily loss limit, only itself); each daemon honours the ``*`` switch and
its venue's; ``resume`` clears them all, ``resume --venue`` one."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.entrypoints.control import set_kill_switch


async def switches(engine: AsyncEngine) -> dict[str, bool]:
    seen = {}
    for scope in ("krx", "upbit"):
        async with SqlUnitOfWorkFactory(engine, kill_scope=scope)() as uow:
            seen[scope] = (await uow.control.get_kill_switch()).active
    return seen


async def test_kill_when_scoped_to_a_venue_then_only_that_venues_daemon_sees_it(db_engine: AsyncEngine):
    cli = SqlUnitOfWorkFactory(db_engine)

    await set_kill_switch(cli, active=True, reason="btc only", scope="upbit")
    only_upbit = await switches(db_engine)
    await set_kill_switch(cli, active=True, reason="everything")
    everything = await switches(db_engine)
    cleared = await set_kill_switch(cli, active=False, reason="stockbot resume")
    after_resume = await switches(db_engine)

    assert only_upbit == {"krx": False, "upbit": True}
    assert everything == {"krx": True, "upbit": True}
    assert sorted(cleared) == ["*", "upbit"] and after_resume == {"krx": False, "upbit": False}


async def test_a_daemons_own_switch_when_set_then_it_stops_itself_and_a_scoped_resume_clears_only_it(
    db_engine: AsyncEngine,
):
    upbit_daemon = SqlUnitOfWorkFactory(db_engine, kill_scope="upbit")
    async with upbit_daemon() as uow:  # as the daemon does for its daily loss stop
        await uow.control.set_kill_switch(True, "daily loss limit", "daemon", datetime(2024, 3, 1, tzinfo=UTC))
        await uow.commit()
    await set_kill_switch(SqlUnitOfWorkFactory(db_engine), active=True, reason="stocks too", scope="krx")

    stopped = await switches(db_engine)
    await set_kill_switch(SqlUnitOfWorkFactory(db_engine), active=False, reason="resume btc", scope="upbit")
    async with upbit_daemon() as uow:
        listed = {s.scope: s.active for s in await uow.control.list_kill_switches()}

    assert stopped == {"krx": True, "upbit": True}
    assert listed == {"krx": True, "upbit": False}
