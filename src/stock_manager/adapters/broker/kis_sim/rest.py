"""The simulator's REST application (aiohttp): the gateway checks every ``/uapi`` call goes through, the
OAuth endpoints and the hashkey (KIS reference §2, §3).

Gateway order for ``/uapi`` calls: random faults (knobs) first, then the per-appkey rate limit (every call
with an ``appkey`` header counts, the hashkey too), then ``appkey``/``appsecret`` and the bearer token
(except ``/uapi/hashkey``, which takes no token). Errors are answered in KIS's shapes with ``tr_id`` echoed.
"""

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.wire import KisError

#: The OAuth token type of ``/oauth2/tokenP`` answers (KIS: "Bearer"), not a secret.
OAUTH_TOKEN_TYPE = "Bearer"  # noqa: S105  # nosec B105  # a token type, not a secret

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator

log = logging.getLogger(__name__)
SIM_KEY: web.AppKey["KisExchangeSimulator"] = web.AppKey("kis_simulator")
CREDENTIAL_KEY: web.RequestKey[KisCredential] = web.RequestKey("kis_credential", KisCredential)
HASHKEY_PATH = "/uapi/hashkey"
DAILY_CHART_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sim_of(request: web.Request) -> "KisExchangeSimulator":
    """Return the simulator serving `request`."""
    return request.app[SIM_KEY]


def credential_of(request: web.Request) -> KisCredential:
    """Return the credential the gateway authenticated for `request`."""
    return request[CREDENTIAL_KEY]


def kis_response(body: dict[str, Any], *, status: int = 200, tr_id: str = "", tr_cont: str = "") -> web.Response:
    """Return a JSON response with KIS's headers (``tr_id`` echo, ``tr_cont``, ``gt_uid``)."""
    headers = {"tr_id": tr_id, "tr_cont": tr_cont, "gt_uid": uuid.uuid4().hex}
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


async def json_body(request: web.Request) -> dict[str, Any]:
    """Return the JSON object of a POST body.

    Raises
    ------
    KisError
        OPSQ2001 when the body is not a JSON object.
    """
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise wire.invalid_param("body", "not JSON") from None
    if not isinstance(body, dict):
        raise wire.invalid_param("body", type(body).__name__)
    return body


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request, apply faults, the rate limit and authentication, and shape `KisError`s."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    sim.records.requests_per_path[request.path] += 1
    if tr_id:
        sim.records.requests_per_tr[tr_id] += 1
    try:
        if request.path.startswith("/uapi/"):
            fault = sim.faults.draw_random_fault()
            if fault is not None:
                sim.fault_log.note(fault, path=request.path, tr_id=tr_id)
            if fault == "error500":
                raise wire.internal_error()
            if fault == "rate_limit":
                raise wire.rate_limited()
            if request.path == DAILY_CHART_PATH and sim.faults.history_out(sim.wall_clock.now()):
                sim.fault_log.note("history_outage", path=request.path, tr_id=tr_id)
                raise wire.internal_error()
            app_key = request.headers.get("appkey", "")
            sim.gateway.admit(app_key)
            credential = sim.gateway.credential(app_key)
            secret = request.headers.get("appsecret", "")
            if secret != credential.app_secret:
                raise KisError(500, "EGW00105", "유효하지 않은 AppSecret입니다.")  # code and text [?]
            if request.path != HASHKEY_PATH:
                credential = sim.gateway.check_token(request.headers.get("authorization"), app_key)
            request[CREDENTIAL_KEY] = credential
        return await handler(request)
    except KisError as error:
        return kis_response(error.body(), status=error.http_status, tr_id=tr_id)
    except (web.HTTPException, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("the simulator failed on %s %s", request.method, request.path)
        failure = wire.internal_error()
        return kis_response(failure.body(), status=failure.http_status, tr_id=tr_id)


# -- OAuth --------------------------------------------------------------------------------------------------


async def token_p(request: web.Request) -> web.Response:
    """``POST /oauth2/tokenP``: the access token (sample ``rest-oauth-tokenP-200.json``); 1/min, 6 h reuse."""
    sim = sim_of(request)
    body = await json_body(request)
    if body.get("grant_type") != "client_credentials":
        raise KisError(403, "EGW00102", "grant_type이 유효하지 않습니다.", oauth_shape=True)  # code and text [?]
    token = sim.gateway.issue_token(str(body.get("appkey", "")), str(body.get("appsecret", "")))
    remaining = int((token.expires_at - sim.wall_clock.now()).total_seconds())
    return kis_response(
        {
            "access_token": token.token,
            "access_token_token_expired": wire.kst_timestamp(token.expires_at),
            "token_type": OAUTH_TOKEN_TYPE,
            "expires_in": remaining,
        }
    )


async def revoke_p(request: web.Request) -> web.Response:
    """``POST /oauth2/revokeP``: revoke a token; ``code`` is an integer (reference §2.2; texts [?])."""
    sim = sim_of(request)
    body = await json_body(request)
    if sim.gateway.revoke(str(body.get("appkey", "")), str(body.get("appsecret", "")), str(body.get("token", ""))):
        return kis_response({"code": 200, "message": "접근토큰 폐기에 성공하였습니다"})
    return kis_response({"code": 403, "message": "유효하지 않은 token 입니다."}, status=403)


async def approval(request: web.Request) -> web.Response:
    """``POST /oauth2/Approval``: a WebSocket approval key (body takes ``secretkey``, reference §2.3)."""
    sim = sim_of(request)
    body = await json_body(request)
    if body.get("grant_type") != "client_credentials":
        raise KisError(403, "EGW00102", "grant_type이 유효하지 않습니다.", oauth_shape=True)
    key = sim.gateway.issue_approval_key(str(body.get("appkey", "")), str(body.get("secretkey", "")))
    return kis_response({"approval_key": key})


async def hashkey(request: web.Request) -> web.Response:
    """``POST /uapi/hashkey``: echo the body as ``BODY`` with its SHA-256 as ``HASH`` (reference §2.4).

    The hash is opaque to clients; the simulator does not require a ``hashkey`` header on orders.
    """
    sim = sim_of(request)
    raw = await request.read()
    body = await json_body(request)
    sim.records.hashkeys_issued += 1
    return kis_response({"BODY": body, "HASH": hashlib.sha256(raw).hexdigest()})


async def not_found(request: web.Request) -> web.Response:
    """Any other ``/uapi`` path: MCA00124 (reference §1)."""
    raise wire.service_not_found()


#: Where the simulator serves the bundled KOSPI master, as KIS's download does (reference §7.5).
MASTER_PATH = "/common/master/kospi_code.mst.zip"


async def kospi_master(request: web.Request) -> web.Response:
    """The bundled KOSPI master as KIS serves it: a zip holding one ``kospi_code.mst`` (no credential needed)."""
    import io
    import zipfile

    from stock_manager.adapters.marketdata.bundled import KOSPI_MASTER_FILE, read_bytes

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kospi_code.mst", read_bytes(KOSPI_MASTER_FILE))
    return web.Response(body=buffer.getvalue(), content_type="application/zip")


def build_app(sim: "KisExchangeSimulator") -> web.Application:
    """Return the aiohttp application serving every simulated endpoint."""
    from stock_manager.adapters.broker.kis_sim import rest_inquiries, rest_orders, rest_quotes

    app = web.Application(middlewares=[gateway_middleware], client_max_size=2**20)
    app[SIM_KEY] = sim
    app.router.add_post("/oauth2/tokenP", token_p)
    app.router.add_post("/oauth2/revokeP", revoke_p)
    app.router.add_post("/oauth2/Approval", approval)
    app.router.add_post(HASHKEY_PATH, hashkey)
    base = "/uapi/domestic-stock/v1"
    app.router.add_post(f"{base}/trading/order-cash", rest_orders.order_cash)
    app.router.add_post(f"{base}/trading/order-rvsecncl", rest_orders.order_rvsecncl)
    app.router.add_get(f"{base}/trading/inquire-psbl-rvsecncl", rest_inquiries.psbl_rvsecncl)
    app.router.add_get(f"{base}/trading/inquire-balance", rest_inquiries.balance)
    app.router.add_get(f"{base}/trading/inquire-daily-ccld", rest_inquiries.daily_ccld)
    app.router.add_get(f"{base}/trading/inquire-psbl-order", rest_inquiries.psbl_order)
    app.router.add_get(f"{base}/quotations/inquire-price", rest_quotes.price)
    app.router.add_get(DAILY_CHART_PATH, rest_quotes.daily_chart)
    app.router.add_route("*", "/uapi/{tail:.*}", not_found)
    app.router.add_get(MASTER_PATH, kospi_master)
    return app
