"""Helpers for end-to-end tests: settings for a replay, running the daemon in-process or as `stockbot`."""

import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from stock_manager.adapters.storage.engine import sync_db_url
from stock_manager.config.settings import Settings, load_settings

#: A short stretch of 2023 with two golden-cross entries (005930 on 2023-02-17, 069500 on 2023-02-23).
PERIOD = (date(2023, 2, 13), date(2023, 3, 3))
SYMBOLS = "005930,069500"


def replay_settings(data_dir: Path, db_url: str, **overrides: Any) -> Settings:
    """Return settings for the test period on the given database."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "db_url": db_url,
        "sim_from": PERIOD[0],
        "sim_to": PERIOD[1],
        "sim_symbols": SYMBOLS,
        "mode": "sim",
    }
    values.update(overrides)
    return load_settings(**values)


def cli_env(data_dir: Path, db_url: str, **extra: str) -> dict[str, str]:
    """Return the environment for a `stockbot` subprocess on this data dir and database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIM_", "DB_URL", "DATA_DIR", "MODE", "LOG_DIR", "SLACK_", "METRICS_"))
    }
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "DB_URL": db_url,
            "LOG_DIR": str(data_dir / "logs"),
            "SIM_FROM": PERIOD[0].isoformat(),
            "SIM_TO": PERIOD[1].isoformat(),
            "SIM_SYMBOLS": SYMBOLS,
            "MODE": "sim",
            "PYTHONIOENCODING": "utf-8",
            **extra,
        }
    )
    return env


def stockbot(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 120, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stock_manager <args>`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "stock_manager", *args],
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=input_text,
        check=False,
    )


def start_stockbot(*args: str, env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m stock_manager <args>`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "stock_manager", *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def dump_database(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, ordered by primary key (to prove a command changed nothing)."""
    engine = create_sync_engine(sync_db_url(db_url))
    try:
        with engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
                for name, table in sorted(tables.metadata.tables.items())
            }
    finally:
        engine.dispose()


def query(db_url: str, statement: Any) -> list[Any]:
    """Run one SQLAlchemy Core statement on a sync connection and return its rows."""
    engine = create_sync_engine(sync_db_url(db_url))
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement))
    finally:
        engine.dispose()
