"""Where the database is, even when the rest of the configuration is wrong: for ``stockbot kill``.

The kill switch must be settable while the owner's ``.env`` has a mistake in it (a misspelt name, a value
out of range, even bytes that are not UTF-8): the daemon that runs was started before the mistake. Only the
settings that locate the database are read here — ``DB_URL``, ``DATA_DIR`` and ``MODE`` (recorded with the
event) — from the command line, the environment or ``.env`` (undecodable bytes replaced), in that order, the
way `Settings` reads them. Nothing else is validated; the caller says so on the console.
"""

import os
from collections.abc import Mapping
from io import StringIO
from pathlib import Path

import platformdirs
from dotenv import dotenv_values

from stock_manager.config.settings import APP_NAME, Mode, Settings

_LOCATION = ("DB_URL", "DATA_DIR", "MODE")


def location_settings(
    db_url: str | None, env_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return settings with only the database's location (and the mode) taken from the configuration.

    Parameters
    ----------
    db_url : str | None
        ``--db-url``, which wins over everything.
    env_file : Path | None
        The ``.env`` file (default: the one `Settings` reads), read leniently: a missing or unreadable one is
        skipped, undecodable bytes are replaced.
    environ : Mapping[str, str] | None
        The environment (default: this process's).
    """
    environ = os.environ if environ is None else environ
    configured = Settings.model_config.get("env_file")
    env_file = env_file or (Path(configured) if isinstance(configured, str) else None)
    values: dict[str, str] = {}
    if env_file is not None:
        try:
            text = env_file.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            text = ""
        for name, value in dotenv_values(stream=StringIO(text)).items():
            if name.upper() in _LOCATION and value:
                values[name.upper()] = value
    for name, value in environ.items():
        if name.upper() in _LOCATION and value:
            values[name.upper()] = value
    mode = values.get("MODE", "").strip().lower()
    data_dir = values.get("DATA_DIR") or platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return Settings.model_construct(
        db_url=db_url or values.get("DB_URL") or None,
        data_dir=Path(data_dir),
        mode=Mode(mode) if mode in Mode._value2member_map_ else Mode.SIM,
    )
