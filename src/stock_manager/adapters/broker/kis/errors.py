"""Translation of KIS answers into the project's error hierarchy, decided by ``msg_cd``/``rt_cd``, not HTTP status.

Source: ../reference/kis-openapi.md §3.2 (envelope), §6.2 (codes) and §8 (pitfalls 2, 3, 4). The table:

=================================================  ==========================================================
KIS answer                                          raised
=================================================  ==========================================================
EGW00123 / EGW00121 (any HTTP status)               `TokenRejected`: invalidate, re-issue once, repeat the call
EGW00201 (any status)                               `RateLimited`: reads back off and retry; orders raise it
                                                    (a `TemporaryBrokerError`: the gateway refused, nothing sent)
SYDB0050 (rt_cd 7)                                  `PagingInvalidated`: restart paging from page 1
EGW00205/206/207, EGW02004, MCA00124, OPSQ0002,     `FatalBrokerError` (credentials, permissions, wrong host,
OPSQ2001, APAC0081, "모의투자 TR 이 아닙니다", 401/403   unknown TR, bad account): stop trading
order/cancel, rt_cd != "0", HTTP < 500              `OrderRejectedByBroker(msg1 stripped, code=msg_cd)`
order/cancel, HTTP >= 500 with any other code,      `AmbiguousOrderOutcome`: resolve by inquiry, never re-send
or no readable body
read, HTTP >= 500 or no readable body               `RetryableRead` (a `TemporaryBrokerError`, retried)
read, rt_cd != "0", HTTP < 500                      `TemporaryBrokerError` (not retried)
=================================================  ==========================================================
"""

from typing import Any

from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)

TOKEN_CODES = frozenset({"EGW00123", "EGW00121"})
RATE_LIMIT_CODE = "EGW00201"
TOKEN_RATE_CODE = "EGW00133"  # noqa: S105 - a KIS message code, not a secret  # nosec B105
PAGING_CHANGED_CODE = "SYDB0050"
FATAL_CODES = frozenset(
    {
        "EGW00205",  # credentials_type (Bearer) / unregistered IP
        "EGW00206",  # API not subscribed
        "EGW00207",  # IP restriction
        "EGW02004",  # paper app key on the real host
        "MCA00124",  # service not on this host
        "OPSQ0002",  # unknown TR id
        "OPSQ2001",  # missing required parameter (a bug in the request)
        "APAC0081",  # wrong account number
    }
)
WRONG_MODE_TEXT = "모의투자 TR 이 아닙니다"


class TokenRejected(TemporaryBrokerError):
    """KIS refused the access token (EGW00123 expired / EGW00121 invalid); re-issue and repeat once."""


class RateLimited(TemporaryBrokerError):
    """KIS answered EGW00201 (too many calls per second); nothing was processed."""


class RetryableRead(TemporaryBrokerError):
    """A read failed in transport or with a 5xx; repeating it is harmless."""


class PagingInvalidated(TemporaryBrokerError):
    """The data changed between pages (SYDB0050); read again from the first page."""


def envelope(body: dict[str, Any]) -> tuple[str, str, str]:
    """Return (rt_cd, msg_cd, msg1 stripped) of a KIS body; token errors' error_code/description too."""
    rt_cd = str(body.get("rt_cd", "") or "").strip()
    code = str(body.get("msg_cd") or body.get("error_code") or "").strip()
    message = str(body.get("msg1") or body.get("error_description") or "").strip()
    return rt_cd, code, message


def check_response(status: int, body: dict[str, Any] | None, *, what: str, is_order: bool) -> None:
    """Return when the answer is a success; otherwise raise the error the table above gives.

    Parameters
    ----------
    status : int
        HTTP status.
    body : dict | None
        The decoded JSON object, or None when the body was not a JSON object.
    what : str
        The operation, for messages (e.g. ``"order-cash TTTC0012U"``).
    is_order : bool
        True for order and cancel POSTs (no blind retry; 5xx is ambiguous).
    """
    if body is None:
        if status in (401, 403):
            raise FatalBrokerError(f"KIS {what}: HTTP {status} without a KIS answer")
        if is_order:
            raise AmbiguousOrderOutcome(f"KIS {what}: HTTP {status} without a readable answer")
        raise RetryableRead(f"KIS {what}: HTTP {status} without a readable answer")
    rt_cd, code, message = envelope(body)
    detail = f"{message} ({code})" if code else message or f"HTTP {status}"
    if code in TOKEN_CODES:
        raise TokenRejected(f"KIS {what}: access token refused: {detail}")
    if code == RATE_LIMIT_CODE:
        raise RateLimited(f"KIS {what}: rate limit: {detail}")
    if rt_cd == "0" and status < 400:
        return
    if code == PAGING_CHANGED_CODE:
        raise PagingInvalidated(f"KIS {what}: {detail}")
    if code in FATAL_CODES or WRONG_MODE_TEXT in message or status in (401, 403):
        raise FatalBrokerError(f"KIS {what}: {detail}")
    if is_order:
        if status >= 500 or rt_cd == "0":
            raise AmbiguousOrderOutcome(f"KIS {what}: HTTP {status}: {detail}")
        raise OrderRejectedByBroker(message or f"rejected ({code})", code=code)
    if status >= 500:
        raise RetryableRead(f"KIS {what}: HTTP {status}: {detail}")
    raise TemporaryBrokerError(f"KIS {what}: {detail}")
