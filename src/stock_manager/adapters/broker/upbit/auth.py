"""Upbit request signing: the parameter string, its SHA-512 ``query_hash``, and the JWT of each request.

Source: upbit-openapi.md §2.2 (token construction and test vectors), §2.3 (a fresh UUID nonce per request),
§2.4 (private WebSocket token without hash claims) and §9 pitfall 4 (the hashed string must be exactly what the
server rebuilds: decoded values, the order sent, ``key[]=v`` for arrays, no ``None`` entries).

Parameters are normalised once (`encode_params`) into ``(key, text)`` pairs; the URL query is those pairs
percent-encoded (`query_string`) and the hash is over the same pairs *decoded* (`parameter_string`), so the two
can never disagree. POST bodies are rendered from the same pairs (`json_body`).

Secrets: the access and secret keys are registered with the process-wide masking when an `UpbitAuth` is built.
The tokens minted here (one per request) are *not* registered one by one: the registry recompiles one regular
expression over every value it holds on each registration, which made a thousand registrations take minutes;
every token still starts with ``eyJ`` and is masked by the registry's JWT pattern (and ``Bearer …`` by its bearer
pattern) wherever it appears, and this package never puts a token into a message.
"""

import hashlib
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from pydantic import SecretStr

from stock_manager.adapters.observability.masking import register_secret

type ParamScalar = str | int | Decimal | bool | datetime
type ParamValue = ParamScalar | Sequence[ParamScalar] | None
type Params = Mapping[str, ParamValue]
type Pairs = list[tuple[str, str]]

QUERY_HASH_ALG = "SHA512"


def render_value(value: ParamScalar) -> str:
    """Return the wire text of one parameter value.

    Decimals are written in plain notation (``Decimal("1E-8")`` → ``"0.00000001"``), booleans as
    ``true``/``false``, aware datetimes as ISO 8601 in UTC to the second (``2025-06-24T04:56:53+00:00``;
    fractions of a second are dropped).

    Raises
    ------
    TypeError
        For a float (money and quantities are Decimal), a naive datetime, or any other type.
    """
    match value:
        case bool():
            return "true" if value else "false"
        case str():
            return value
        case int():
            return str(value)
        case Decimal():
            if not value.is_finite():
                raise TypeError(f"parameter value must be a finite Decimal, was {value}")
            return format(value, "f")
        case datetime():
            if value.tzinfo is None or value.utcoffset() is None:
                raise TypeError(f"datetime parameters must be timezone-aware, was {value!r}")
            return value.astimezone(UTC).replace(microsecond=0).isoformat()
        case _:
            raise TypeError(f"unsupported parameter type {type(value).__name__} (floats are not accepted; use Decimal)")


def encode_params(params: Params | None) -> Pairs:
    """Return the ``(key, text)`` pairs sent for `params`, in the mapping's order.

    ``None`` values (and ``None`` items of a list) are dropped, never rendered; a list or tuple value becomes one
    pair per item under ``key[]`` (a key already ending in ``[]`` is kept as it is).
    """
    pairs: Pairs = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, Sequence) and not isinstance(value, str):
            array_key = key if key.endswith("[]") else f"{key}[]"
            pairs.extend((array_key, render_value(item)) for item in value if item is not None)
        else:
            pairs.append((key, render_value(value)))
    return pairs


def parameter_string(pairs: Iterable[tuple[str, str]]) -> str:
    """Return the decoded ``k=v&k=v`` string that Upbit hashes (§2.2 step 1), e.g. ``states[]=done&states[]=cancel``."""
    return "&".join(f"{key}={value}" for key, value in pairs)


def query_string(pairs: Iterable[tuple[str, str]]) -> str:
    """Return the percent-encoded URL query of `pairs` (``+`` → ``%2B``, ``:`` → ``%3A``, ``[]`` → ``%5B%5D``)."""
    return urlencode(list(pairs), quote_via=quote, safe="")


def json_body(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Return the JSON body object of `pairs`: string values, in order; ``key[]`` pairs become a list under ``key``."""
    body: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            items = body.setdefault(key[:-2], [])
            assert isinstance(items, list)
            items.append(value)
        else:
            body[key] = value
    return body


def query_hash(parameters: str) -> str:
    """Return the lowercase hex SHA-512 of the UTF-8 bytes of `parameters` (§2.2 step 2)."""
    return hashlib.sha512(parameters.encode("utf-8")).hexdigest()


class UpbitAuth:
    """Mints the JWTs of one API key: one per REST request (with ``query_hash`` when there are parameters) and
    one per private WebSocket handshake.

    Parameters
    ----------
    access_key, secret_key : SecretStr | str
        The key pair; both are registered with the process-wide masking at once.
    algorithm : str
        ``"HS512"`` (default) or ``"HS256"`` (§2.2 step 4).
    nonce_factory : Callable[[], str]
        Returns a never-repeated nonce; default ``str(uuid.uuid4())`` (§2.3).

    Raises
    ------
    ValueError
        If a key is empty or `algorithm` is not HS256/HS512.
    """

    def __init__(
        self,
        access_key: SecretStr | str,
        secret_key: SecretStr | str,
        *,
        algorithm: str = "HS512",
        nonce_factory: Callable[[], str] | None = None,
    ) -> None:
        self._access_key = _reveal(access_key)
        self._secret_key = _reveal(secret_key)
        if not self._access_key or not self._secret_key:
            raise ValueError("the Upbit access key and secret key must not be empty")
        if algorithm not in {"HS256", "HS512"}:
            raise ValueError(f"algorithm must be HS256 or HS512, was {algorithm!r}")
        self._algorithm = algorithm
        self._nonce = nonce_factory or (lambda: str(uuid.uuid4()))
        register_secret(self._access_key)
        register_secret(self._secret_key)

    def claims(self, parameters: str = "") -> dict[str, Any]:
        """Return the claims of a token for the parameter string `parameters` (``""``: no hash claims; §2.2 step 3)."""
        claims: dict[str, Any] = {"access_key": self._access_key, "nonce": self._nonce()}
        if parameters:
            claims["query_hash"] = query_hash(parameters)
            claims["query_hash_alg"] = QUERY_HASH_ALG
        return claims

    def token(self, parameters: str = "") -> str:
        """Return a signed JWT for one request whose decoded parameter string is `parameters`."""
        with warnings.catch_warnings():
            # Upbit issues 40-character secret keys; PyJWT warns that HS512 keys "should" be 64 bytes.
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            return jwt.encode(self.claims(parameters), self._secret_key, algorithm=self._algorithm)

    def authorization(self, parameters: str = "") -> str:
        """Return the ``Authorization`` header value (``Bearer <jwt>``) for one request (§2.2 step 5)."""
        return f"Bearer {self.token(parameters)}"

    def websocket_authorization(self) -> str:
        """Return the ``Authorization`` header value of a private WebSocket handshake (no hash claims; §2.4)."""
        return self.authorization("")


def _reveal(value: SecretStr | str) -> str:
    return (value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
