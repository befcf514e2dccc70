"""Access token (cached on disk across restarts, `token_cache`), WebSocket approval key and order hashkeys.

Source: ../reference/kis-openapi.md §2.1 (``/oauth2/tokenP``: 24 h validity, the same token within 6 h, at most
one issuance per minute → HTTP 403 ``EGW00133`` in the ``error_code`` shape; use
``access_token_token_expired``, KST), §2.3 (``/oauth2/Approval`` with ``secretkey``), §2.4 (``/uapi/hashkey``),
§8 pitfalls 1-2 and §9 (one manager per app key and mode, disk cache, refresh one hour before expiry,
single-flight, ≥61 s between issuances, EGW00123/EGW00121 → invalidate and re-issue once).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog

from stock_manager.adapters.broker.kis.config import KisConfig
from stock_manager.adapters.broker.kis.errors import RATE_LIMIT_CODE, TOKEN_RATE_CODE, envelope
from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.ratelimit import Priority, PriorityRateLimiter
from stock_manager.adapters.broker.kis.token_cache import AccessToken, TokenCache
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError
from stock_manager.localtime import KST

log = structlog.get_logger(__name__)

type Sleep = Callable[[float], Awaitable[None]]

#: How many EGW00133 answers (each followed by a full 61 s wait) before giving up for now.
MAX_TOKEN_RATE_WAITS = 3
#: How long the token of a login must stay valid: a trading day from the pre-open to the after-hours close.
LOGIN_TOKEN_VALIDITY = timedelta(hours=12)
TOKEN_PATH = "/oauth2/tokenP"  # noqa: S105 - a URL path, not a secret  # nosec B105
APPROVAL_PATH = "/oauth2/Approval"
HASHKEY_PATH = "/uapi/hashkey"


def parse_token_response(body: dict[str, Any], now: datetime) -> AccessToken:
    """Return the token of a ``/oauth2/tokenP`` answer issued at `now` (aware UTC).

    Expiry from ``access_token_token_expired`` (``"YYYY-MM-DD HH:MM:SS"``, KST), else now + ``expires_in``.

    Raises
    ------
    ValueError
        If the body has no ``access_token``.
    """
    value = str(body.get("access_token") or "")
    if not value:
        raise ValueError("the token answer has no access_token")
    expires_at: datetime | None = None
    raw = str(body.get("access_token_token_expired") or "").strip()
    if raw:
        try:
            expires_at = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST).astimezone(now.tzinfo)
        except ValueError:
            expires_at = None
    if expires_at is None:
        try:
            expires_in = float(body.get("expires_in") or 86400)
        except (TypeError, ValueError):
            expires_in = 86400.0
        expires_at = now + timedelta(seconds=expires_in)
    return AccessToken(value=value, expires_at=expires_at, issued_at=now)


class TokenManager:
    """Access token, approval key and hashkeys of one app key in one mode.

    Parameters
    ----------
    config : KisConfig
        Credentials, base URL, cache directory, refresh margin and issuance interval.
    http : httpx.AsyncClient
        The adapter's client (base URL set).
    clock : Clock
        Wall clock (token expiry and the one-per-minute rule are real-time matters).
    sleep : Callable[[float], Awaitable[None]]
        Async sleep, injectable for tests.
    limiter : PriorityRateLimiter
        The app key's REST limiter (token, approval and hashkey calls count toward it).
    masker : Masker
        Learns every token and approval key issued, so they never reach a log line.
    """

    def __init__(
        self,
        *,
        config: KisConfig,
        http: httpx.AsyncClient,
        clock: Clock,
        sleep: Sleep,
        limiter: PriorityRateLimiter,
        masker: Masker,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._limiter = limiter
        self._masker = masker
        self._cache = TokenCache(
            config.token_cache_dir,
            app_key=config.app_key.get_secret_value(),
            app_secret=config.app_secret.get_secret_value(),
            mode=str(config.mode),
            sealer=config.token_sealer,
        )
        self._token, self._last_issued_at = self._cache.load()
        if self._token is not None:
            masker.add(self._token.value)
        self._lock = asyncio.Lock()
        self._approval_key: str | None = None
        self._approval_lock = asyncio.Lock()
        self.issuances = 0  # tokens this manager obtained from KIS (for tests and metrics)

    @property
    def cache_path(self) -> Path | None:
        """Return the token cache file (None when the disk cache is off)."""
        return self._cache.path

    def _usable(self, token: AccessToken | None, valid_for: timedelta = timedelta(0)) -> bool:
        margin = max(timedelta(seconds=self._config.token_refresh_margin_secs), valid_for)
        return token is not None and self._clock.now() < token.expires_at - margin

    async def access_token(self, valid_for: timedelta = timedelta(0)) -> str:
        """Return a valid access token: the cached one, or a new one (one issuance at a time). `valid_for`: the
        cached one only if it stays valid that much longer (a login before a trading day asks for the day).

        Raises
        ------
        FatalBrokerError
            If KIS refuses the credentials.
        TemporaryBrokerError
            If KIS cannot be reached or keeps answering EGW00133.
        """
        if self._usable(self._token, valid_for):
            assert self._token is not None
            return self._token.value
        async with self._lock:
            if self._usable(self._token, valid_for):
                assert self._token is not None
                return self._token.value
            self._token = await self._issue()
            return self._token.value

    async def invalidate(self, token: str) -> None:
        """Forget `token` (KIS said EGW00123/EGW00121); the next `access_token` issues a new one."""
        async with self._lock:
            if self._token is not None and self._token.value == token:
                log.warning("kis_token_invalidated", expires_at=self._token.expires_at.isoformat())
                self._token = None
                self._cache.save(None, self._last_issued_at)

    async def _issue(self) -> AccessToken:
        body = {
            "grant_type": "client_credentials",
            "appkey": self._config.app_key.get_secret_value(),
            "appsecret": self._config.app_secret.get_secret_value(),
        }
        for _ in range(MAX_TOKEN_RATE_WAITS + 1):
            await self._wait_issue_interval()
            status, answer = await self._post(TOKEN_PATH, body, what="token issuance")
            _, code, message = envelope(answer or {})
            if code == TOKEN_RATE_CODE:
                # KIS counts the refused attempt too: wait a whole interval from now, never a tight loop.
                log.warning("kis_token_rate_limited", code=code, wait_secs=self._config.token_issue_interval_secs)
                self._last_issued_at = self._clock.now()
                continue
            now = self._clock.now()
            if status == 200 and answer and answer.get("access_token"):
                token = parse_token_response(answer, now)
                self._masker.add(token.value)
                self._last_issued_at = now
                self._cache.save(token, now)
                self.issuances += 1
                log.info("kis_token_issued", expires_at=token.expires_at.isoformat(), mode=str(self._config.mode))
                return token
            self._raise_auth_failure(status, code, message, what="token issuance")
        raise TemporaryBrokerError(
            f"KIS still refuses a new access token ({TOKEN_RATE_CODE}, one per minute) "
            f"after {MAX_TOKEN_RATE_WAITS} waits"
        )

    async def _wait_issue_interval(self) -> None:
        if self._last_issued_at is None:
            return
        due = self._last_issued_at + timedelta(seconds=self._config.token_issue_interval_secs)
        wait_secs = (due - self._clock.now()).total_seconds()
        if wait_secs > 0:
            log.info("kis_token_issue_wait", wait_secs=round(wait_secs, 1))
            await self._sleep(wait_secs)

    async def approval_key(self, *, renew: bool = False) -> str:
        """Return the WebSocket approval key, issuing one when there is none or `renew` is set.

        Raises
        ------
        FatalBrokerError, TemporaryBrokerError
            As for the access token.
        """
        async with self._approval_lock:
            if self._approval_key is None or renew:
                body = {
                    "grant_type": "client_credentials",
                    "appkey": self._config.app_key.get_secret_value(),
                    "secretkey": self._config.app_secret.get_secret_value(),
                }
                status, answer = await self._post(APPROVAL_PATH, body, what="approval key")
                key = str((answer or {}).get("approval_key") or "")
                if status != 200 or not key:
                    _, code, message = envelope(answer or {})
                    self._raise_auth_failure(status, code, message, what="approval key")
                self._masker.add(key)
                self._approval_key = key
                log.info("kis_approval_key_issued")
            return self._approval_key

    async def hashkey(self, order_content: bytes) -> str:
        """Return the ``HASH`` of the exact order body `order_content` from ``/uapi/hashkey``.

        The call is counted by the limiter as an order call.

        Raises
        ------
        TemporaryBrokerError
            When no hash comes back (the order is then not sent).
        """
        status, answer = await self._post(HASHKEY_PATH, order_content, what="hashkey", credentials_in_headers=True)
        value = str((answer or {}).get("HASH") or (answer or {}).get("hash") or "")
        if status != 200 or not value:
            _, code, message = envelope(answer or {})
            raise TemporaryBrokerError(f"KIS hashkey: HTTP {status}: {message} ({code})")
        return value

    async def _post(
        self, path: str, body: dict[str, str] | bytes, *, what: str, credentials_in_headers: bool = False
    ) -> tuple[int, dict[str, Any] | None]:
        headers = {"content-type": "application/json; charset=utf-8"}
        if credentials_in_headers:
            headers |= {
                "appkey": self._config.app_key.get_secret_value(),
                "appsecret": self._config.app_secret.get_secret_value(),
            }
        await self._limiter.acquire(Priority.ORDER)
        try:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = await self._http.post(path, content=content, headers=headers)
        except httpx.HTTPError as e:
            raise TemporaryBrokerError(f"KIS {what}: {type(e).__name__}: {self._masker(e)}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return response.status_code, answer if isinstance(answer, dict) else None

    def _raise_auth_failure(self, status: int, code: str, message: str, *, what: str) -> None:
        detail = self._masker(f"{message} ({code})" if code else message or "no answer")
        if code == RATE_LIMIT_CODE or (status >= 500 and not code.startswith("EGW")):
            raise TemporaryBrokerError(f"KIS {what}: HTTP {status}: {detail}")
        if status in (401, 403) or code.startswith("EGW") or 400 <= status < 500:
            raise FatalBrokerError(
                f"KIS {what} refused (check KIS_APP_KEY / KIS_APP_SECRET and the mode): HTTP {status}: {detail}"
            )
        raise TemporaryBrokerError(f"KIS {what}: HTTP {status}: {detail}")
