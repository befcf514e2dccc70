"""The KIS adapter's view of the project-wide masking (`adapters.observability.masking`).

A `Masker` registers the adapter's secrets there as they are learnt (app key and secret at start, access
tokens and WebSocket approval keys when KIS issues them), so they are hidden from every output of the
process, not only the adapter's; calling it masks a text and cuts it to a length fit for a log line or an
exception message. Account numbers keep their first four digits and the product code (``5012****-01``).
"""

from collections.abc import Iterable

from stock_manager.adapters.observability.masking import mask, partial_account, register_account, register_secret

#: Masked account numbers, e.g. ``"5012****-01"`` for ``"50123456-01"``.
mask_account = partial_account


class Masker:
    """Hides every secret the adapter knows in a text; add secrets as they are learnt (tokens, approval keys)."""

    def __init__(self, secrets: Iterable[str] = (), *, account: str = "", max_chars: int = 300) -> None:
        self._max_chars = max_chars
        register_account(account)
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Mask `secret` everywhere from now on (ignored when empty or shorter than 6 characters)."""
        register_secret(secret)

    def __call__(self, text: object) -> str:
        """Return `text` as a string with every secret and account number masked, cut to a sane length."""
        masked = mask(str(text))
        if len(masked) > self._max_chars:
            masked = masked[: self._max_chars] + f"…(+{len(masked) - self._max_chars} chars)"
        return masked
