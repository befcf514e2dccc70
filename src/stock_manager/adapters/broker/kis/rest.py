"""The raw KIS REST client: headers, rate limit, token refresh, retries of reads, paging, error translation.

Source: ../reference/kis-openapi.md §3.1 (headers), §3.2 (envelope), §3.3 (``tr_cont`` F/M/D/E paging with
``CTX_AREA_FK100``/``NK100`` sent back unstripped; SYDB0050 → restart), §6 (limits and codes), §8 (pitfalls).
Reads are retried with jittered exponential back-off (tenacity) on EGW00201, 5xx and transport failures;
orders and cancels are never re-sent, except once after EGW00123/EGW00121 (the gateway refused the token,
so nothing was processed).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from stock_manager.adapters.broker.kis.auth import Sleep, TokenManager
from stock_manager.adapters.broker.kis.config import KisConfig
from stock_manager.adapters.broker.kis.errors import (
    PagingInvalidated,
    RateLimited,
    RetryableRead,
    TokenRejected,
    check_response,
)
from stock_manager.adapters.broker.kis.masking import Masker
from stock_manager.adapters.broker.kis.parsers import lower_keys
from stock_manager.adapters.broker.kis.ratelimit import Priority, PriorityRateLimiter
from stock_manager.domain.errors import AmbiguousOrderOutcome, TemporaryBrokerError

log = structlog.get_logger(__name__)

#: Page markers of the ``tr_cont`` response header: more data follows (§3.3).
MORE_PAGES = frozenset({"F", "M"})
#: Restarts from page 1 after SYDB0050 before giving up for now.
MAX_PAGING_RESTARTS = 3
#: Connect-phase failures: the request never left, so nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class KisAnswer:
    """A successful answer: the JSON body and the ``tr_cont`` response header (``""`` when absent)."""

    body: dict[str, Any]
    tr_cont: str


class KisRestClient:
    """Sends KIS REST calls for one app key.

    Parameters
    ----------
    config : KisConfig
        Credentials, account, mode and switches (hashkey).
    http : httpx.AsyncClient
        Client with the REST base URL.
    tokens : TokenManager
        Access token (and hashkeys).
    limiter : PriorityRateLimiter
        The app key's limiter.
    sleep : Callable[[float], Awaitable[None]]
        Async sleep for back-offs.
    masker : Masker
        Masks secrets in messages.
    read_attempts : int
        Tries of a read (first included) before its error is raised.
    """

    def __init__(
        self,
        *,
        config: KisConfig,
        http: httpx.AsyncClient,
        tokens: TokenManager,
        limiter: PriorityRateLimiter,
        sleep: Sleep,
        masker: Masker,
        read_attempts: int = 5,
    ) -> None:
        self._config = config
        self._http = http
        self._tokens = tokens
        self._limiter = limiter
        self._sleep = sleep
        self._masker = masker
        self._read_attempts = read_attempts
        self.requests_sent = 0  # REST calls that left (tokens and hashkeys not counted)

    async def read(self, path: str, tr_id: str, params: Mapping[str, str], *, tr_cont: str = "") -> KisAnswer:
        """GET a quotation or inquiry, retrying EGW00201, 5xx and transport failures with jittered back-off.

        Raises
        ------
        TemporaryBrokerError
            When the tries are used up, or KIS answers a business error for the read.
        FatalBrokerError
            On credential, permission, host, TR or account errors.
        """
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((RetryableRead, RateLimited)),
            stop=stop_after_attempt(self._read_attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.3),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: log.warning(
                "kis_read_retry",
                tr_id=tr_id,
                attempt=state.attempt_number,
                error=self._masker(state.outcome.exception() if state.outcome else ""),
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await self._with_token("GET", path, tr_id, params=params, tr_cont=tr_cont)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def order(self, path: str, tr_id: str, body: Mapping[str, str]) -> dict[str, Any]:
        """POST an order or cancel once; return the body of an accepted answer.

        Raises
        ------
        OrderRejectedByBroker
            KIS refused it (rt_cd != "0"), with KIS's message and code.
        AmbiguousOrderOutcome
            It may have reached KIS (timeout, broken connection, 5xx): inquire, never re-send.
        TemporaryBrokerError
            It was certainly not processed (no connection, EGW00201, no token).
        FatalBrokerError
            On credential, permission, host, TR or account errors.
        """
        answer = await self._with_token("POST", path, tr_id, body=dict(body), tr_cont="")
        return answer.body

    async def read_pages(
        self, path: str, tr_id: str, params: Mapping[str, str], *, max_pages: int = 200
    ) -> list[KisAnswer]:
        """Return every page of a pageable inquiry (``tr_cont`` F/M → next page with ``tr_cont: N``).

        ``CTX_AREA_FK100``/``CTX_AREA_NK100`` are sent empty first, then exactly as received (padding kept).
        A SYDB0050 answer (data changed between pages) restarts from page 1.

        Raises
        ------
        TemporaryBrokerError
            After `MAX_PAGING_RESTARTS` restarts, or beyond `max_pages` pages; and as `read`.
        """
        for restart in range(MAX_PAGING_RESTARTS + 1):
            if restart:
                log.warning("kis_paging_restart", tr_id=tr_id, restart=restart)
            try:
                return await self._pages(path, tr_id, params, max_pages)
            except PagingInvalidated:
                continue
        raise TemporaryBrokerError(f"KIS {tr_id}: the data kept changing between pages (SYDB0050)")

    async def _pages(self, path: str, tr_id: str, params: Mapping[str, str], max_pages: int) -> list[KisAnswer]:
        pages: list[KisAnswer] = []
        context = {"CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}
        tr_cont = ""
        for _ in range(max_pages):
            answer = await self.read(path, tr_id, {**params, **context}, tr_cont=tr_cont)
            pages.append(answer)
            if answer.tr_cont not in MORE_PAGES:
                return pages
            body = lower_keys(answer.body)
            context = {
                "CTX_AREA_FK100": str(body.get("ctx_area_fk100") or ""),
                "CTX_AREA_NK100": str(body.get("ctx_area_nk100") or ""),
            }
            if not context["CTX_AREA_NK100"].strip():
                log.warning("kis_paging_without_context", tr_id=tr_id, tr_cont=answer.tr_cont)
                return pages
            tr_cont = "N"
        raise TemporaryBrokerError(f"KIS {tr_id}: more than {max_pages} pages")

    async def _with_token(
        self,
        method: str,
        path: str,
        tr_id: str,
        *,
        params: Mapping[str, str] | None = None,
        body: dict[str, str] | None = None,
        tr_cont: str,
    ) -> KisAnswer:
        token = await self._tokens.access_token()
        try:
            return await self._send(method, path, tr_id, token, params=params, body=body, tr_cont=tr_cont)
        except TokenRejected as e:
            log.warning("kis_token_rejected", tr_id=tr_id, error=self._masker(e))
            await self._tokens.invalidate(token)
            token = await self._tokens.access_token()
            return await self._send(method, path, tr_id, token, params=params, body=body, tr_cont=tr_cont)

    async def _send(
        self,
        method: str,
        path: str,
        tr_id: str,
        token: str,
        *,
        params: Mapping[str, str] | None,
        body: dict[str, str] | None,
        tr_cont: str,
    ) -> KisAnswer:
        is_order = method == "POST"
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}",
            "appkey": self._config.app_key.get_secret_value(),
            "appsecret": self._config.app_secret.get_secret_value(),
            "tr_id": tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }
        content = json.dumps(body).encode() if body is not None else None
        if is_order and self._config.use_hashkey and content is not None:
            headers["hashkey"] = await self._tokens.hashkey(content)
        await self._limiter.acquire(Priority.ORDER if is_order else Priority.READ)
        what = f"{path.rsplit('/', 1)[-1]} {tr_id}"
        try:
            self.requests_sent += 1
            if is_order:
                response = await self._http.post(path, content=content, headers=headers)
            else:
                response = await self._http.get(path, params=dict(params or {}), headers=headers)
        except _NOT_SENT as e:
            error = TemporaryBrokerError if is_order else RetryableRead
            raise error(f"KIS {what}: cannot connect: {type(e).__name__}: {self._masker(e)}") from None
        except httpx.HTTPError as e:
            if is_order:
                raise AmbiguousOrderOutcome(
                    f"KIS {what}: no answer after the request was sent ({type(e).__name__}); inquire before "
                    "doing anything else"
                ) from None
            raise RetryableRead(f"KIS {what}: {type(e).__name__}: {self._masker(e)}") from None
        try:
            decoded = response.json()
        except ValueError:
            decoded = None
        answer = decoded if isinstance(decoded, dict) else None
        check_response(response.status_code, answer, what=what, is_order=is_order)
        assert answer is not None
        return KisAnswer(body=answer, tr_cont=response.headers.get("tr_cont", "").strip().upper())
