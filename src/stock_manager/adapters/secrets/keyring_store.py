"""Secrets in the operating system's credential store, through the `keyring` library.

Windows Credential Manager on the owner's box, the macOS Keychain, the Secret Service (GNOME Keyring, KWallet)
on Linux. Each secret is kept under a *service* (``KEYRING_SERVICE``, default ``stockbot``) with the setting's
name as the user name (``KIS_APP_SECRET``), so the credential manager shows ``KIS_APP_SECRET@stockbot``.

`keyring` picks the backend itself; ``PYTHON_KEYRING_BACKEND`` overrides it (the tests use an in-memory one;
``keyring.backends.null.Keyring`` turns the store off). A store that is missing or fails raises
`SecretStoreUnavailable`, never the backend's own exception, and never with a value in its message.
"""

import keyring
import keyring.errors

from stock_manager.domain.errors import StockbotError

DEFAULT_SERVICE = "stockbot"


class SecretStoreUnavailable(StockbotError):
    """The credential store cannot be used here (no backend, locked, refused); the message says which backend."""


def backend_name() -> str:
    """Return the name of the keyring backend in use (``WinVaultKeyring``, ``Keyring`` of ``macOS``, …)."""
    backend = keyring.get_keyring()
    module = type(backend).__module__.removeprefix("keyring.backends.")
    return f"{module}.{type(backend).__name__}"


class KeyringStore:
    """Get, set and delete secrets by setting name under one keyring service.

    Parameters
    ----------
    service : str
        The keyring service name (``KEYRING_SERVICE``); a second name keeps a second set of keys apart
        (paper and live from different directories, for instance).
    """

    def __init__(self, service: str = DEFAULT_SERVICE) -> None:
        self.service = service or DEFAULT_SERVICE

    def get(self, name: str) -> str | None:
        """Return the secret stored as `name`, or None when there is none.

        Raises
        ------
        SecretStoreUnavailable
            When the store cannot be read.
        """
        try:
            value = keyring.get_password(self.service, name)
        except Exception as e:  # any backend failure (no backend, locked, D-Bus gone): one error type
            raise SecretStoreUnavailable(self._problem("read", name, e)) from None
        return value or None

    def set(self, name: str, value: str) -> None:
        """Store `value` as `name` (replacing what was there).

        Raises
        ------
        SecretStoreUnavailable
            When the store cannot be written (including a backend that silently keeps nothing).
        ValueError
            If `value` is empty.
        """
        if not value:
            raise ValueError("an empty secret is not stored")
        try:
            keyring.set_password(self.service, name, value)
            kept = keyring.get_password(self.service, name)
        except Exception as e:
            raise SecretStoreUnavailable(self._problem("write", name, e)) from None
        if kept != value:
            raise SecretStoreUnavailable(
                f"the credential store ({backend_name()}) did not keep {name} under {self.service!r}"
            )

    def delete(self, name: str) -> bool:
        """Remove `name`; return False when it was not there.

        Raises
        ------
        SecretStoreUnavailable
            When the store cannot be changed.
        """
        try:
            if keyring.get_password(self.service, name) is None:
                return False
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as e:
            raise SecretStoreUnavailable(self._problem("change", name, e)) from None
        return True

    def _problem(self, verb: str, name: str, error: BaseException) -> str:
        # The backend's message names the backend or the failure, never a value (none is passed to it here
        # except on `set`, whose failures are described by type only).
        detail = type(error).__name__ if verb == "write" else f"{type(error).__name__}: {error}"
        return (
            f"cannot {verb} {name} in the OS credential store ({backend_name()}, service {self.service!r}): "
            f"{detail.splitlines()[0] if detail else ''}"
        )
