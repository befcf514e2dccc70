"""Encrypting small cached secrets (the KIS access token) with a key held in the OS credential store.

The file on disk holds only Fernet ciphertext (AES-128-CBC + HMAC-SHA256, `cryptography`); the key lives in
the keyring under `SEALING_KEY_NAME`, created on first use. Without a usable credential store nothing is
sealed (`seal` returns None) and the caller keeps the secret in memory only.
"""

import structlog
from cryptography.fernet import Fernet, InvalidToken

from stock_manager.adapters.secrets.keyring_store import KeyringStore, SecretStoreUnavailable

log = structlog.get_logger("stockbot.secrets")

#: The keyring entry (user name) of the sealing key; not a setting, never listed by `stockbot secrets list`.
SEALING_KEY_NAME = "stockbot-token-cache-key"


class KeyringSealer:
    """Seal and unseal bytes with a Fernet key kept in `store` (the KIS token cache's `TokenSealer`).

    Parameters
    ----------
    store : KeyringStore
        Where the key is kept.
    """

    def __init__(self, store: KeyringStore) -> None:
        self._store = store
        self._fernet: Fernet | None = None
        self._warned = False

    def seal(self, plaintext: bytes) -> str | None:
        """Return `plaintext` encrypted (text), or None when the credential store cannot hold the key."""
        fernet = self._key(create=True)
        return None if fernet is None else fernet.encrypt(plaintext).decode("ascii")

    def unseal(self, sealed: str) -> bytes | None:
        """Return the plaintext of `sealed`, or None when the key is gone or changed, or the text was altered."""
        fernet = self._key(create=False)
        if fernet is None:
            return None
        try:
            return fernet.decrypt(sealed.encode("ascii"))
        except (InvalidToken, ValueError):
            return None

    def _key(self, *, create: bool) -> Fernet | None:
        if self._fernet is not None:
            return self._fernet
        try:
            key = self._store.get(SEALING_KEY_NAME)
            if key is None and create:
                key = Fernet.generate_key().decode("ascii")
                self._store.set(SEALING_KEY_NAME, key)
        except SecretStoreUnavailable as e:
            if not self._warned:
                self._warned = True
                log.warning("secret_sealing_unavailable", error=str(e))
            return None
        if key is None:
            return None
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except ValueError:
            return None  # not a Fernet key: treat as absent (a sealed cache then reads as empty)
        return self._fernet
