"""The KIS access-token cache: one file per (mode, app key, app secret), the token sealed, reused across restarts.

Source: ../reference/kis-openapi.md §9 (disk cache; one issuance per minute survives restarts). The file is
JSON written atomically with mode 600: ``issued_at`` in clear (not a secret: it keeps the one-per-minute rule
across restarts) and the token itself

- sealed (``"sealed"``: ciphertext from a `TokenSealer`, whose key is kept in the OS credential store) when a
  sealer is given — paper and live; a cache file alone never gives the token away;
- in clear (``"access_token"``) only without a sealer: the local simulator's tokens and the adapter's tests.

The file name carries a SHA-256 of the mode, app key and app secret, never a key: a rotated secret gets a new
file, so a token issued with the old one is never read back. `drop_cached_tokens` empties every file of a
directory (``stockbot secrets rotate``).
"""

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

CACHE_GLOB = "kis-token-*.json"


class TokenSealer(Protocol):
    """Encrypts the cached token (`stock_manager.adapters.secrets.sealing.KeyringSealer`)."""

    def seal(self, plaintext: bytes) -> str | None:
        """Return ciphertext, or None when nothing can be sealed now (the token is then not cached)."""
        ...

    def unseal(self, sealed: str) -> bytes | None:
        """Return the plaintext, or None when it cannot be opened (key gone or changed)."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token with its expiry and issuance times (aware UTC)."""

    value: str
    expires_at: datetime
    issued_at: datetime


class TokenCache:
    """One JSON file per (mode, app key, app secret) in `directory`, written atomically with file mode 600.

    On Windows, where POSIX modes mean little, the privacy of a sealed token comes from the credential
    store's key, and the file sits in the user's own data directory. The file keeps the last issuance time
    after a token is invalidated, so the one-per-minute rule survives restarts.
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        app_key: str,
        mode: str,
        app_secret: str = "",
        sealer: TokenSealer | None = None,
    ) -> None:
        digest = hashlib.sha256(f"{mode}:{app_key}:{app_secret}".encode()).hexdigest()[:20]
        self.path = None if directory is None else directory / f"kis-token-{mode}-{digest}.json"
        self._sealer = sealer
        self._unsealed_warned = False

    def load(self) -> tuple[AccessToken | None, datetime | None]:
        """Return (token or None, last issuance time or None); an unreadable file counts as empty."""
        if self.path is None or not self.path.exists():
            return None, None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            issued = datetime.fromisoformat(data["issued_at"]) if data.get("issued_at") else None
            secret = self._open(data)
            if secret is None or not secret.get("access_token") or issued is None:
                return None, issued
            token = AccessToken(secret["access_token"], datetime.fromisoformat(secret["expires_at"]), issued)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("kis_token_cache_unreadable", path=str(self.path), error=type(e).__name__)
            return None, None
        if "access_token" in data and self._sealer is not None:
            self.save(token, issued)  # a clear token from before sealing: seal it (or drop it) now
        return token, issued

    def save(self, token: AccessToken | None, issued_at: datetime | None) -> None:
        """Write the token (or only the issuance time when `token` is None); errors are logged, not raised."""
        if self.path is None:
            return
        data: dict[str, Any] = {"issued_at": issued_at.isoformat() if issued_at else None}
        if token is not None:
            data |= self._close({"access_token": token.value, "expires_at": token.expires_at.isoformat()})
        write_private_json(self.path, data)

    def _open(self, data: dict[str, Any]) -> dict[str, Any] | None:
        if "sealed" in data:
            plaintext = self._sealer.unseal(str(data["sealed"])) if self._sealer is not None else None
            if plaintext is None:
                log.warning("kis_token_cache_sealed_unreadable", path=str(self.path))
                return None
            opened = json.loads(plaintext)
            return opened if isinstance(opened, dict) else None
        return data if data.get("access_token") else None

    def _close(self, secret: dict[str, str]) -> dict[str, str]:
        if self._sealer is None:
            return secret
        sealed = self._sealer.seal(json.dumps(secret).encode())
        if sealed is None:
            if not self._unsealed_warned:
                self._unsealed_warned = True
                log.warning(
                    "kis_token_not_cached",
                    reason="no OS credential store to seal it with; the token is "
                    "kept in memory only and issued again after a restart",
                )
            return {}
        return {"sealed": sealed}


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` to `path` atomically with file mode 600; errors are logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        if os.name == "posix":
            os.chmod(tmp, 0o600)  # in case the file existed with a wider mode
        os.replace(tmp, path)
    except OSError as e:
        log.warning("kis_token_cache_unwritable", path=str(path), error=type(e).__name__)


def drop_cached_tokens(directory: Path) -> int:
    """Remove the token from every cache file in `directory`, keeping each issuance time; return how many
    files held a token (sealed or not)."""
    dropped = 0
    for path in sorted(directory.glob(CACHE_GLOB)) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        dropped += "sealed" in data or "access_token" in data
        write_private_json(path, {"issued_at": data.get("issued_at")})
    return dropped
