"""Configuration of the Upbit adapter: credentials, hosts, timeouts, client-side rates, WebSocket timing.

Source: upbit-openapi.md §0 (hosts, limits), §1 (TLS only), §2.2 (HS256 and HS512 both accepted), §5.1 (idle
timeout 120 s; the official sample pings every 30 s), §6 (rate-limit groups). Upbit changes limits by notice,
so every number here is configuration with the documented value as its default.
"""

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from pydantic import SecretStr

from stock_manager.domain.errors import ConfigurationError

DEFAULT_REST_BASE_URL: Final = "https://api.upbit.com"
DEFAULT_WS_PUBLIC_URL: Final = "wss://api.upbit.com/websocket/v1"
DEFAULT_WS_PRIVATE_URL: Final = "wss://api.upbit.com/websocket/v1/private"

#: Client-side pace per `Remaining-Req` group, requests per second (§6). Exchange groups count per pocket
#: (account), quotation groups per IP. ``order`` is 8/s in the reference pages and 12/s per a later notice.
DEFAULT_RATES_PER_SEC: Final[Mapping[str, float]] = MappingProxyType(
    {
        "default": 30.0,
        "order": 8.0,
        "order-test": 8.0,
        "order-cancel-all": 0.5,
        "market": 10.0,
        "candle": 10.0,
        "trade": 10.0,
        "ticker": 10.0,
        "orderbook": 10.0,
    }
)

#: The server closes a WebSocket after this long without traffic in either direction (§5.1).
WS_IDLE_LIMIT_SECS: Final = 120.0
JWT_ALGORITHMS: Final = frozenset({"HS256", "HS512"})


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, setting: str, secure_scheme: str, plain_scheme: str) -> str:
    """Return `url` without a trailing slash when its scheme is allowed.

    TLS (``https``/``wss``) is allowed to any host; plain ``http``/``ws`` only to a loopback host (tests and
    the local simulator), since Upbit itself speaks TLS only (§1).

    Raises
    ------
    ConfigurationError
        Naming `setting`, when the URL is malformed or plain text to a remote host.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in {secure_scheme, plain_scheme} or not host:
        raise ConfigurationError(
            f"{setting} must be a {secure_scheme}:// or {plain_scheme}:// URL with a host, was {url!r}"
        )
    if parts.scheme == plain_scheme and not is_loopback_host(host):
        raise ConfigurationError(
            f"{setting}: plain {plain_scheme}:// is allowed only to a loopback host "
            f"(127.0.0.1, ::1, localhost); use {secure_scheme}:// for {host}"
        )
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class UpbitConfig:
    """Everything the Upbit adapter needs for one API key; validated once, at construction.

    Attributes
    ----------
    access_key, secret_key : SecretStr
        The API key pair (§2.1); never logged. The secret signs every JWT.
    rest_base_url : str
        REST host without ``/v1`` (default ``https://api.upbit.com``).
    ws_public_url, ws_private_url : str
        WebSocket endpoints for quotation types and for ``myOrder``/``myAsset`` (§1, §5).
    jwt_algorithm : str
        ``"HS512"`` (default) or ``"HS256"``; Upbit accepts both (§2.2).
    request_timeout_secs : float
        Connect, read, write and pool timeout of each REST request.
    rates_per_sec : Mapping[str, float]
        Client-side pace per group, requests per second; entries given override `DEFAULT_RATES_PER_SEC`
        (default 30, order 8, order-test 8, order-cancel-all 0.5, quotation groups 10).
    read_attempts : int
        Tries of a read (the first included) before its temporary error is raised. Orders are tried once.
    rate_limited_backoff_initial_secs, rate_limited_backoff_max_secs : float
        A group answered HTTP 429 waits initial * 2**(n-1) seconds after its n-th 429 in a row, capped.
    block_default_secs, block_max_secs : float
        Length of an HTTP 418 block when the answer states none; doubled on each repeat, capped (§6).
    block_forget_secs : float
        A 418 this long after the previous block's end counts as a first offence again.
    ping_interval_secs : float
        Send the text ``PING`` after this long without sending; must be below the 120 s idle limit (§5.1).
    pong_timeout_secs : float
        Close and reconnect when a protocol ping is not answered within this long.
    ws_open_timeout_secs : float
        Limit of one WebSocket handshake.
    reconnect_initial_secs, reconnect_max_secs : float
        Exponential back-off bounds of WebSocket reconnects (jittered).

    Raises
    ------
    ConfigurationError
        On empty keys, an unknown algorithm, a disallowed URL, a non-positive number, or a ping interval
        that is not below the idle limit.
    """

    access_key: SecretStr
    secret_key: SecretStr
    rest_base_url: str = DEFAULT_REST_BASE_URL
    ws_public_url: str = DEFAULT_WS_PUBLIC_URL
    ws_private_url: str = DEFAULT_WS_PRIVATE_URL
    jwt_algorithm: str = "HS512"
    request_timeout_secs: float = 10.0
    rates_per_sec: Mapping[str, float] = field(default_factory=dict)
    read_attempts: int = 3
    rate_limited_backoff_initial_secs: float = 1.0
    rate_limited_backoff_max_secs: float = 30.0
    block_default_secs: float = 60.0
    block_max_secs: float = 3600.0
    block_forget_secs: float = 3600.0
    ping_interval_secs: float = 30.0
    pong_timeout_secs: float = 10.0
    ws_open_timeout_secs: float = 10.0
    reconnect_initial_secs: float = 1.0
    reconnect_max_secs: float = 60.0

    def __post_init__(self) -> None:
        for name in ("access_key", "secret_key"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value := SecretStr(value))
            if not value.get_secret_value().strip():
                raise ConfigurationError(f"the Upbit {name} must not be empty")
        if self.jwt_algorithm not in JWT_ALGORITHMS:
            raise ConfigurationError(
                f"jwt_algorithm must be one of {sorted(JWT_ALGORITHMS)}, was {self.jwt_algorithm!r}"
            )
        object.__setattr__(
            self,
            "rest_base_url",
            check_url(self.rest_base_url, setting="rest_base_url", secure_scheme="https", plain_scheme="http"),
        )
        for name in ("ws_public_url", "ws_private_url"):
            object.__setattr__(
                self, name, check_url(getattr(self, name), setting=name, secure_scheme="wss", plain_scheme="ws")
            )
        rates = {**DEFAULT_RATES_PER_SEC, **self.rates_per_sec}
        for group, rate in rates.items():
            _require_positive(f"rates_per_sec[{group!r}]", rate)
        object.__setattr__(self, "rates_per_sec", MappingProxyType(rates))
        for name in (
            "request_timeout_secs",
            "rate_limited_backoff_initial_secs",
            "rate_limited_backoff_max_secs",
            "block_default_secs",
            "block_max_secs",
            "block_forget_secs",
            "ping_interval_secs",
            "pong_timeout_secs",
            "ws_open_timeout_secs",
            "reconnect_initial_secs",
            "reconnect_max_secs",
        ):
            _require_positive(name, getattr(self, name))
        if self.read_attempts < 1:
            raise ConfigurationError(f"read_attempts must be at least 1, was {self.read_attempts}")
        if self.ping_interval_secs >= WS_IDLE_LIMIT_SECS:
            raise ConfigurationError(
                f"ping_interval_secs must be below Upbit's {WS_IDLE_LIMIT_SECS:.0f} s idle "
                f"limit, was {self.ping_interval_secs}"
            )

    def rate_per_sec(self, group: str) -> float:
        """Return the client-side pace of `group`, requests per second (``default``'s for an unknown group)."""
        return self.rates_per_sec.get(group, self.rates_per_sec["default"])


def _require_positive(name: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, was {value!r}")
