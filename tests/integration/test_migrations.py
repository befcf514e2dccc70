"""Alembic migrations: they build exactly tables.py, run once, and can run concurrently."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, String, inspect, text

from stock_manager.adapters.storage.engine import create_migration_engine
from stock_manager.adapters.storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrations_dir,
    upgrade_to_head,
    upgrade_to_head_sync,
)
from stock_manager.adapters.storage.tables import metadata

REPO_ROOT = Path(__file__).resolve().parents[2]


def _normalised_default(default: str | None) -> str | None:
    # Reflection renders '' as "('')" on SQLite and "''::text" on PostgreSQL.
    if default is None:
        return None
    default = default.strip()
    while default.startswith("(") and default.endswith(")"):
        default = default[1:-1].strip()
    return default.split("::")[0].strip("'")


def _compare_defaults(
    _context: object, _inspected: object, _metadata: object, inspected: str | None, _m: object, rendered: str | None
) -> bool:
    return _normalised_default(inspected) != _normalised_default(rendered)


def _compare_types(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # SQLite keeps text whatever VARCHAR length is declared (0012 widened order numbers only where it matters).
    if (
        context.dialect.name == "sqlite"
        and isinstance(inspected_type, String)
        and isinstance(metadata_type, String)
        and type(metadata_type).__name__ in ("String", "VARCHAR")
    ):
        return False
    return None  # Alembic's own comparison


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": _compare_types, "compare_server_default": _compare_defaults}
    )
    return compare_metadata(context, metadata)


def _with_connection[T](db_url: str, work: Any) -> T:
    engine = create_migration_engine(db_url)
    try:
        with engine.connect() as connection:
            return work(connection)
    finally:
        engine.dispose()


def _constraint_names(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    names: dict[str, set[str]] = {}
    for table in metadata.sorted_tables:
        found = {inspector.get_pk_constraint(table.name)["name"]}
        found |= {c["name"] for c in inspector.get_check_constraints(table.name)}
        found |= {c["name"] for c in inspector.get_unique_constraints(table.name)}
        found |= {c["name"] for c in inspector.get_foreign_keys(table.name)}
        found |= {i["name"] for i in inspector.get_indexes(table.name) if not i.get("duplicates_constraint")}
        names[table.name] = found
    return names


def _expected_constraint_names() -> dict[str, set[str]]:
    return {
        table.name: {c.name for c in table.constraints} | {i.name for i in table.indexes}  # type: ignore[misc]
        for table in metadata.sorted_tables
    }


async def test_upgrade_when_database_empty_then_schema_equals_tables_metadata(empty_db_url: str) -> None:
    await upgrade_to_head(empty_db_url)

    differences = _with_connection(empty_db_url, _differences)
    names = _with_connection(empty_db_url, _constraint_names)

    assert differences == []
    assert names == _expected_constraint_names()
    assert current_revision(empty_db_url) == head_revision()


def test_upgrade_when_already_at_head_then_changes_nothing(db_url: str) -> None:
    def insert_event(connection: Connection) -> None:
        connection.execute(
            text(
                "INSERT INTO events (ts_event, kind, severity, message, payload) "
                "VALUES ('2024-03-04 00:00:00+00:00', 'k', 'INFO', 'kept', '{}')"
            )
        )
        connection.commit()

    _with_connection(db_url, insert_event)

    upgrade_to_head_sync(db_url)
    upgrade_to_head_sync(db_url)

    assert current_revision(db_url) == head_revision()
    assert _with_connection(db_url, lambda c: c.execute(text("SELECT message FROM events")).scalars().all()) == ["kept"]


def test_upgrade_when_two_processes_race_then_both_succeed(empty_db_url: str) -> None:
    start_at = time.time() + 1.5  # both are imported and waiting by then
    script = (
        "import sys, time\n"
        "from stock_manager.adapters.storage.migrate import upgrade_to_head_sync\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "upgrade_to_head_sync(sys.argv[1])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db_url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), p.communicate()[1]) for p in processes]

    assert [code for code, _ in results] == [0, 0], "\n".join(err for _, err in results)
    assert current_revision(empty_db_url) == head_revision()


def test_upgrade_when_called_from_two_threads_then_both_succeed(empty_db_url: str) -> None:
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_to_head_sync(empty_db_url)
        except BaseException as e:  # collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert current_revision(empty_db_url) == head_revision()


def test_downgrade_when_at_head_then_removes_everything_and_upgrades_again(db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "base")
    tables_after_downgrade = _with_connection(db_url, lambda c: set(inspect(c).get_table_names()))

    upgrade_to_head_sync(db_url)

    assert tables_after_downgrade <= {"alembic_version"}
    assert _with_connection(db_url, _differences) == []


def test_migrations_dir_when_running_from_checkout_then_is_the_repository_migrations() -> None:
    assert migrations_dir() == REPO_ROOT / "migrations"
    assert (migrations_dir() / "versions" / "0001_initial_schema.py").is_file()


def test_alembic_cli_when_given_an_async_sqlite_url_then_upgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'cli.db').as_posix()}"
    environment = {k: v for k, v in os.environ.items() if k != "DB_URL"}

    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"db_url={url}", "upgrade", "head"],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert current_revision(url) == head_revision()
