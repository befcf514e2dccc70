"""Fixtures of the dashboard's tests: a database seeded by a real sim run (the replay of
`tests.e2e.test_daemon_replay`), the browser, and the screenshot directory (printed at the end of the run)."""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stock_manager.adapters.storage.migrate import upgrade_to_head_sync
from tests.dashboard.seed import seed_both_venues
from tests.dashboard.support import CHROMIUM_ARGS, artifacts_dir, chromium_or_skip, copy_sqlite
from tests.e2e.test_daemon_replay import run_replay

_SHOTS: list[Path] = []


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an SQLite file holding a finished sim run of 2023-02-13 → 2023-03-03 (two golden-cross buys)."""
    root = tmp_path_factory.mktemp("seeded")
    path = root / "stockbot.db"
    url = f"sqlite+aiosqlite:///{path.as_posix()}"
    upgrade_to_head_sync(url)

    async def seed() -> None:
        _, broker, orders, fills, _, _ = await run_replay(root, url)
        await broker.close()
        assert len(orders) == 2 and len(fills) == 2

    # In a thread of its own: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed()).result()
    return path


@pytest.fixture(scope="session")
def seeded_venues(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an SQLite file where both venues traded: the KRX sim run of 2023-02-13 → 2023-03-03 with the
    keyless nightly AI jobs (14 journals, two VALIDATED drafts), then an Upbit sim run of 2024-03-01 → 03 with its
    journals (`tests.dashboard.seed`)."""
    root = tmp_path_factory.mktemp("seeded-venues")
    path = root / "stockbot.db"
    url = f"sqlite+aiosqlite:///{path.as_posix()}"
    upgrade_to_head_sync(url)
    with ThreadPoolExecutor(1) as pool:  # a thread of its own, as `seeded_sqlite`
        pool.submit(asyncio.run, seed_both_venues(root / "data", url)).result()
    return path


@pytest.fixture(scope="session")
def seeded_venues_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the name of a PostgreSQL database seeded as `seeded_venues` (a template: copy it per test)."""
    from tests.conftest import _create_pg_database, _drop_pg_database, _pg_database_url, require_postgres

    require_postgres()
    name = _create_pg_database()
    try:
        url = _pg_database_url(name)
        upgrade_to_head_sync(url)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(
                asyncio.run, seed_both_venues(tmp_path_factory.mktemp("seeded-venues-pg") / "data", url)
            ).result()
        yield name
    finally:
        _drop_pg_database(name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def venues_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a fresh copy of the database where both venues traded, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield copy_sqlite(request.getfixturevalue("seeded_venues"), tmp_path / "db")
        return
    from tests.conftest import _create_pg_database, _drop_pg_database, _pg_database_url

    name = _create_pg_database(template=request.getfixturevalue("seeded_venues_pg"))
    try:
        yield _pg_database_url(name)
    finally:
        _drop_pg_database(name)


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the screenshot directory (listed in the terminal summary)."""
    path = artifacts_dir(tmp_path_factory)
    _SHOTS.append(path)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Yield a headless Chromium (Debian's) driven by Playwright; skipped or failed as `chromium_or_skip` says.

    Module-scoped: while Playwright's sync API is open it runs an event loop in the main thread, so it must be
    closed before any later module's asyncio test runs.
    """
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the dashboard's screenshots are."""
    for path in _SHOTS:
        count = len(list(path.glob("*.png")))
        terminalreporter.write_line(f"dashboard screenshots ({count}): {path}")
