"""Masking secrets: the one function every output goes through (log lines, stored events, Slack text,
exception messages printed by the CLI).

Three kinds of secret are hidden:

- values registered at start or at run time (`register_secret`): KIS app key and app secret, the Slack bot
  token (from Settings), and access tokens / WebSocket approval keys the KIS adapter receives — replaced by
  ``***`` wherever they appear in a text;
- account numbers (`register_account`), shown partly: ``50123456-01`` → ``5012****-01``;
- values that look like credentials even when nobody registered them: ``Bearer <token>``, Slack tokens
  (``xoxb-…``), JWTs (``eyJ…``), AI provider keys (``sk-…``), and ``appkey=…`` / ``"token": "…"`` style
  pairs; in structured data, the
  value of any key named like a credential (`SECRET_KEYS`).

The registry is process-wide (a lock guards changes) because secrets arrive at run time from adapters that
must not depend on each other: the KIS adapter calls ``register_secret(token)`` as soon as it receives one.
"""

import re
import threading
from collections.abc import Mapping
from typing import Any, Protocol

MASK = "***"

#: Keys whose values are secrets whatever they look like (compared lower-case, ``-`` read as ``_``).
SECRET_KEYS = frozenset(
    {
        "appkey",
        "appsecret",
        "app_key",
        "app_secret",
        "secretkey",
        "access_token",
        "approval_key",
        "authorization",
        "password",
        "token",
        "bot_token",
        "slack_bot_token",
        "kis_app_key",
        "kis_app_secret",
        "refresh_token",
        "access_key",
        "secret_key",
        "upbit_access_key",
        "upbit_secret_key",  # Upbit's key pair (and its JWT claim)
        "api_key",
        "ai_api_key",
        "x_api_key",  # an AI provider's key
    }
)

_MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words and numbers

# Credential-looking text, as named alternatives of one regex (one pass over each text).
_PATTERNS = (
    r"(?P<bearer>\b(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+",
    r"(?P<slack>\bxox[abposre]-)[A-Za-z0-9-]+",
    r"(?P<jwt>\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*)",
    r"(?P<apikey>\bsk-[A-Za-z0-9_-]{16,})",  # OpenAI- and Anthropic-style API keys
    r"(?P<pair>\b(?i:appkey|appsecret|app_key|app_secret|secretkey|access_token|approval_key|api_key|token|password)"
    r"""["']?\s*[:=]\s*["']?)[^\s"',&}]+""",
)


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


def partial_account(account: str) -> str:
    """Return an account number with its middle hidden: ``50123456-01`` → ``5012****-01``.

    The first four digits and the product code stay visible, so the owner can tell accounts apart. An account
    named by its venue and a key hash (``UPBIT-03953a20``) keeps the venue and four characters: ``UPBIT-0395****``.
    """
    cano, sep, product = account.partition("-")
    if sep and cano.isalpha():
        return f"{cano}-{product[:4]}{'*' * max(len(product) - 4, 0)}"
    if not sep and len(cano) == 10 and cano.isdigit():
        cano, product, sep = cano[:8], cano[8:], ""
    hidden = cano[:4] + "*" * max(len(cano) - 4, 0)
    return f"{hidden}{sep}{product}" if sep or product else hidden


class SecretRegistry:
    """The known secrets and how each is shown; `mask` and `mask_data` apply them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replacements: dict[str, str] = {}
        self._regex = self._compile()

    def _compile(self) -> re.Pattern[str]:
        # Registered values first (longest first), then the credential patterns.
        registered = "|".join(re.escape(v) for v in sorted(self._replacements, key=len, reverse=True))
        return re.compile("|".join(([f"(?P<registered>{registered})"] if registered else []) + list(_PATTERNS)))

    def _replace(self, match: re.Match[str]) -> str:
        match match.lastgroup:
            case "registered":
                return self._replacements.get(match.group(0), MASK)
            case "bearer" | "pair":
                return f"{match.group(match.lastgroup)}{MASK}"
            case "slack":
                return f"xox*-{MASK}"
            case _:
                return MASK

    def register(self, value: "str | _Secret | None", *, shown_as: str = MASK) -> None:
        """Hide `value` (a string or a pydantic ``SecretStr``) from now on; None and short values are ignored."""
        if value is not None and not isinstance(value, str):
            value = value.get_secret_value()
        if not value or len(value) < _MIN_SECRET_CHARS:
            return
        with self._lock:
            if self._replacements.get(value) == shown_as:
                return
            self._replacements[value] = shown_as
            self._regex = self._compile()

    def register_account(self, account: str | None) -> None:
        """Show the account number only partly, in its ``CANO-PRDT``, ``CANOPRDT`` and bare ``CANO`` forms."""
        if not account:
            return
        cano, _, product = account.partition("-")
        self.register(account, shown_as=partial_account(account))
        if product:
            self.register(cano + product, shown_as=partial_account(f"{cano}-{product}").replace("-", ""))
        self.register(cano, shown_as=partial_account(cano))

    def clear(self) -> None:
        """Forget every registered value (tests)."""
        with self._lock:
            self._replacements.clear()
            self._regex = self._compile()

    def mask(self, text: str) -> str:
        """Return `text` with every registered secret and credential-looking value hidden."""
        return self._regex.sub(self._replace, text)

    def mask_data(self, value: Any) -> Any:
        """Return `value` with strings masked and the values of credential keys replaced, recursively.

        Mappings, lists and tuples are copied; other values are returned as they are.
        """
        match value:
            case str():
                return self.mask(value)
            case Mapping():
                return {k: (MASK if _is_secret_key(k) and v else self.mask_data(v)) for k, v in value.items()}
            case list() | tuple():
                return [self.mask_data(v) for v in value]
            case _:
                return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SECRET_KEYS


_registry = SecretRegistry()

#: Hide a value from every output from now on (``register_secret(token)`` in an adapter that receives one).
register_secret = _registry.register
#: Show an account number only partly from now on.
register_account = _registry.register_account
#: Return a text with every secret hidden.
mask = _registry.mask
#: Return structured data with every secret hidden.
mask_data = _registry.mask_data
#: Forget registered secrets (tests only).
clear_secrets = _registry.clear
