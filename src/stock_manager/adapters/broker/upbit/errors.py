"""Translation of Upbit answers into the project's error hierarchy: once, here, by error ``name`` and HTTP status.

Source: upbit-openapi.md §2.5 (auth errors), §4.3 (order errors), §4.5/§4.9 (``order_not_found``), §6 (429, 418;
non-JSON bodies), §7 (error body and names; Quotation errors carry a *numeric* name) and §9 pitfalls 3, 11, 15.

A call is one of three kinds (`CallKind`): READ (quotations, balances, order inquiries; repeating one is
harmless), ORDER (``POST /v1/orders``: creates something) and CANCEL (``DELETE /v1/order`` and other cancels).

=====================================================  =================================================
Upbit answer                                            raised
=====================================================  =================================================
418 (any body)                                          `UpbitBlocked` (a `FatalBrokerError`), see `ratelimit`
429 (any body)                                          `UpbitRateLimited` (temporary; nothing was processed)
401 ``nonce_used``                                      `NonceUsed` (temporary; nothing was processed)
401 any other name, 401/403 without a readable name,    `FatalBrokerError`: keys, IP allow-list, permission;
``jwt_verification``, ``invalid_access_key``,           stop trading
``expired_access_key``, ``no_authorization_i_p`` /
``no_authorization_ip``, ``out_of_scope``,
``invalid_query_payload``, other 403 names
404 ``order_not_found``                                 `UpbitOrderNotFound` (an `OrderRejectedByBroker`)
ORDER/CANCEL, 5xx or an unreadable body                 `AmbiguousOrderOutcome`: inquire, never re-send
ORDER/CANCEL, other 4xx with a name (the §4.3 list:     `OrderRejectedByBroker(message, code=name)`
``insufficient_funds_*``, ``under_min_total_*``,
``over_krw_funds_*``, ``invalid_price_*``,
``invalid_time_in_force``, ``create_*_error``,
``validation_error``, ``invalid_parameter``,
``notfoundmarket``, 403 ``market_offline``, …)
READ, 5xx or an unreadable body                         `RetryableRead` (temporary; retried)
READ, other 4xx (incl. numeric Quotation names)         `UpbitRequestRefused` (temporary; not retried)
=====================================================  =================================================
"""

from datetime import datetime
from enum import Enum
from typing import Any, Final

from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    BrokerError,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)

#: Error names that mean the key, its IP allow-list or its permissions are wrong (§2.5).
FATAL_NAMES: Final = frozenset(
    {
        "jwt_verification",
        "invalid_access_key",
        "expired_access_key",
        "no_authorization_ip",
        "no_authorization_i_p",
        "out_of_scope",
        "invalid_query_payload",
    }
)
#: Documented refusals of one order (§4.3, §7); other 4xx names are refusals too.
ORDER_REJECTION_NAMES: Final = frozenset(
    {
        "insufficient_funds_ask",
        "insufficient_funds_bid",
        "under_min_total_ask",
        "under_min_total_bid",
        "over_krw_funds_ask",
        "over_krw_funds_bid",
        "invalid_price_ask",
        "invalid_price_bid",
        "invalid_time_in_force",
        "create_ask_error",
        "create_bid_error",
        "validation_error",
        "invalid_parameter",
        "notfoundmarket",
        "market_offline",
    }
)
NONCE_USED: Final = "nonce_used"
ORDER_NOT_FOUND: Final = "order_not_found"
_BODY_EXCERPT_CHARS = 120


class CallKind(Enum):
    """What a request does, which decides how an uncertain outcome is reported."""

    READ = "read"  # no side effect: repeat freely
    ORDER = "order"  # creates an order: never repeat blindly
    CANCEL = "cancel"  # cancels an order: never repeat blindly either (the answer carries the snapshot)


class RetryableRead(TemporaryBrokerError):
    """A read failed in transport, with a 5xx or with an unreadable body; repeating it is harmless."""


class NonceUsed(TemporaryBrokerError):
    """Upbit refused the token's nonce as already used (401 ``nonce_used``); nothing was processed, so a new
    token may be tried (a read is retried; an order was certainly not created)."""


class UpbitRateLimited(TemporaryBrokerError):
    """Upbit answered 429 for a group; nothing was processed.

    Attributes
    ----------
    group : str
        The ``Remaining-Req`` group that is limited.
    retry_after_secs : float
        How long the client holds the group back before its next request.
    """

    def __init__(self, message: str, *, group: str = "", retry_after_secs: float = 0.0) -> None:
        super().__init__(message)
        self.group = group
        self.retry_after_secs = retry_after_secs


class UpbitBlocked(FatalBrokerError):
    """Upbit answered 418: the IP or account is blocked for a while after ignoring 429s; nothing is sent until
    `until`. Stop trading and alert.

    Attributes
    ----------
    until_utc : datetime | None
        Aware UTC time the block is expected to end (None when built outside the limiter).
    duration_secs : float
        The block's length as stated by Upbit or assumed.
    """

    def __init__(self, message: str, *, until_utc: datetime | None = None, duration_secs: float = 0.0) -> None:
        super().__init__(message)
        self.until_utc = until_utc
        self.duration_secs = duration_secs


class UpbitOrderNotFound(OrderRejectedByBroker):
    """Upbit knows no order with that uuid/identifier (404 ``order_not_found``): a definite "not there"."""


class UpbitRequestRefused(TemporaryBrokerError):
    """Upbit refused a read's parameters (4xx other than auth errors); repeating the same read would not help.

    Attributes
    ----------
    code : str
        The Upbit error name (``str`` of the number for Quotation errors, e.g. ``"404"``).
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def error_name_and_message(body: Any) -> tuple[str, str]:
    """Return ``(name, message)`` of an Upbit error body (``{"error": {"name", "message"}}``), or ``("", "")``.

    A numeric name (Quotation errors, §7) is returned as its decimal text, e.g. ``"404"``.
    """
    if not isinstance(body, dict) or not isinstance(error := body.get("error"), dict):
        return "", ""
    name, message = error.get("name"), error.get("message")
    return ("" if name is None else str(name)).strip(), ("" if message is None else str(message)).strip()


def translate_error(status: int, body: Any, text: str, *, kind: CallKind, what: str) -> BrokerError:
    """Return the error to raise for a non-2xx Upbit answer (418 is `ratelimit`'s, but mapped here too).

    Parameters
    ----------
    status : int
        HTTP status (not 2xx).
    body : Any
        The decoded JSON body, or None when the body was not JSON.
    text : str
        The raw body text (for non-JSON pages; only an excerpt goes into messages).
    kind : CallKind
        What the request does.
    what : str
        The call, for messages, e.g. ``"POST /v1/orders"``.

    Returns
    -------
    BrokerError
        Per the module's table; its message is masked and names the call, the status and the Upbit name.
    """
    name, message = error_name_and_message(body)
    if name:
        detail = f"{name}: {message}" if message else name
    else:
        excerpt = " ".join(mask(text).split())[:_BODY_EXCERPT_CHARS]  # mask first: a cut secret is not recognised
        detail = f"unreadable body {excerpt!r}" if excerpt else "empty body"
    prefix = mask(f"Upbit {what}: HTTP {status}: {detail}")
    if status == 418:
        return UpbitBlocked(prefix)
    if status == 429:
        return UpbitRateLimited(prefix)
    if name == NONCE_USED:
        return NonceUsed(prefix)
    if name in FATAL_NAMES or status == 401 or (status == 403 and name != "market_offline"):
        return FatalBrokerError(prefix)
    if name == ORDER_NOT_FOUND:
        return UpbitOrderNotFound(mask(message or "order not found"), code=ORDER_NOT_FOUND)
    uncertain = status >= 500 or not name
    if kind is CallKind.READ:
        return RetryableRead(prefix) if uncertain else UpbitRequestRefused(prefix, code=name)
    if uncertain:
        return AmbiguousOrderOutcome(f"{prefix}; the request may have been processed: inquire before anything else")
    return OrderRejectedByBroker(mask(message or name), code=name)
