"""Helpers for the dashboard's tests: a dashboard served from a thread on a free port, a seeded database, the
browser (Debian's Chromium through Playwright), and where screenshots go."""

import asyncio
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.dashboard.app import DashboardConfig, dashboard_config
from stock_manager.entrypoints.dashboard.server import bind, make_server

CHROMIUM = Path(os.environ.get("STOCKBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def config_for(db_url: str, data_dir: Path, **overrides: Any) -> DashboardConfig:
    """Return a dashboard configuration on `db_url` (port 0: any free port), with `overrides`."""
    settings = load_settings(db_url=db_url, data_dir=data_dir, mode="sim", sim_symbols="005930,069500")
    config = dashboard_config(settings, host="127.0.0.1")
    values = {field: getattr(config, field) for field in config.__dataclass_fields__}
    values.update({"port": 0, "live_interval_secs": 0.2, **overrides})
    return DashboardConfig(**values)


@contextlib.contextmanager
def serving(config: DashboardConfig) -> Iterator[str]:
    """Serve the dashboard from a thread of this process; yield its base URL (no trailing slash)."""
    sock = bind(config)
    server = make_server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def chromium_or_skip() -> Path:
    """Return the browser; skip (outside CI) or fail (``CI=true``) when it or Playwright is missing."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        problem = f"Playwright is not installed ({e})"
    if problem is None and not CHROMIUM.exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem}; CI=true requires the browser tests to run", pytrace=False)
        pytest.skip(problem)
    return CHROMIUM


def artifacts_dir(factory: pytest.TempPathFactory) -> Path:
    """Return the directory for screenshots: ``STOCKBOT_ARTIFACTS_DIR`` when set, else a pytest temp dir."""
    configured = os.environ.get("STOCKBOT_ARTIFACTS_DIR")
    path = Path(configured) / "dashboard" if configured else factory.mktemp("dashboard-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_sqlite(source: Path, target_dir: Path) -> str:
    """Copy an SQLite database (with its WAL) into `target_dir`; return its async URL."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "stockbot.db"
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if source.with_name(source.name + suffix).exists():
            shutil.copyfile(source.with_name(source.name + suffix), target.with_name(target.name + suffix))
    return f"sqlite+aiosqlite:///{target.as_posix()}"
