"""Configuration of the KIS Open API adapter: mode, credentials, account, hosts, limits.

Source: ../reference/kis-openapi.md §0/§1 (hosts per mode, account "8-2", paper TR-id rule), §6.1 (rate
limits), §5.1 (41 WebSocket registrations), §9 (design notes: token refresh margin, pacing).
"""

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from stock_manager.adapters.broker.kis.token_cache import TokenSealer
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import InstrumentKind


class KisMode(StrEnum):
    """Which KIS environment: the live account (실전) or the paper account (모의투자, "VTS")."""

    REAL = "real"
    PAPER = "paper"

    def __str__(self) -> str:
        return self.value


#: Documented hosts per mode (§1). The WebSocket hosts are plain ``ws://`` on the real KIS side [C].
DEFAULT_REST_BASE_URLS = {
    KisMode.REAL: "https://openapi.koreainvestment.com:9443",
    KisMode.PAPER: "https://openapivts.koreainvestment.com:29443",
}
DEFAULT_WS_URLS = {
    KisMode.REAL: "ws://ops.koreainvestment.com:21000",
    KisMode.PAPER: "ws://ops.koreainvestment.com:31000",
}
#: Hosts whose documented WebSocket is plain ``ws://`` (KIS offers no TLS there, §1).
KIS_PLAIN_WS_HOSTS = frozenset({"ops.koreainvestment.com"})

#: Client-side request rate per app key, requests per second. KIS allows 20/s real and 2/s paper (§6.1); §9
#: recommends starting a little below so network jitter never crowds two seconds' calls into one.
DEFAULT_RATE_LIMITS_PER_SEC = {KisMode.REAL: 18.0, KisMode.PAPER: 1.8}
#: Pause between subscribe messages, seconds (official samples: 0.05 s real, 0.5 s paper; §5.1).
DEFAULT_SUBSCRIBE_PACING_SECS = {KisMode.REAL: 0.05, KisMode.PAPER: 0.5}

_ACCOUNT = re.compile(r"^(\d{8})-(\d{2})$")


def paper_tr_id(tr_id: str, mode: KisMode) -> str:
    """Return the TR id to send in `mode`: trading TRs starting T/J/C become ``"V" + tr_id[1:]`` on paper (§0).

    Quotation TRs (``FH…``) are the same in both modes.
    """
    if mode is KisMode.PAPER and tr_id[:1] in {"T", "J", "C"}:
        return "V" + tr_id[1:]
    return tr_id


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, setting: str, secure_scheme: str, plain_scheme: str) -> str:
    """Return `url` without a trailing slash when its scheme is allowed, else raise.

    TLS (``https``/``wss``) is allowed anywhere; plain ``http``/``ws`` only towards a loopback host (a local
    KIS-compatible server), and plain ``ws`` also towards the documented KIS WebSocket host, which has no TLS.

    Raises
    ------
    ConfigurationError
        Naming `setting` when the URL is malformed or plain text to a remote host.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in {secure_scheme, plain_scheme} or not host:
        raise ConfigurationError(f"{setting} must be a {secure_scheme}:// or {plain_scheme}:// URL with a host")
    documented_plain_ws = plain_scheme == "ws" and host.lower() in KIS_PLAIN_WS_HOSTS
    if parts.scheme == plain_scheme and not is_loopback_host(host) and not documented_plain_ws:
        raise ConfigurationError(
            f"{setting}: plain {plain_scheme}:// is allowed only to a loopback host (127.0.0.1, ::1, "
            f"localhost); use {secure_scheme}:// for {host}"
        )
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class KisConfig:
    """Everything the adapter needs to talk to one KIS environment with one app key.

    Attributes
    ----------
    mode : KisMode
        REAL (TTTC… TR ids, real hosts) or PAPER (VTTC… TR ids, VTS hosts).
    app_key, app_secret : SecretStr
        The app's credentials (36 / 180 characters at KIS); never logged.
    account : str
        ``CANO-ACNT_PRDT_CD`` (8 digits, dash, 2 digits), e.g. ``"50123456-01"``.
    hts_id : str
        HTS login id, the ``tr_key`` of the fill-notice channel (H0STCNI0/H0STCNI9).
    rest_base_url, ws_url : str | None
        Overrides of the documented hosts; plain http/ws only to loopback (see `check_url`).
    rate_limit_per_sec : float | None
        Client-side REST rate per app key; None for the mode's default (18/s real, 1.8/s paper).
    token_cache_dir : Path | None
        Directory of the access-token cache file; None disables the disk cache (tests only).
    token_sealer : TokenSealer | None
        Encrypts the cached token (key in the OS credential store; see `token_cache`); None keeps it in clear
        (the local simulator's tokens, tests).
    use_hashkey : bool
        Send a ``hashkey`` header with order POSTs (one more rate-limited call per order; §2.4).
    token_refresh_margin_secs : float
        Reuse a cached token until this long before ``access_token_token_expired`` (§9: one hour).
    token_issue_interval_secs : float
        Least time between two token issuances (KIS allows one per minute; 61 s leaves a second spare).
    request_timeout_secs : float
        Connect/read timeout of every REST call.
    max_registrations : int
        WebSocket registrations per session, all TRs together (KIS: 41; §5.1).
    subscribe_pacing_secs : float | None
        Pause between subscribe messages; None for the mode's default (0.05 s real, 0.5 s paper).
    reconnect_initial_secs, reconnect_max_secs : float
        Exponential back-off bounds of WebSocket reconnects (jittered).
    instrument_kinds : dict[str, InstrumentKind]
        Kinds of symbols that are not plain stocks (ETF ticks are finer); default: the bundled KOSPI master's
        kind, else STOCK.

    Raises
    ------
    ConfigurationError
        On a malformed account, empty credentials or HTS id, a disallowed URL or a non-positive limit.
    """

    mode: KisMode
    app_key: SecretStr
    app_secret: SecretStr
    account: str
    hts_id: str
    rest_base_url: str | None = None
    ws_url: str | None = None
    rate_limit_per_sec: float | None = None
    token_cache_dir: Path | None = None
    use_hashkey: bool = False
    token_refresh_margin_secs: float = 3600.0
    token_issue_interval_secs: float = 61.0
    request_timeout_secs: float = 10.0
    max_registrations: int = 41
    subscribe_pacing_secs: float | None = None
    reconnect_initial_secs: float = 1.0
    reconnect_max_secs: float = 60.0
    instrument_kinds: dict[str, InstrumentKind] = field(default_factory=dict)
    token_sealer: TokenSealer | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.mode, KisMode):
            try:
                object.__setattr__(self, "mode", KisMode(str(self.mode).lower()))
            except ValueError:
                raise ConfigurationError(f"KIS mode must be 'real' or 'paper', was {self.mode!r}") from None
        if not self.app_key.get_secret_value() or not self.app_secret.get_secret_value():
            raise ConfigurationError("KIS_APP_KEY and KIS_APP_SECRET must not be empty")
        if not _ACCOUNT.match(self.account or ""):
            raise ConfigurationError(
                "KIS_ACCOUNT must be CANO-ACNT_PRDT_CD: 8 digits, a dash, 2 digits (e.g. 50123456-01)"
            )
        if not (self.hts_id or "").strip():
            raise ConfigurationError("KIS_HTS_ID must not be empty (the tr_key of the fill-notice channel)")
        object.__setattr__(
            self,
            "rest_base_url",
            check_url(
                self.rest_base_url or DEFAULT_REST_BASE_URLS[self.mode],
                setting="KIS_REST_BASE_URL",
                secure_scheme="https",
                plain_scheme="http",
            ),
        )
        object.__setattr__(
            self,
            "ws_url",
            check_url(
                self.ws_url or DEFAULT_WS_URLS[self.mode], setting="KIS_WS_URL", secure_scheme="wss", plain_scheme="ws"
            ),
        )
        if self.rate_limit_per_sec is None:
            object.__setattr__(self, "rate_limit_per_sec", DEFAULT_RATE_LIMITS_PER_SEC[self.mode])
        if self.subscribe_pacing_secs is None:
            object.__setattr__(self, "subscribe_pacing_secs", DEFAULT_SUBSCRIBE_PACING_SECS[self.mode])
        if not self.rate_limit_per_sec or self.rate_limit_per_sec <= 0:
            raise ConfigurationError(f"KIS_RATE_LIMIT_PER_SEC must be positive, was {self.rate_limit_per_sec}")
        if not self.max_registrations >= 1:
            raise ConfigurationError(
                f"the WebSocket registration budget must be positive, was {self.max_registrations}"
            )

    @property
    def cano(self) -> str:
        """Return the 8-digit account number (``CANO``)."""
        return self.account[:8]

    @property
    def product_code(self) -> str:
        """Return the 2-digit account product code (``ACNT_PRDT_CD``)."""
        return self.account[9:]

    @property
    def rest_url(self) -> str:
        """Return the REST base URL in use (override or the mode's default)."""
        return self.rest_base_url or DEFAULT_REST_BASE_URLS[self.mode]

    @property
    def websocket_url(self) -> str:
        """Return the WebSocket URL in use (override or the mode's default)."""
        return self.ws_url or DEFAULT_WS_URLS[self.mode]

    @property
    def rate_per_sec(self) -> float:
        """Return the client-side REST rate, requests per second."""
        return float(self.rate_limit_per_sec or DEFAULT_RATE_LIMITS_PER_SEC[self.mode])

    @property
    def pacing_secs(self) -> float:
        """Return the pause between WebSocket subscribe messages, seconds."""
        value = self.subscribe_pacing_secs
        return DEFAULT_SUBSCRIBE_PACING_SECS[self.mode] if value is None else float(value)

    @property
    def notice_tr_id(self) -> str:
        """Return the fill-notice WebSocket TR: H0STCNI0 real, H0STCNI9 paper (§5.9)."""
        return "H0STCNI0" if self.mode is KisMode.REAL else "H0STCNI9"

    def tr(self, real_tr_id: str) -> str:
        """Return the TR id to send for the real-mode id `real_tr_id` (V prefix on paper)."""
        return paper_tr_id(real_tr_id, self.mode)

    def kind_of(self, symbol: str) -> InstrumentKind:
        """Return the instrument kind of `symbol`: as configured, else as the bundled KOSPI master says (an ETF
        such as 069500 trades on a finer tick grid), else STOCK."""
        configured = self.instrument_kinds.get(symbol)
        if configured is not None:
            return configured
        from stock_manager.adapters.marketdata.master import instrument_kind

        try:
            return instrument_kind(symbol)
        except ConfigurationError:
            return InstrumentKind.STOCK
