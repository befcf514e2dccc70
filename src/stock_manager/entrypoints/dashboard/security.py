"""The dashboard's protections: the password (argon2 hash only), the signed session cookie (HttpOnly,
SameSite=Strict), a CSRF token on every state-changing request, and a limit on failed logins.

- Without a password (only allowed on a loopback address) every visitor is the owner; the session still
  carries a CSRF token, so a page on another site cannot make the browser press kill.
- With a password every page, endpoint and control needs a login; pages redirect to ``/login``, the JSON
  endpoints and controls answer 401.
"""

import hmac
import ipaddress
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import Request

#: Failed logins allowed per remote address within `LOGIN_WINDOW_SECS`, then 429 until the oldest ages out.
LOGIN_FAILURES_PER_ADDRESS = 5
#: Failed logins allowed from all addresses together within the window (slows a guesser with many addresses).
LOGIN_FAILURES_TOTAL = 20
LOGIN_WINDOW_SECS = 300.0
#: Session keys.
SESSION_AUTHENTICATED = "auth"
SESSION_CSRF = "csrf"
#: The form field (and header, for scripts) that carries the CSRF token.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` (what ``DASHBOARD_PASSWORD_HASH`` holds).

    Raises
    ------
    ValueError
        If the password is shorter than 8 characters.
    """
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when `password` matches `password_hash` (argon2 verification, about 50 ms on purpose)."""
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def is_loopback(host: str) -> bool:
    """Return True when `host` (an IP address or ``localhost``) only serves this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_address(request: Request) -> str:
    """Return the client's address as the server saw it (no proxy header is trusted)."""
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating one (and so the session cookie) when there is none."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """Return True when `submitted` is the session's CSRF token and, if the browser names an Origin, it is this
    server (defence in depth; SameSite=Strict already keeps the cookie off other sites' requests)."""
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def start_authenticated_session(request: Request) -> None:
    """Replace the session with a new authenticated one (a new CSRF token: nothing from before the login
    carries over)."""
    request.session.clear()
    request.session[SESSION_AUTHENTICATED] = True
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


@dataclass
class LoginLimiter:
    """Counts failed logins per remote address and in total over a sliding window.

    `retry_after_secs` answers before a password is checked; `failed` records a failure.
    """

    per_address: int = LOGIN_FAILURES_PER_ADDRESS
    total: int = LOGIN_FAILURES_TOTAL
    window_secs: float = LOGIN_WINDOW_SECS
    _by_address: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def retry_after_secs(self, address: str, now: float | None = None) -> float:
        """Return 0 when `address` may try a password now, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        mine = self._trim(self._by_address.get(address, deque()), now)
        everyone = self._trim(self._all, now)
        waits = [mine[0] + self.window_secs - now] if len(mine) >= self.per_address else []
        if len(everyone) >= self.total:
            waits.append(everyone[0] + self.window_secs - now)
        return max(waits, default=0.0)

    def failed(self, address: str, now: float | None = None) -> None:
        """Record one failed login from `address`."""
        now = time.monotonic() if now is None else now
        self._by_address.setdefault(address, deque()).append(now)
        self._all.append(now)

    def succeeded(self, address: str) -> None:
        """Forget `address`'s failures."""
        self._by_address.pop(address, None)

    def _trim(self, stamps: deque[float], now: float) -> deque[float]:
        while stamps and stamps[0] <= now - self.window_secs:
            stamps.popleft()
        return stamps
