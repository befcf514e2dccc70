"""Where each secret setting comes from: the environment, ``.env``, or the OS credential store (keyring).

Secrets (`SECRET_SETTINGS`) are read from the environment and ``.env`` first, as every setting is; one that is
set in neither is read from the keyring (`KeyringSettingsSource`, service ``KEYRING_SERVICE``). `secret_origins`
says where each one comes from (for ``stockbot secrets list``: names and places, never values), and
`exposed_dotenv_warning` names a ``.env`` that holds a secret where others can read it.
"""

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from stock_manager.adapters.secrets.keyring_store import DEFAULT_SERVICE, KeyringStore, SecretStoreUnavailable
from stock_manager.config.dotenv_check import read_dotenv

#: The settings kept as secrets, as written in ``.env`` and the credential store.
SECRET_SETTINGS = (
    "KIS_APP_KEY",
    "KIS_APP_SECRET",
    "UPBIT_ACCESS_KEY",
    "UPBIT_SECRET_KEY",
    "SLACK_BOT_TOKEN",
    "AI_API_KEY",
)
#: Secrets whose rotation drops the cached KIS access tokens (tokens issued with the old key).
KIS_CREDENTIALS = frozenset({"KIS_APP_KEY", "KIS_APP_SECRET"})


class KeyringSettingsSource(PydanticBaseSettingsSource):
    """**Settings source:** the secrets not set by an earlier source (arguments, environment, ``.env``), read from
    the keyring. A credential store that cannot be read counts as empty (the setting is then missing)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Not used: `__call__` reads every secret at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return ``{field: value}`` for the secrets found in the keyring and set nowhere else."""
        given = self.current_state
        wanted = [name for name in SECRET_SETTINGS if not given.get(name.lower())]
        if not wanted:
            return {}
        store = KeyringStore(str(given.get("keyring_service") or DEFAULT_SERVICE))
        found: dict[str, Any] = {}
        for name in wanted:
            try:
                value = store.get(name)
            except SecretStoreUnavailable:
                return found  # no store here: every remaining secret is simply not set
            if value:
                found[name.lower()] = value
        return found


@dataclass(frozen=True, slots=True)
class SecretOrigin:
    """Where one secret setting comes from: ``environment``, ``.env line N``, ``keyring`` or ``missing``."""

    name: str
    source: str
    shadows_keyring: bool = False  # set in the environment or .env while the keyring holds one too


def dotenv_secrets(path: Path | None) -> dict[str, int]:
    """Return the secret settings given a non-empty value in the ``.env`` file at `path`, with their lines."""
    if path is None or not path.is_file():
        return {}
    try:
        values = {name.upper(): value for name, value in dotenv_values(path, encoding="utf-8").items()}
        lines = {entry.name.upper(): entry.line for entry in read_dotenv(path) or [] if entry.name is not None}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return {name: lines.get(name, 0) for name in SECRET_SETTINGS if values.get(name)}


def secret_origins(
    env_file: Path | None, environ: Mapping[str, str], store: KeyringStore
) -> tuple[list[SecretOrigin], str | None]:
    """Return where each of `SECRET_SETTINGS` comes from, and why the keyring could not be read (or None).

    The order of precedence is the settings': the environment, then ``.env``, then the keyring.
    """
    upper_environ = {name.upper(): value for name, value in environ.items()}
    in_file = dotenv_secrets(env_file)
    problem = None
    origins = []
    for name in SECRET_SETTINGS:
        in_keyring = False
        if problem is None:
            try:
                in_keyring = store.get(name) is not None
            except SecretStoreUnavailable as e:
                problem = str(e)
        if upper_environ.get(name):
            origins.append(SecretOrigin(name, "environment", shadows_keyring=in_keyring))
        elif name in in_file:
            origins.append(SecretOrigin(name, f"{env_file} line {in_file[name]}", shadows_keyring=in_keyring))
        else:
            origins.append(SecretOrigin(name, "keyring" if in_keyring else "missing"))
    return origins, problem


def exposed_dotenv_warning(env_file: Path | None) -> str | None:
    """Return a one-line warning when the ``.env`` at `env_file` holds a secret and is readable by other users
    (POSIX mode: group or others may read it) or lies inside a git work tree; None otherwise."""
    names = dotenv_secrets(env_file)
    if env_file is None or not names:
        return None
    reasons = []
    if os.name == "posix":
        mode = stat.S_IMODE(env_file.stat().st_mode)
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            reasons.append(f"readable by other users (mode {mode:o})")
    if (tree := git_work_tree(env_file)) is not None:
        reasons.append(f"inside the git work tree {tree}")
    if not reasons:
        return None
    return (
        f"{env_file} holds {', '.join(names)} and is {' and '.join(reasons)}: move them to the OS credential "
        "store with `stockbot secrets set NAME` and delete the lines"
    )


def git_work_tree(path: Path) -> Path | None:
    """Return the git work tree holding `path` (a directory with ``.git`` above it), or None."""
    for directory in path.resolve().parents:
        if (directory / ".git").exists():
            return directory
    return None
