"""Masking of secrets before anything reaches a log line or an exception message.

One small helper on purpose: a project-wide masking hook may replace it later. App keys, secrets, access
tokens and approval keys are replaced entirely; account numbers keep their first four digits and the
product code (``5012****-01``).
"""

import re
from collections.abc import Iterable

_ACCOUNT = re.compile(r"\b(\d{4})\d{4}(-?)(\d{2})\b")
MASK = "***"


def mask_account(account: str) -> str:
    """Return ``"5012****-01"`` for ``"50123456-01"`` (also for the 10 digits without the dash)."""
    return _ACCOUNT.sub(lambda m: f"{m.group(1)}****{m.group(2)}{m.group(3)}", account)


class Masker:
    """Replaces every known secret in a text; add secrets as they are learnt (tokens, approval keys)."""

    def __init__(self, secrets: Iterable[str] = (), *, account: str = "", max_chars: int = 300) -> None:
        self._secrets: set[str] = set()
        self._account = account
        self._max_chars = max_chars
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Mask `secret` from now on (ignored when empty or shorter than 6 characters)."""
        if secret and len(secret) >= 6:
            self._secrets.add(secret)

    def __call__(self, text: object) -> str:
        """Return `text` as a string with every secret and account number masked, cut to a sane length."""
        masked = str(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            masked = masked.replace(secret, MASK)
        if self._account:
            masked = masked.replace(self._account, mask_account(self._account))
            masked = masked.replace(self._account.replace("-", ""), mask_account(self._account))
        if len(masked) > self._max_chars:
            masked = masked[: self._max_chars] + f"…(+{len(masked) - self._max_chars} chars)"
        return masked
