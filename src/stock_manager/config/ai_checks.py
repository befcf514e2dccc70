"""Checks of the AI settings taken together (each setting alone is checked by `Settings`).

A provider needs a model; a hosted endpoint needs a key; a key never travels over plain http except to a
server on this machine; a KRW budget needs both prices to turn tokens into won. Every message names the
settings involved, never a value.
"""

from ipaddress import ip_address
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from stock_manager.config.settings import Settings

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_url(url: str) -> bool:
    """Return True when `url`'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def ai_problem(settings: "Settings") -> str | None:
    """Return what is wrong with the AI settings, or None when they can be used (``AI_PROVIDER=none`` always
    can: the keyless jobs need nothing)."""
    provider = str(settings.ai_provider)
    base = settings.ai_base_url
    if base is not None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "AI_BASE_URL must be an http(s) URL such as http://127.0.0.1:11434/v1"
        if parts.scheme == "http" and not is_loopback_url(base):
            return "AI_BASE_URL may use plain http only for a server on this machine (127.0.0.1, localhost)"
    priced = settings.ai_price_input_krw_per_mtok is not None and settings.ai_price_output_krw_per_mtok is not None
    if settings.ai_budget_krw_per_night is not None and not priced:
        return (
            "AI_BUDGET_KRW_PER_NIGHT needs AI_PRICE_INPUT_KRW_PER_MTOK and AI_PRICE_OUTPUT_KRW_PER_MTOK "
            "(the model's prices per million tokens) to count won"
        )
    if provider == "none":
        return None
    if not settings.ai_model.strip():
        return f"AI_PROVIDER={provider} needs AI_MODEL (the provider's model name)"
    has_key = settings.ai_api_key is not None and bool(settings.ai_api_key.get_secret_value())
    local = base is not None and is_loopback_url(base)
    if not has_key and not local:
        return f"AI_PROVIDER={provider} needs AI_API_KEY (only a server on this machine, AI_BASE_URL, needs none)"
    return None
