"""Engines: accepted URLs, refusals that never show a password, SQLite settings, one writer at a time."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from stock_manager.adapters.storage.engine import (
    create_engine,
    default_sqlite_url,
    dumps_json,
    normalize_db_url,
    sync_db_url,
)
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.storage import StoredFill

T0 = datetime(2024, 3, 4, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite+aiosqlite:////var/lib/stockbot/stockbot.db", "sqlite+aiosqlite:////var/lib/stockbot/stockbot.db"),
        ("sqlite:///relative/stockbot.db", "sqlite+aiosqlite:///relative/stockbot.db"),
        ("postgresql://bot:pw@db.local:5432/stockbot", "postgresql+psycopg://bot:pw@db.local:5432/stockbot"),
        ("postgres://bot@db.local/stockbot", "postgresql+psycopg://bot@db.local/stockbot"),
        ("postgresql+psycopg://bot@db.local/stockbot", "postgresql+psycopg://bot@db.local/stockbot"),
    ],
)
def test_normalize_db_url_when_supported_then_uses_the_async_driver(given: str, expected: str) -> None:
    assert normalize_db_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("mysql+pymysql://bot:s3cr3t-pw@db.local/stockbot", "'mysql' is not supported"),
        ("postgresql+asyncpg://bot:s3cr3t-pw@db.local/stockbot", "driver 'postgresql+asyncpg' is not supported"),
        ("postgresql://bot:s3cr3t-pw@db.local", "names no database"),
        ("sqlite+aiosqlite://", "in-memory SQLite is not supported"),
        ("sqlite+aiosqlite:///:memory:", "in-memory SQLite is not supported"),
        ("bot:s3cr3t-pw@db.local/stockbot", "not a valid database URL"),
        ("", "not a valid database URL"),
    ],
)
def test_create_engine_when_url_unsupported_then_configuration_error_without_password(given: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_engine(given)

    assert problem in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert caught.value.__cause__ is None  # the parser's message may quote the URL


def test_default_sqlite_url_when_given_a_data_dir_then_points_at_stockbot_db(tmp_path: Path) -> None:
    url = default_sqlite_url(tmp_path / "data")

    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'stockbot.db').as_posix()}"
    assert sync_db_url(url).drivername == "sqlite"
    assert not (tmp_path / "data").exists()  # building a URL touches nothing


async def test_create_engine_when_sqlite_then_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(default_sqlite_url(tmp_path / "new" / "dir"), lock_timeout_ms=1234)
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            ]
    finally:
        await engine.dispose()

    assert pragmas == ["wal", 1, 1234, 2]
    assert (tmp_path / "new" / "dir" / "stockbot.db").is_file()


def test_dumps_json_when_korean_text_and_decimals_then_readable_and_exact() -> None:
    assert (
        dumps_json({"name": "삼성전자", "rate": Decimal("0.000140527")}) == '{"name":"삼성전자","rate":"0.000140527"}'
    )


async def test_add_fill_when_order_id_unknown_then_foreign_key_refuses(uow_factory: SqlUnitOfWorkFactory) -> None:
    fill = Fill("F-1", "1", "005930", Side.BUY, Decimal(1), Decimal(1), Decimal(0), Decimal(0), T0, kst_date(T0))

    with pytest.raises(IntegrityError):
        async with uow_factory() as uow:
            await uow.fills.add(StoredFill(fill, "acct", 999, "notice"), T0)


async def test_second_writer_when_first_holds_a_unit_of_work_then_waits_for_its_commit(db_url: str) -> None:
    # Two engines stand for two processes: the daemon and `stockbot kill`.
    daemon, cli = create_engine(db_url), create_engine(db_url)
    try:
        daemon_factory, cli_factory = SqlUnitOfWorkFactory(daemon), SqlUnitOfWorkFactory(cli)

        async def kill() -> None:
            async with cli_factory() as uow:
                await uow.control.set_kill_switch(True, "operator", "stockbot kill", T0)
                await uow.commit()

        async with daemon_factory() as uow:
            await uow.control.set_kill_switch(False, "daemon start", "daemon", T0)
            waiting = asyncio.create_task(kill())
            await asyncio.sleep(0.3)
            blocked = not waiting.done()
            await uow.commit()
        await asyncio.wait_for(waiting, timeout=10)

        async with daemon_factory() as uow:
            final = await uow.control.get_kill_switch()
    finally:
        await daemon.dispose()
        await cli.dispose()

    assert blocked
    assert (final.active, final.set_by) == (True, "stockbot kill")  # applied after, not lost


async def test_second_writer_when_lock_held_past_its_timeout_then_fails_without_writing(db_url: str) -> None:
    holder, impatient = create_engine(db_url), create_engine(db_url, lock_timeout_ms=200)
    try:
        async with SqlUnitOfWorkFactory(holder)() as held:
            await held.control.set_kill_switch(False, "held", "daemon", T0)
            with pytest.raises(DBAPIError):
                async with SqlUnitOfWorkFactory(impatient)() as uow:
                    await uow.control.set_kill_switch(True, "operator", "stockbot kill", T0)
                    await uow.commit()
            await held.commit()
        async with SqlUnitOfWorkFactory(holder)() as uow:
            final = await uow.control.get_kill_switch()
    finally:
        await holder.dispose()
        await impatient.dispose()

    assert (final.active, final.reason) == (False, "held")
