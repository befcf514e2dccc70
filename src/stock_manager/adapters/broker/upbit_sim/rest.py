"""The simulator's REST application (aiohttp): the gateway every request goes through, and the routes.

Gateway order for every ``/v1`` request: count it; injected faults (a 418 block, a 429 burst, a 5xx) before
anything is done; the per-second rate limit of its group (§6); for Exchange API groups, the JWT (`auth`); then
the handler. ``Remaining-Req`` goes on every answer, refusals included. ``DELETE`` with a body is refused with
400 ``QUERY_PARAMETER_NOT_SUPPORTED`` (§1). Handlers raise `UpbitApiError`; the gateway writes it.
"""

import json
import math
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from stock_manager.adapters.broker.upbit_sim.auth import UpbitKey, body_pairs, query_pairs
from stock_manager.adapters.broker.upbit_sim.limits import EXCHANGE_GROUPS, TOO_MANY, Verdict, request_group
from stock_manager.adapters.broker.upbit_sim.wire import UpbitApiError, error_response, validation_error

if TYPE_CHECKING:
    from stock_manager.adapters.broker.upbit_sim.server import UpbitExchangeSimulator

SIM_KEY: web.AppKey["UpbitExchangeSimulator"] = web.AppKey("upbit_simulator")
KEY_KEY: web.RequestKey[UpbitKey] = web.RequestKey("upbit_key", UpbitKey)
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Params:
    """A request's parameters, in order: the decoded query (GET, DELETE) or the JSON body's pairs (POST)."""

    def __init__(self, pairs: list[tuple[str, str]], body: dict[str, Any] | None = None) -> None:
        self.pairs = pairs
        self.body = body or {}

    def get(self, name: str) -> str | None:
        """Return the first value of `name`, or None."""
        return next((value for key, value in self.pairs if key == name), None)

    def values(self, name: str) -> list[str]:
        """Return every value of the array parameter `name` (sent as ``name[]``)."""
        return [value for key, value in self.pairs if key == f"{name}[]"]

    def has(self, name: str) -> bool:
        """Return True when `name` (or ``name[]``) was given."""
        return any(key in (name, f"{name}[]") for key, _ in self.pairs)

    def integer(self, name: str, default: int, *, low: int, high: int, quotation: bool = False) -> int:
        """Return the integer parameter `name` within ``[low, high]`` (`default` when absent).

        Raises
        ------
        UpbitApiError
            400 when it is not an integer in range.
        """
        raw = self.get(name)
        if raw is None:
            return default
        if raw.strip().isdigit() and low <= int(raw) <= high:
            return int(raw)
        if quotation:
            raise UpbitApiError(400, 400, "Invalid parameter. Check the given value!")
        raise validation_error(f"{name} does not have a valid value")


def sim_of(request: web.Request) -> "UpbitExchangeSimulator":
    """Return the simulator serving `request`."""
    return request.app[SIM_KEY]


PARAMS_KEY: web.RequestKey[Params] = web.RequestKey("upbit_params", Params)


def params_of(request: web.Request) -> Params:
    """Return the parameters the gateway read for `request`."""
    return request[PARAMS_KEY]


def key_of(request: web.Request) -> UpbitKey:
    """Return the key the gateway authenticated for `request` (Exchange API only)."""
    return request[KEY_KEY]


async def _read_params(request: web.Request) -> Params:
    if request.method == "POST":
        try:
            body = json.loads(await request.read() or b"{}", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise validation_error("the body is not a JSON object") from None
        if not isinstance(body, dict):
            raise validation_error("the body is not a JSON object")
        return Params(body_pairs(body), body)
    if request.method == "DELETE" and await request.read():
        raise UpbitApiError(
            400,
            "QUERY_PARAMETER_NOT_SUPPORTED",
            "이 API는 쿼리 파라미터 형식의 요청만 지원합니다. 요청 본문에 값을 포함할 수 없습니다.",
        )
    return Params(query_pairs(request.rel_url.raw_query_string))


def _pocket(request: web.Request, exchange: bool) -> str:
    # Exchange limits count per key (pocket), quotation limits per IP (§6).
    if not exchange:
        return request.remote or "?"
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        return str(jwt.decode(token, options={"verify_signature": False}).get("access_key", "?"))
    except jwt.PyJWTError:
        return "?"


def _refusal(verdict: Verdict) -> web.Response:
    if verdict.status == 418:
        secs = math.ceil(verdict.block_secs)
        return web.Response(
            status=418, text=f"{TOO_MANY} Blocked for {secs} seconds.", headers={"Retry-After": str(secs)}
        )
    return web.Response(status=429, text=TOO_MANY)


@web.middleware
async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, fault, limit, authenticate, then answer (module docstring)."""
    if request.path.startswith("/websocket"):
        return await handler(request)
    sim = sim_of(request)
    sim.records.requests_per_path[f"{request.method} {request.path}"] += 1
    group = request_group(request.method, request.path)
    exchange = group in EXCHANGE_GROUPS
    pocket = _pocket(request, exchange)
    verdict = sim.rate_gate.check(group, pocket)
    fault = sim.faults.take_request_fault()
    if fault is not None:
        sim.fault_log.note(fault, path=request.path, method=request.method)
        if fault == "block":
            verdict = sim.rate_gate.block(verdict.header, pocket, sim.faults.block_secs)
        elif fault == "rate_limit":
            verdict = sim.rate_gate.too_many(verdict.header, pocket)
        else:
            response: web.StreamResponse = web.Response(status=500, text="Internal Server Error")
            response.headers["Remaining-Req"] = verdict.header
            return response
    if verdict.status is not None:
        response = _refusal(verdict)
    else:
        try:
            params = await _read_params(request)
            request[PARAMS_KEY] = params
            if exchange:
                request[KEY_KEY] = sim.jwt_gate.authenticate(
                    request.headers.get("Authorization"), params.pairs, request.rel_url.raw_query_string
                )
            response = await handler(request)
        except UpbitApiError as e:
            response = error_response(e)
    response.headers["Remaining-Req"] = verdict.header
    return response


def build_app(sim: "UpbitExchangeSimulator") -> web.Application:
    """Return the aiohttp application of `sim`: REST routes and the two WebSocket endpoints."""
    from stock_manager.adapters.broker.upbit_sim import rest_exchange, rest_quotes

    app = web.Application(middlewares=[gateway], client_max_size=1 << 20)
    app[SIM_KEY] = sim
    app.router.add_get("/v1/accounts", rest_exchange.accounts)
    app.router.add_get("/v1/orders/chance", rest_exchange.chance)
    app.router.add_post("/v1/orders", rest_exchange.create_order)
    app.router.add_post("/v1/orders/test", rest_exchange.test_order)
    app.router.add_get("/v1/order", rest_exchange.get_order)
    app.router.add_delete("/v1/order", rest_exchange.cancel_order)
    app.router.add_get("/v1/orders/open", rest_exchange.open_orders)
    app.router.add_get("/v1/orders/closed", rest_exchange.closed_orders)
    app.router.add_get("/v1/orders/uuids", rest_exchange.orders_by_ids)
    app.router.add_get("/v1/market/all", rest_quotes.markets)
    app.router.add_get("/v1/candles/minutes/{unit}", rest_quotes.minute_candles)
    app.router.add_get("/v1/candles/days", rest_quotes.day_candles)
    app.router.add_get("/v1/ticker", rest_quotes.ticker)
    app.router.add_get("/v1/trades/ticks", rest_quotes.trades)
    app.router.add_get("/v1/orderbook", rest_quotes.orderbook)
    app.router.add_get("/v1/orderbook/instruments", rest_quotes.instruments)
    app.router.add_get("/websocket/v1", sim.hub.public_endpoint)
    app.router.add_get("/websocket/v1/private", sim.hub.private_endpoint)
    return app
