"""The simulator's check of Upbit's JWT authentication (an independent implementation of §2; the adapter's own
signing is never imported).

Rules (../reference/upbit-openapi.md §2.2–§2.5, §9 pitfalls 3 and 4), in this order:

* ``Authorization: Bearer <jwt>`` is required; a missing header is 401 ``jwt_verification`` [U: undocumented].
* The token header's ``alg`` must be HS256 or HS512 (``none`` and anything else: ``jwt_verification``).
* ``access_key`` must name a known key (``invalid_access_key``); the signature must verify with its secret key
  (``jwt_verification``).
* ``nonce`` is required and single-use per key (``nonce_used``); the last `REMEMBERED_NONCES` nonces of a key are
  remembered [U: how long Upbit remembers them is undocumented].
* With parameters, ``query_hash`` must be the SHA-512 hex of the parameter string the server rebuilds — the
  decoded query in the order received (GET, DELETE) or the JSON body's pairs in key order (POST), arrays as
  repeated ``key[]=value``, a JSON null as ``null`` — and ``query_hash_alg`` ``SHA512`` if given; otherwise
  ``invalid_query_payload``. `lenient_query_hash` also accepts the hash of the raw (percent-encoded) query.
  Without parameters the token must carry no hash.
"""

import hashlib
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

import jwt

from stock_manager.adapters.broker.upbit_sim.wire import UpbitApiError

ALGORITHMS: Final = frozenset({"HS256", "HS512"})
REMEMBERED_NONCES: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class UpbitKey:
    """An API key pair the simulator accepts (never log it)."""

    access_key: str
    secret_key: str


def unauthorized(name: str, message: str) -> UpbitApiError:
    """Return a 401 with `name` (§2.5)."""
    return UpbitApiError(401, name, message)


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Return the decoded ``(key, value)`` pairs of a raw query string, in order (``+`` stays ``+``)."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def body_pairs(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the pairs of a JSON body as Upbit hashes them: key order, lists as ``key[]=item``."""
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        items = value if isinstance(value, list) else [value]
        name = f"{key}[]" if isinstance(value, list) and not key.endswith("[]") else key
        pairs.extend((name, _render(item)) for item in items)
    return pairs


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parameter_string(pairs: Iterable[tuple[str, str]]) -> str:
    """Return ``k=v&k=v`` of `pairs`."""
    return "&".join(f"{key}={value}" for key, value in pairs)


class JwtGate:
    """Authenticates Exchange API requests and private WebSocket handshakes.

    Parameters
    ----------
    keys : Iterable[UpbitKey]
        The accepted key pairs.
    lenient_query_hash : bool
        Also accept a ``query_hash`` over the raw, percent-encoded query (§10 "lenient mode").
    """

    def __init__(self, keys: Iterable[UpbitKey], *, lenient_query_hash: bool = False) -> None:
        self._keys = {key.access_key: key for key in keys}
        self._nonces: dict[str, tuple[set[str], deque[str]]] = {}
        self.lenient_query_hash = lenient_query_hash
        self.refusals: dict[str, int] = {}

    @property
    def keys(self) -> list[UpbitKey]:
        """Return the accepted keys."""
        return list(self._keys.values())

    def authenticate(self, authorization: str | None, pairs: list[tuple[str, str]], raw_query: str = "") -> UpbitKey:
        """Return the key of a request whose parameters are `pairs` (decoded, in order).

        Raises
        ------
        UpbitApiError
            401 with the §2.5 name of the first rule broken (module docstring).
        """
        try:
            key, claims = self._verify(authorization)
            expected = {hashlib.sha512(parameter_string(pairs).encode()).hexdigest()} if pairs else set()
            if pairs and self.lenient_query_hash and raw_query:
                expected.add(hashlib.sha512(raw_query.encode()).hexdigest())
            given = claims.get("query_hash")
            if (given is None) != (not expected) or (given is not None and given not in expected):
                raise unauthorized("invalid_query_payload", "Jwt의 query를 검증하는데 실패하였습니다.")
            if given is not None and claims.get("query_hash_alg", "SHA512") != "SHA512":
                raise unauthorized("invalid_query_payload", "Jwt의 query를 검증하는데 실패하였습니다.")
            self._use_nonce(key, claims)
            return key
        except UpbitApiError as e:
            self.refusals[str(e.name)] = self.refusals.get(str(e.name), 0) + 1
            raise

    def authenticate_handshake(self, authorization: str | None) -> UpbitKey:
        """Return the key of a private WebSocket handshake (a token without hash claims, §2.4).

        Raises
        ------
        UpbitApiError
            401 as `authenticate`.
        """
        return self.authenticate(authorization, [])

    def _verify(self, authorization: str | None) -> tuple[UpbitKey, dict[str, Any]]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise unauthorized("jwt_verification", "Jwt 토큰 검증에 실패했습니다.") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise unauthorized("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        key = self._keys.get(str(unverified.get("access_key", "")))
        if key is None:
            raise unauthorized("invalid_access_key", "잘못된 엑세스 키입니다.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # Upbit's secrets are 40 characters
                claims = jwt.decode(token, key.secret_key, algorithms=[algorithm])
        except jwt.PyJWTError:
            raise unauthorized("jwt_verification", "Jwt 토큰 검증에 실패했습니다.") from None
        return key, claims

    def _use_nonce(self, key: UpbitKey, claims: dict[str, Any]) -> None:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise unauthorized("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        seen, order = self._nonces.setdefault(key.access_key, (set(), deque()))
        if nonce in seen:
            raise unauthorized("nonce_used", "This temporary number has already been used.")
        seen.add(nonce)
        order.append(nonce)
        if len(order) > REMEMBERED_NONCES:
            seen.discard(order.popleft())
