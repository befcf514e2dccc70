"""Exchange API handlers: balances, order constraints, order creation (and its test), single-order inquiry and
cancel, open/closed lists and inquiry by ids (../reference/upbit-openapi.md §4). Decimals are strings.

Order creation checks, in this order (the first failure answers): the body's ``market``/``side``/``ord_type``
(400 ``validation_error``); the ``identifier`` (single-use for ever, failed orders included: a reused one is
400 ``validation_error`` [U: the name is undocumented]); the market (400 ``notfoundmarket``); the §4.3 type
matrix (400 ``create_bid_error``/``create_ask_error``; ``best`` orders and ``time_in_force`` are not simulated:
400 ``invalid_parameter``/``invalid_time_in_force``); amounts (400 ``validation_error``, volumes to 8
decimals); the order value above ``max_total`` (400 ``over_krw_funds_*``); maintenance (403
``market_offline``); then the matching engine (price unit ``invalid_price_*``, 5,000 KRW minimum
``under_min_total_*``, funds ``insufficient_funds_*``, no session ``market_offline``). Any refusal after the
identifier was read burns it.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from stock_manager.adapters.broker.sim.rejections import RejectCode
from stock_manager.adapters.broker.upbit_sim.render import balances, order_object
from stock_manager.adapters.broker.upbit_sim.rest import params_of, sim_of
from stock_manager.adapters.broker.upbit_sim.wire import (
    UpbitApiError,
    exchange_response,
    parse_amount,
    parse_time,
    text,
    validation_error,
)
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState, OrderRequest

CLOSED_WINDOW: Final = timedelta(days=7)
NOT_FOUND: Final = UpbitApiError(404, "order_not_found", "주문을 찾지 못했습니다.")
_MESSAGES: Final = {
    "insufficient_funds_bid": "주문 가능한 금액(KRW)이 부족합니다.",
    "insufficient_funds_ask": "주문 가능한 수량이 부족합니다.",
    "under_min_total_bid": "최소주문금액 이상으로 주문해주세요",
    "under_min_total_ask": "최소주문금액 이상으로 주문해주세요",
    "invalid_price_bid": "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
    "invalid_price_ask": "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
    "market_offline": "시스템 점검 중입니다. 점검이 완료된 후에 다시 시도해주세요.",
}


def _error(name: str, status: int = 400) -> UpbitApiError:
    return UpbitApiError(status, name, _MESSAGES.get(name, name))


def _engine_error(e: OrderRejectedByBroker, side: str) -> UpbitApiError:
    # The matching engine's refusals in Upbit's names (module docstring).
    match e.code:
        case RejectCode.INSUFFICIENT_CASH | RejectCode.INSUFFICIENT_HOLDINGS:
            return _error(f"insufficient_funds_{side}")
        case RejectCode.UNDER_MIN_NOTIONAL:
            return _error(f"under_min_total_{side}")
        case RejectCode.TICK_SIZE | RejectCode.ABOVE_UPPER_LIMIT | RejectCode.BELOW_LOWER_LIMIT:
            return _error(f"invalid_price_{side}")
        case RejectCode.MARKET_CLOSED | RejectCode.HALTED:
            return _error("market_offline", 403)
        case RejectCode.UNKNOWN_SYMBOL:
            return UpbitApiError(400, "notfoundmarket", "다음 마켓에 없는 종목입니다")
        case RejectCode.DUPLICATE_CLIENT_ORDER_ID:
            return validation_error("identifier is already used")
        case _:
            return validation_error(f"order refused: {e}")


async def accounts(request: web.Request) -> web.Response:
    """``GET /v1/accounts`` (§4.1)."""
    return exchange_response(balances(sim_of(request).venue.book))


async def chance(request: web.Request) -> web.Response:
    """``GET /v1/orders/chance?market=`` (§4.2), served as an object [U: the newest docs show an array]."""
    sim = sim_of(request)
    market = _market(sim, params_of(request).get("market"))
    base = market.partition("-")[2]
    rows = {row["currency"]: row for row in balances(sim.venue.book)}
    fee = text(sim.venue.book.commission_rate)
    empty = {
        "balance": "0",
        "locked": "0",
        "avg_buy_price": "0",
        "avg_buy_price_modified": False,
        "unit_currency": "KRW",
    }
    return exchange_response(
        {
            "bid_fee": fee,
            "ask_fee": fee,
            "maker_bid_fee": fee,
            "maker_ask_fee": fee,
            "market": {
                "id": market,
                "name": f"{base}/KRW",
                "order_types": ["limit"],
                "order_sides": ["ask", "bid"],
                "bid_types": ["limit", "price"],
                "ask_types": ["limit", "market"],
                "bid": {"currency": "KRW", "min_total": text(sim.instrument(market).min_notional)},
                "ask": {"currency": base, "min_total": text(sim.instrument(market).min_notional)},
                "max_total": text(sim.max_total_krw),
                "state": "active",
            },
            "bid_account": rows["KRW"],
            "ask_account": rows.get(base, {"currency": base, **empty}),
        }
    )


async def create_order(request: web.Request) -> web.Response:
    """``POST /v1/orders`` (§4.3): 201 with the new order (no trades); a ``myOrder`` ``wait`` event follows."""
    sim = sim_of(request)
    body = params_of(request).body
    sim.records.orders_received.append(dict(body))
    identifier = body.get("identifier")
    try:
        order = _validate(sim, body)
        if order.client_order_id is not None and sim.venue.book.client_order_id_used(order.client_order_id):
            identifier = None  # already burnt: nothing more to burn
            raise validation_error("identifier is already used")
        report = await _place(sim, order, body)
    except UpbitApiError:
        if isinstance(identifier, str) and identifier.strip():
            await sim.venue.burn_client_order_id(identifier)
        raise
    await sim.events.order_accepted(report.broker_order_number)
    lost = sim.faults.take_lost_response()
    if lost is not None:
        sim.fault_log.note(f"lost_order_response_{lost}", order=report.broker_order_number)
        return await _lose(request, sim, lost)
    return exchange_response(order_object(sim.facts(report), sim.ids), status=201)


async def test_order(request: web.Request) -> web.Response:
    """``POST /v1/orders/test`` (§4.4): the same checks up to the engine's, and cash or holdings; no order, no
    identifier burnt; the uuid answered is not usable."""
    sim = sim_of(request)
    order = _validate(sim, params_of(request).body)
    book = sim.venue.book
    side = "bid" if order.side is Side.BUY else "ask"
    if (
        order.side is Side.BUY
        and _value(sim, order, params_of(request).body) * (1 + book.commission_rate) > book.orderable_krw
    ):
        raise _error("insufficient_funds_bid")
    if order.side is Side.SELL and order.quantity > book.sellable_quantity(order.symbol):
        raise _error(f"insufficient_funds_{side}")
    return exchange_response(
        {
            "uuid": "00000000-0000-0000-0000-000000000000",
            "side": side,
            "ord_type": params_of(request).body["ord_type"],
            "state": "wait",
            "market": order.symbol,
            "identifier": order.client_order_id,
        },
        status=201,
    )


async def get_order(request: web.Request) -> web.Response:
    """``GET /v1/order`` (§4.5): the order with its ``trades``; 404 ``order_not_found``."""
    sim = sim_of(request)
    report = _find(sim, request)
    return exchange_response(order_object(sim.facts(report), sim.ids, with_trades=True))


async def cancel_order(request: web.Request) -> web.Response:
    """``DELETE /v1/order`` (§4.9): the snapshot *before* the cancel (state ``wait``); the order reaches
    ``cancel`` with its ``myOrder`` event before the venue's next print (404 ``order_not_found`` for an unknown
    order and, [U], for one already finished or being cancelled)."""
    sim = sim_of(request)
    report = _find(sim, request)
    if report.state is not BrokerOrderState.OPEN or report.broker_order_number in sim.pending_cancels:
        raise NOT_FOUND
    snapshot = order_object(sim.facts(report), sim.ids)
    await sim.cancel(report.broker_order_number)
    return exchange_response(snapshot)


async def open_orders(request: web.Request) -> web.Response:
    """``GET /v1/orders/open`` (§4.6): working orders (``wait``; none is ``watch``), paged, with
    ``executed_funds``."""
    sim = sim_of(request)
    params = params_of(request)
    states = _states(params.get("state"), params.values("states"), {"wait", "watch"}, default={"wait", "watch"})
    page = params.integer("page", 1, low=1, high=10**9)
    limit = params.integer("limit", 100, low=1, high=100)
    rows = [r for r in sim.open_reports() if _in_market(r, params.get("market")) and "wait" in states]
    rows = _ordered(rows, params.get("order_by"))[(page - 1) * limit : page * limit]
    return exchange_response([order_object(sim.facts(r), sim.ids, with_funds=True) for r in rows])


async def closed_orders(request: web.Request) -> web.Response:
    """``GET /v1/orders/closed`` (§4.7): finished orders created in a window of at most 7 days (both ends
    inclusive [U: whether Upbit filters by creation time is unconfirmed]); rows beyond ``limit`` are dropped."""
    sim = sim_of(request)
    params = params_of(request)
    states = _states(params.get("state"), params.values("states"), {"done", "cancel"}, default={"done", "cancel"})
    limit = params.integer("limit", 100, low=1, high=1000)
    start_text, end_text = params.get("start_time"), params.get("end_time")
    now = sim.venue.clock.now()
    start = parse_time(start_text, "start_time") if start_text else None
    end = parse_time(end_text, "end_time") if end_text else None
    if start is None:
        end = end or now
        start = end - CLOSED_WINDOW
    elif end is None:
        end = start + CLOSED_WINDOW
    if end < start or end - start > CLOSED_WINDOW:
        raise validation_error("start_time and end_time must be at most 7 days apart")
    rows = [
        r
        for r in sim.closed_reports()
        if _in_market(r, params.get("market")) and sim.facts(r).state in states and start <= r.ts_accepted <= end
    ]
    rows = _ordered(rows, params.get("order_by"))[:limit]
    return exchange_response([order_object(sim.facts(r), sim.ids, with_funds=True) for r in rows])


async def orders_by_ids(request: web.Request) -> web.Response:
    """``GET /v1/orders/uuids`` (§4.8): ``uuids[]`` or ``identifiers[]`` (not both); unknown ids are absent."""
    sim = sim_of(request)
    params = params_of(request)
    uuids, identifiers = params.values("uuids"), params.values("identifiers")
    if bool(uuids) == bool(identifiers):
        raise validation_error("give uuids or identifiers, not both")
    found: list[BrokerOrderReport] = []
    for value in uuids or identifiers:
        report = sim.find(uuid=value) if uuids else sim.find(identifier=value)
        if report is not None and _in_market(report, params.get("market")) and report not in found:
            found.append(report)
    return exchange_response(
        [order_object(sim.facts(r), sim.ids, with_funds=True) for r in _ordered(found, params.get("order_by"))]
    )


# -- HELPERS -----------------------------------------------------------------------------------------------


def _market(sim: Any, market: Any) -> str:
    if not isinstance(market, str) or not market:
        raise validation_error("market is missing, market does not have a valid value")
    if market not in sim.venue.symbols:
        raise UpbitApiError(400, "notfoundmarket", f"다음 마켓에 없는 종목입니다: {market}")
    return market


def _validate(sim: Any, body: dict[str, Any]) -> OrderRequest:
    side, ord_type = body.get("side"), body.get("ord_type")
    if not isinstance(body.get("market"), str) or not body.get("market"):
        raise validation_error("market is missing, market does not have a valid value")
    if side not in ("bid", "ask"):
        raise validation_error("side is missing, side does not have a valid value")
    if ord_type not in ("limit", "price", "market", "best"):
        raise validation_error("ord_type is missing, ord_type does not have a valid value")
    identifier = body.get("identifier")
    if identifier is not None and (
        not isinstance(identifier, str)
        or not identifier.strip()
        or (sim.identifier_max_chars is not None and len(identifier) > sim.identifier_max_chars)
    ):
        raise validation_error("identifier does not have a valid value")
    market = _market(sim, body["market"])
    needs = {"limit": ("volume", "price"), "price": ("price",), "market": ("volume",)}
    if ord_type == "best":
        raise UpbitApiError(400, "invalid_parameter", "best orders are not simulated")
    if (ord_type, side) in (("price", "ask"), ("market", "bid")) or any(
        (body.get(k) is not None) != (k in needs[ord_type]) for k in ("volume", "price")
    ):
        raise UpbitApiError(
            400, f"create_{side}_error", f"{ord_type} {side} orders take {' and '.join(needs[ord_type])}"
        )
    if body.get("time_in_force") is not None:
        raise UpbitApiError(400, "invalid_time_in_force", "time_in_force is not simulated")
    volume = parse_amount(body["volume"], "volume", max_decimals=8) if "volume" in needs[ord_type] else Decimal(0)
    price = parse_amount(body["price"], "price") if ord_type != "market" else None
    order = OrderRequest(
        sim.venue.account_id,
        market,
        Side.BUY if side == "bid" else Side.SELL,
        OrderType.LIMIT if ord_type == "limit" else OrderType.MARKET,
        volume,
        price if ord_type == "limit" else None,
        identifier,
    )
    if _value(sim, order, body) > sim.max_total_krw:
        raise _error(f"over_krw_funds_{side}")
    if not sim.accepts_orders():
        raise _error("market_offline", 403)
    return order


def _value(sim: Any, order: OrderRequest, body: dict[str, Any]) -> Decimal:
    # The order's KRW value: limit price × volume, a market buy's amount, a market sell's volume at the last price.
    if body.get("ord_type") == "price":
        return parse_amount(body["price"], "price")
    return order.quantity * (order.limit_price or sim.last_price(order.symbol))


async def _place(sim: Any, order: OrderRequest, body: dict[str, Any]) -> BrokerOrderReport:
    side = "bid" if order.side is Side.BUY else "ask"
    try:
        if body["ord_type"] == "price":
            ack = await sim.venue.place_amount_buy(
                order.account_id, order.symbol, parse_amount(body["price"], "price"), order.client_order_id
            )
        else:
            ack = await sim.venue.place_order(order)
    except OrderRejectedByBroker as e:
        raise _engine_error(e, side) from None
    report = sim.venue.book.order(ack.broker_order_number)
    assert report is not None
    return report


async def _lose(request: web.Request, sim: Any, mode: str) -> web.Response:
    if mode == "error500":
        return web.Response(status=500, text="Internal Server Error")
    if mode == "close" and request.transport is not None:
        request.transport.close()
    await sim.stopping.wait()
    return web.Response(status=503)


def _find(sim: Any, request: web.Request) -> BrokerOrderReport:
    params = params_of(request)
    order_uuid, identifier = params.get("uuid"), params.get("identifier")
    if not order_uuid and not identifier:
        raise validation_error("uuid or identifier is required")
    report = sim.find(uuid=order_uuid) if order_uuid else sim.find(identifier=identifier)
    if report is None:
        raise NOT_FOUND
    return report


def _states(state: str | None, states: list[str], allowed: set[str], *, default: set[str]) -> set[str]:
    if state is not None and states:
        raise validation_error("give state or states, not both")
    chosen = set(states) if states else ({state} if state is not None else default)
    if not chosen <= allowed:
        raise validation_error("state does not have a valid value")
    return chosen


def _in_market(report: BrokerOrderReport, market: str | None) -> bool:
    return market is None or report.symbol == market


def _ordered(rows: list[BrokerOrderReport], order_by: str | None) -> list[BrokerOrderReport]:
    if order_by not in (None, "asc", "desc"):
        raise validation_error("order_by does not have a valid value")
    key: Any = lambda r: (r.ts_accepted, r.broker_order_number)  # noqa: E731 - one sort key, two orders
    return sorted(rows, key=key, reverse=order_by != "asc")


__all__ = [
    "accounts",
    "cancel_order",
    "chance",
    "closed_orders",
    "create_order",
    "get_order",
    "open_orders",
    "orders_by_ids",
    "test_order",
]
