"""Secrets in the OS credential store: set, rotate, delete (each an audit event, never with the value) and
where each one comes from. The commands are ``stockbot secrets`` (`cli_secrets`).

Rotating ``KIS_APP_KEY`` or ``KIS_APP_SECRET`` also drops the cached KIS access tokens (`drop_cached_tokens`):
the next login of the daemon — its next start — reads the new key and is issued a new token.
"""

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from stock_manager.adapters.broker.kis.token_cache import drop_cached_tokens
from stock_manager.adapters.observability.masking import register_secret
from stock_manager.adapters.secrets.keyring_store import KeyringStore, backend_name
from stock_manager.config.secret_sources import KIS_CREDENTIALS, SECRET_SETTINGS, SecretOrigin, secret_origins
from stock_manager.config.settings import Settings
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.audit import record_control_action
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class SecretChange:
    """What a set, rotation or deletion did (no value)."""

    name: str
    service: str
    tokens_dropped: int = 0
    shadowed_by: str | None = None  # where a value that wins over the keyring's comes from


def env_file() -> Path | None:
    """Return the ``.env`` file the settings read (relative to the working directory)."""
    configured = Settings.model_config.get("env_file")
    return Path(configured) if isinstance(configured, str) else None


def secret_name(name: str) -> str:
    """Return `name` as a secret setting's name (upper case).

    Raises
    ------
    ConfigurationError
        For a name that is not one of `SECRET_SETTINGS` (with the closest one when there is one).
    """
    upper = name.strip().upper()
    if upper in SECRET_SETTINGS:
        return upper
    close = difflib.get_close_matches(upper, SECRET_SETTINGS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f"; one of {', '.join(SECRET_SETTINGS)}"
    raise ConfigurationError(f"{name} is not a secret stockbot keeps{hint}")


def checked_value(name: str, value: str) -> str:
    """Return `value` without surrounding whitespace, registered for masking at once.

    Raises
    ------
    ConfigurationError
        If it is empty or holds spaces or line breaks (never echoing it).
    """
    value = value.strip()
    register_secret(value)
    if not value:
        raise ConfigurationError(f"no value was given for {name}; nothing stored")
    if any(c.isspace() for c in value):
        raise ConfigurationError(f"the value given for {name} holds spaces or line breaks; nothing stored")
    return value


def origins(settings: Settings) -> tuple[list[SecretOrigin], str | None]:
    """Return where each secret comes from, and why the credential store could not be read (or None)."""
    return secret_origins(env_file(), os.environ, KeyringStore(settings.keyring_service))


def describe_store(settings: Settings) -> str:
    """Return the credential store in use, as shown to the owner (backend and service)."""
    return f"{backend_name()}, service {settings.keyring_service!r}"


def _shadowed_by(settings: Settings, name: str) -> str | None:
    found, _ = origins(settings)
    source = next(o.source for o in found if o.name == name)
    return None if source in ("keyring", "missing") else source


async def store_secret(
    settings: Settings, uow_factory: UnitOfWorkFactory, name: str, value: str, *, rotate: bool = False
) -> SecretChange:
    """Store `value` as `name` in the credential store and record ``secret_set`` (or ``secret_rotated``).

    A rotation of a KIS key drops the cached access tokens.

    Raises
    ------
    ConfigurationError
        When rotating a secret the environment or ``.env`` sets (the keyring's value would not be used).
    SecretStoreUnavailable
        When the credential store cannot be written.
    """
    store = KeyringStore(settings.keyring_service)
    shadowed_by = _shadowed_by(settings, name)
    if rotate and shadowed_by is not None:
        raise ConfigurationError(
            f"{name} comes from {shadowed_by}, which wins over the credential store: remove "
            "it there, then `stockbot secrets set` it"
        )
    store.set(name, value)
    dropped = drop_cached_tokens(settings.kis_token_cache_path) if rotate and name in KIS_CREDENTIALS else 0
    verb = "rotated" if rotate else "set"
    async with uow_factory() as uow:
        await record_control_action(
            uow,
            kind=f"secret_{verb}",
            message=f"secret {name} {verb} in the OS credential store"
            + (f"; {dropped} cached KIS token(s) dropped" if dropped else ""),
            payload={"name": name, "service": store.service, "tokens_dropped": dropped},
        )
        await uow.commit()
    return SecretChange(name, store.service, dropped, shadowed_by)


async def delete_secret(settings: Settings, uow_factory: UnitOfWorkFactory, name: str) -> bool:
    """Remove `name` from the credential store and record ``secret_deleted``; False when it was not there.

    Raises
    ------
    SecretStoreUnavailable
        When the credential store cannot be changed.
    """
    store = KeyringStore(settings.keyring_service)
    if not store.delete(name):
        return False
    async with uow_factory() as uow:
        await record_control_action(
            uow,
            kind="secret_deleted",
            message=f"secret {name} deleted from the OS credential store",
            payload={"name": name, "service": store.service},
        )
        await uow.commit()
    return True
