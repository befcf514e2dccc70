"""An in-memory `keyring` backend, so no test ever reads or writes the OS credential store.

The root ``conftest`` installs a fresh one for every test (`keyring.set_keyring`) and points subprocesses at
``keyring.backends.null.Keyring`` (``PYTHON_KEYRING_BACKEND``): a `stockbot` started by a test finds no keys
there, whatever the developer's own credential store holds.
"""

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict: ``values[(service, username)]``."""

    priority = 1  # type: ignore[assignment]  # keyring reads it as a class property; a constant will do

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        """Return the stored password, or None."""
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store `password`."""
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        """Remove the password; raise `PasswordDeleteError` when there is none (as real backends do)."""
        try:
            del self.values[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username}@{service}") from None


class BrokenKeyring(KeyringBackend):
    """A keyring whose every call fails, as a locked or absent credential store does."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        """Fail."""
        from keyring.errors import KeyringLocked

        raise KeyringLocked("the credential store is locked")

    set_password = delete_password = get_password  # type: ignore[assignment]
