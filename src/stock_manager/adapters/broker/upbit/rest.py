"""The raw Upbit REST client: signing, pacing, one place where answers become values or project errors.

Source: upbit-openapi.md §1 (GET/DELETE parameters in the query string only, POST bodies as JSON with
``Content-Type: application/json; charset=utf-8``; 201 for order creation), §2.2 (token per request), §6 (rate
limits), §7 (errors) and §9 pitfalls 4, 8, 11.

Reads are retried with jittered exponential back-off (tenacity) on transport failures, 5xx, unreadable bodies
and ``nonce_used`` (a new token carries a new nonce), ``read_attempts`` tries in all; a 429 is waited out apart
(the limiter holds the group back first), up to `RATE_LIMITED_READ_TRIES` in a row, without using up those
tries. Orders and cancels are sent once and never retried here: a failure after the request may have left the
machine is an `AmbiguousOrderOutcome`, one before it (no connection) a `TemporaryBrokerError`.

JSON numbers are decoded as `Decimal` (``parse_float=Decimal``), so no price or volume ever passes through a
float.
"""

import asyncio
import json
from decimal import Decimal
from typing import Any, Final

import httpx
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from stock_manager.adapters.broker.upbit.auth import Params, UpbitAuth, encode_params, json_body, parameter_string
from stock_manager.adapters.broker.upbit.auth import query_string as build_query
from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.adapters.broker.upbit.errors import (
    CallKind,
    NonceUsed,
    RetryableRead,
    UpbitRateLimited,
    translate_error,
)
from stock_manager.adapters.broker.upbit.ratelimit import (
    RATE_LIMITED_READ_TRIES,
    BlockHandler,
    Sleep,
    UpbitRateLimiter,
    request_group,
    request_priority,
)
from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.masking import mask
from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import AmbiguousOrderOutcome, OrderRejectedByBroker, TemporaryBrokerError

log = structlog.get_logger(__name__)

#: Failures before anything was written to the network: the request certainly did not reach Upbit.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
#: Temporary read failures worth another try (a 429 is waited out apart, `RATE_LIMITED_READ_TRIES` times).
_RETRYABLE_READ: Final = (RetryableRead, NonceUsed)
JSON_CONTENT_TYPE: Final = "application/json; charset=utf-8"


def decode_json(content: bytes) -> Any:
    """Return the JSON value of `content` with every non-integer number as `Decimal`, or None if not JSON."""
    try:
        return json.loads(content, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        return None


class UpbitRestClient:
    """Sends Upbit REST requests for one API key.

    Parameters
    ----------
    config : UpbitConfig
        Keys, base URL, timeout, rates and retry/back-off settings.
    auth : UpbitAuth | None
        Token minter; built from `config` when None.
    limiter : UpbitRateLimiter | None
        Pacing and 429/418 handling; built from `config` (with `clock`, `sleep`, `on_blocked`) when None.
    transport : httpx.AsyncBaseTransport | None
        Transport of the internal `httpx.AsyncClient` (``httpx.MockTransport`` in tests).
    clock : Clock | None
        Wall clock for block end times (default: the system clock).
    sleep : Callable[[float], Awaitable[None]]
        Async sleep of read retries and limiter waits.
    on_blocked : Callable[[BlockNotice], Awaitable[None]] | None
        Hook awaited when Upbit answers 418 (ignored when `limiter` is given: set it there).
    """

    def __init__(
        self,
        config: UpbitConfig,
        *,
        auth: UpbitAuth | None = None,
        limiter: UpbitRateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        on_blocked: BlockHandler | None = None,
    ) -> None:
        self._config = config
        self._auth = auth or UpbitAuth(config.access_key, config.secret_key, algorithm=config.jwt_algorithm)
        self.limiter = limiter or UpbitRateLimiter(
            config, clock=clock or SystemClock(), sleep=sleep, on_blocked=on_blocked
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=config.rest_base_url,
            transport=transport,
            timeout=httpx.Timeout(config.request_timeout_secs),
            headers={"accept": "application/json"},
        )
        self.requests_sent = 0  # requests handed to the transport

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> "UpbitRestClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- CALLS --------------------------------------------------------------------------------------------

    async def read(self, path: str, params: Params | None = None, *, signed: bool = True) -> Any:
        """GET `path` with `params` in the query string, retrying temporary failures; return the decoded JSON.

        Parameters
        ----------
        path : str
            E.g. ``"/v1/accounts"``.
        params : Mapping[str, ParamValue] | None
            Query parameters in the order to send; lists become ``key[]`` pairs, None values are dropped.
        signed : bool
            Send a JWT (Exchange API); False for Quotation endpoints.

        Raises
        ------
        TemporaryBrokerError
            When the tries are used up (`RetryableRead`, `NonceUsed`; `UpbitRateLimited` after
            `RATE_LIMITED_READ_TRIES` 429s in a row) or Upbit refused the parameters (`UpbitRequestRefused`, not
            retried).
        FatalBrokerError
            Keys, IP allow-list or permissions refused; `UpbitBlocked` during a 418 block.
        """
        rate_limited = 0
        while True:
            try:
                return await self._read_retrying(path, params, signed=signed)
            except UpbitRateLimited as e:  # "not now": the limiter holds the group back before the next try
                rate_limited += 1
                if rate_limited >= RATE_LIMITED_READ_TRIES:
                    raise
                log.warning("upbit_read_retry", path=path, rate_limited=rate_limited, error=mask(str(e)))

    async def _read_retrying(self, path: str, params: Params | None, *, signed: bool) -> Any:
        # One read with its attempts for failures (a 429 ends it: `read` waits that out without using them up).
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_RETRYABLE_READ),
            stop=stop_after_attempt(self._config.read_attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: log.warning(
                "upbit_read_retry",
                path=path,
                attempt=state.attempt_number,
                error=mask(str(state.outcome.exception())) if state.outcome else "",
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await self.send("GET", path, params, signed=signed, kind=CallKind.READ)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def order(self, path: str, body: Params) -> Any:
        """POST `body` as JSON to `path` once (order creation); return the decoded JSON of the 2xx answer.

        Raises
        ------
        OrderRejectedByBroker
            Upbit refused this order (``code`` = the Upbit error name).
        AmbiguousOrderOutcome
            The request may have reached Upbit (timeout, broken connection, 5xx, unreadable answer): inquire,
            never re-send.
        TemporaryBrokerError
            It certainly did not create anything (no connection, 429, ``nonce_used``).
        FatalBrokerError
            Keys, IP allow-list or permissions refused; `UpbitBlocked` during a 418 block.
        """
        return await self.send("POST", path, body, signed=True, kind=CallKind.ORDER)

    async def cancel(self, path: str, params: Params) -> Any:
        """DELETE `path` with `params` in the query string once; return the decoded JSON of the 2xx answer.

        Raises
        ------
        OrderRejectedByBroker
            Upbit refused this cancel (`UpbitOrderNotFound` for 404 ``order_not_found``).
        AmbiguousOrderOutcome, TemporaryBrokerError, FatalBrokerError
            As `order`.
        """
        return await self.send("DELETE", path, params, signed=True, kind=CallKind.CANCEL)

    async def send(self, method: str, path: str, params: Params | None, *, signed: bool, kind: CallKind) -> Any:
        """Send one request (no retry) and return the decoded JSON of a 2xx answer; see `read`/`order`/`cancel`.

        GET and DELETE carry `params` in the query string (never a body); POST carries them as a JSON object.
        The JWT's ``query_hash`` is over the decoded ``k=v&…`` string of exactly the pairs sent.
        """
        method = method.upper()
        pairs = encode_params(params)
        what = f"{method} {path}"
        headers: dict[str, str] = {}
        content: bytes | None = None
        url = path
        if method == "POST":
            content = json.dumps(json_body(pairs), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["content-type"] = JSON_CONTENT_TYPE
        elif pairs:
            url = f"{path}?{build_query(pairs)}"
        if signed:
            headers["authorization"] = self._auth.authorization(parameter_string(pairs))
        group = request_group(method, path)
        await self.limiter.acquire(group, request_priority(method, path))
        try:
            self.requests_sent += 1
            response = await self._http.request(method, url, content=content, headers=headers)
        except _NOT_SENT as e:
            error = TemporaryBrokerError if kind is not CallKind.READ else RetryableRead
            raise error(mask(f"Upbit {what}: cannot connect ({type(e).__name__}: {e}); nothing was sent")) from None
        except httpx.HTTPError as e:
            if kind is CallKind.READ:
                raise RetryableRead(mask(f"Upbit {what}: {type(e).__name__}: {e}")) from None
            raise AmbiguousOrderOutcome(
                mask(
                    f"Upbit {what}: no answer after the request was sent ({type(e).__name__}); it may have been "
                    "processed: inquire before anything else"
                )
            ) from None
        return await self._answer(response, group=group, kind=kind, what=what)

    async def _answer(self, response: httpx.Response, *, group: str, kind: CallKind, what: str) -> Any:
        text = response.text if response.status_code >= 400 else ""
        limited = await self.limiter.observe(group, response.status_code, response.headers, text, what=what)
        if limited is not None:
            raise limited
        decoded = decode_json(response.content)
        if response.is_success:
            if decoded is None:
                if kind is CallKind.READ:
                    raise RetryableRead(f"Upbit {what}: HTTP {response.status_code} with a body that is not JSON")
                raise AmbiguousOrderOutcome(
                    f"Upbit {what}: HTTP {response.status_code} with a body that is not "
                    "JSON; the request may have been processed: inquire before anything else"
                )
            return decoded
        error = translate_error(response.status_code, decoded, text, kind=kind, what=what)
        # A refusal of one order (or "no such order") is an expected outcome; everything else is worth a warning.
        level = log.info if isinstance(error, OrderRejectedByBroker) else log.warning
        level(
            "upbit_request_failed",
            what=what,
            status=response.status_code,
            error_type=type(error).__name__,
            error=str(error),
        )
        raise error
