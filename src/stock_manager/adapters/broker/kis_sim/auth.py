"""Credentials, access tokens, approval keys and the per-appkey rate limit of the simulated KIS gateway.

All of it runs on the injected wall clock (never the replay clock): tokens, approval keys and request
rates are real-time matters even when the market is a replay.

Rules (KIS reference §2, §6.1):

* ``/oauth2/tokenP`` issues a token valid 24 h; asked again within 6 h of issuing, it returns the same
  token (same expiry); at most one call per minute per app key, else HTTP 403 EGW00133. The gate counts
  every successful call, including one that returned the cached token [?: KIS does not say which calls
  count; counting all of them is the stricter reading].
* An expired token answers EGW00123; an unknown or revoked one EGW00121.
* ``/oauth2/Approval`` issues a fresh approval key on every call, valid 24 h, checked only when a
  WebSocket session subscribes.
* Rate limit: a token bucket per app key holding ``rate`` requests (at least 1), refilled at ``rate`` per second
  [?: KIS documents "N per second" only; a bucket is what a client-side limiter of N/s satisfies]. A request
  beyond it answers EGW00201 (HTTP 500).
"""

import contextlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.wire import KisError, KisMode
from stock_manager.domain.clock import Clock

TOKEN_LIFETIME = timedelta(hours=24)
TOKEN_REUSE_WINDOW = timedelta(hours=6)
TOKEN_GATE = timedelta(minutes=1)
APPROVAL_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class KisCredential:
    """One app key the simulator accepts, with the account and HTS id it owns.

    Attributes
    ----------
    app_key, app_secret : str
        As sent in ``appkey``/``appsecret`` (``secretkey`` for the approval key).
    account : str
        ``"CANO-ACNT_PRDT_CD"``, 8 + 2 digits, e.g. ``"50123456-01"``; mapped onto the venue's one account.
    hts_id : str
        The ``tr_key`` of the fill-notice subscription (H0STCNI0 / H0STCNI9).
    mode : KisMode | None
        The environment the key was issued for; None means "whatever the simulator runs as". A key of the
        other environment is refused with EGW02004.
    account_name : str
        ``ACNT_NAME`` in the fill notices.
    """

    app_key: str
    app_secret: str
    account: str
    hts_id: str
    mode: KisMode | None = None
    account_name: str = "모의계좌"

    def __post_init__(self) -> None:
        cano, _, product = self.account.partition("-")
        if not (len(cano) == 8 and cano.isdigit() and len(product) == 2 and product.isdigit()):
            raise ValueError(f"account must be 8 digits, '-', 2 digits (CANO-ACNT_PRDT_CD), was {self.account!r}")
        if not self.app_key or not self.app_secret or not self.hts_id:
            raise ValueError("a credential needs an app key, an app secret and an HTS id")

    @property
    def cano(self) -> str:
        """Return the 8-digit ``CANO``."""
        return self.account.split("-")[0]

    @property
    def product_code(self) -> str:
        """Return the 2-digit ``ACNT_PRDT_CD``."""
        return self.account.split("-")[1]


@dataclass(slots=True)
class IssuedToken:
    """An access token the simulator issued (`expired` is set by the expire-now fault)."""

    token: str
    app_key: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False
    expired: bool = False


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


@dataclass(slots=True)
class Gateway:
    """Authentication state and the rate limit, shared by the REST and WebSocket sides.

    Parameters
    ----------
    mode : KisMode
        The environment this gateway plays; credentials of the other one get EGW02004.
    credentials : list[KisCredential]
        The app keys accepted.
    clock : Clock
        Wall clock (real time), never the replay clock.
    rate_limit_per_sec : float | None
        Requests per second per app key; None disables the limit.
    """

    mode: KisMode
    credentials: list[KisCredential]
    clock: Clock
    rate_limit_per_sec: float | None = None
    tokens: list[IssuedToken] = field(default_factory=list)
    approval_keys: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # key -> (app key, expiry)
    token_calls: list[tuple[str, datetime, bool]] = field(default_factory=list)  # (app key, at, new token)
    _last_token_call: dict[str, datetime] = field(default_factory=dict)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    token_state_path: Path | None = None  # where issued tokens outlive the process (KIS remembers them)
    token_gate: timedelta = TOKEN_GATE  # least time between two token calls of an app key (KIS: a minute)

    def load_tokens(self, path: Path) -> None:
        """Remember tokens (and the last issuance call) at `path` from now on, starting with those saved there.

        KIS keeps a token valid for 24 h whatever happens to the client; a simulator restarted under a
        client with a cached token must accept it too. A missing or unreadable file starts empty.
        """
        self.token_state_path = path
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            self.tokens = [
                IssuedToken(
                    t["token"],
                    t["app_key"],
                    datetime.fromisoformat(t["issued_at"]),
                    datetime.fromisoformat(t["expires_at"]),
                    t.get("revoked", False),
                    t.get("expired", False),
                )
                for t in saved.get("tokens", [])
            ]
            self._last_token_call = {k: datetime.fromisoformat(v) for k, v in saved.get("last_call", {}).items()}
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def _save_tokens(self) -> None:
        if self.token_state_path is None:
            return
        state = {
            "tokens": [
                {
                    "token": t.token,
                    "app_key": t.app_key,
                    "issued_at": t.issued_at.isoformat(),
                    "expires_at": t.expires_at.isoformat(),
                    "revoked": t.revoked,
                    "expired": t.expired,
                }
                for t in self.tokens
            ],
            "last_call": {k: v.isoformat() for k, v in self._last_token_call.items()},
        }
        with contextlib.suppress(OSError):
            self.token_state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.token_state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state), encoding="utf-8")
            tmp.replace(self.token_state_path)

    # -- credentials ----------------------------------------------------------------------------------

    def credential(self, app_key: str, app_secret: str | None = None) -> KisCredential:
        """Return the credential of `app_key` (checking the secret when given).

        Raises
        ------
        KisError
            EGW00103 for an unknown key or a wrong secret; EGW02004 for a key of the other environment.
        """
        for credential in self.credentials:
            if secrets.compare_digest(credential.app_key, app_key or ""):
                if app_secret is not None and not secrets.compare_digest(credential.app_secret, app_secret):
                    raise wire.bad_appkey()
                if credential.mode is not None and credential.mode != self.mode:
                    raise wire.wrong_environment(self.mode)
                return credential
        raise wire.bad_appkey()

    # -- access tokens --------------------------------------------------------------------------------

    def issue_token(self, app_key: str, app_secret: str) -> IssuedToken:
        """Return the token for a ``/oauth2/tokenP`` call: the live one issued < 6 h ago, else a new one.

        Raises
        ------
        KisError
            EGW00133 (403) within a minute of the previous call; credential errors as `credential`.
        """
        self.credential(app_key, app_secret)
        now = self.clock.now()
        last = self._last_token_call.get(app_key)
        if last is not None and now - last < self.token_gate:
            raise wire.token_gate()
        self._last_token_call[app_key] = now
        self._save_tokens()
        for token in reversed(self.tokens):
            if token.app_key == app_key and self._usable(token, now) and now - token.issued_at < TOKEN_REUSE_WINDOW:
                self.token_calls.append((app_key, now, False))
                return token
        token = IssuedToken(token=_jwt_like(), app_key=app_key, issued_at=now, expires_at=now + TOKEN_LIFETIME)
        self.tokens.append(token)
        self.token_calls.append((app_key, now, True))
        self._save_tokens()
        return token

    def check_token(self, authorization: str | None, app_key: str) -> KisCredential:
        """Return the credential behind a request's ``authorization`` and ``appkey`` headers.

        Raises
        ------
        KisError
            EGW00205 without ``Bearer``; EGW00121 for an unknown, revoked or other key's token;
            EGW00123 for an expired one; credential errors as `credential`.
        """
        credential = self.credential(app_key)
        scheme, _, value = (authorization or "").partition(" ")
        if scheme != "Bearer" or not value:
            raise wire.bearer_missing()
        for token in self.tokens:
            if secrets.compare_digest(token.token, value.strip()):
                if token.revoked or token.app_key != credential.app_key:
                    raise wire.token_invalid()
                if token.expired or self.clock.now() >= token.expires_at:
                    raise wire.token_expired()
                return credential
        raise wire.token_invalid()

    def revoke(self, app_key: str, app_secret: str, token_value: str) -> bool:
        """Revoke `token_value` of `app_key`; return False when no such token exists."""
        self.credential(app_key, app_secret)
        for token in self.tokens:
            if token.app_key == app_key and secrets.compare_digest(token.token, token_value):
                token.revoked = True
                return True
        return False

    def expire_tokens(self) -> int:
        """Expire every issued token now (fault knob); return how many were live."""
        live = [t for t in self.tokens if self._usable(t, self.clock.now())]
        for token in live:
            token.expired = True
        if live:
            self._save_tokens()  # an expired token stays expired across a restart, as at KIS
        return len(live)

    @property
    def issued_count(self) -> int:
        """Return how many distinct tokens were issued (a reused token counts once)."""
        return len(self.tokens)

    # -- approval keys --------------------------------------------------------------------------------

    def issue_approval_key(self, app_key: str, secret_key: str) -> str:
        """Return a fresh approval key (``/oauth2/Approval``), valid 24 h."""
        self.credential(app_key, secret_key)
        key = str(uuid.uuid4())
        self.approval_keys[key] = (app_key, self.clock.now() + APPROVAL_LIFETIME)
        return key

    def approval_owner(self, approval_key: str) -> KisCredential | None:
        """Return the credential of a valid approval key, or None (unknown or expired)."""
        entry = self.approval_keys.get(approval_key or "")
        if entry is None or self.clock.now() >= entry[1]:
            return None
        try:
            return self.credential(entry[0])
        except KisError:
            return None

    # -- rate limit -----------------------------------------------------------------------------------

    def admit(self, app_key: str) -> None:
        """Count one request of `app_key` against its bucket.

        Raises
        ------
        KisError
            EGW00201 when the bucket is empty.
        """
        rate = self.rate_limit_per_sec
        if rate is None or not app_key:
            return
        now = self.clock.now()
        capacity = max(1.0, rate)
        bucket = self._buckets.get(app_key)
        if bucket is None:
            bucket = self._buckets[app_key] = _Bucket(tokens=capacity, at=now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.at = now
        if bucket.tokens < 1.0 - 1e-9:
            raise wire.rate_limited()
        bucket.tokens -= 1.0

    @staticmethod
    def _usable(token: IssuedToken, now: datetime) -> bool:
        return not token.revoked and not token.expired and now < token.expires_at


def _jwt_like() -> str:
    # Three base64url parts like the sample's JWT; the content is random (clients treat it as opaque).
    return ".".join(secrets.token_urlsafe(n) for n in (27, 120, 64))
