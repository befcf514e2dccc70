"""Order endpoints of the simulator: ``order-cash`` and ``order-rvsecncl`` (KIS reference §4.1, §4.2).

Request bodies must use UPPERCASE keys with string values (a missing key or a non-string value answers
OPSQ2001 [?: KIS's exact reaction to numbers is undocumented; the docs require strings]). The order is
placed at the venue at the replay clock's time; the acceptance notice (``CNTG_YN=1``, ``ACPT_YN=1``) goes
to the account's HTS id before the HTTP answer. Responses carry UPPERCASE ``output`` keys; the paper
``ODNO`` is unpadded (``"11774"``), the real one 10 digits.

Modelled order types: ``ORD_DVSN`` ``00`` (limit) and ``01`` (market); ``EXCG_ID_DVSN_CD`` KRX (and SOR on
real, routed to the same venue). Revise (``RVSE_CNCL_DVSN_CD=01``) is the cancel of the remainder plus a new
venue order carrying the new terms (``orgn_odno`` = the original); only whole-remainder revise/cancel is
modelled (a smaller ``ORD_QTY`` answers SIMU0001). If the new terms are refused after the remainder was
cancelled, the original stays cancelled (listed as a cancel) [deviation: KIS refuses the revise as a whole].
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.business import business_error, from_rejection, unsupported
from stock_manager.adapters.broker.kis_sim.faults import UnansweredMode
from stock_manager.adapters.broker.kis_sim.ledger import OrderMeta
from stock_manager.adapters.broker.kis_sim.rest import credential_of, json_body, kis_response, sim_of
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator, ReceivedOrder
from stock_manager.adapters.broker.kis_sim.wire import BRANCH, KisError
from stock_manager.adapters.broker.sim.rejections import RejectCode
from stock_manager.adapters.venues.krx.rules import is_on_tick
from stock_manager.domain.errors import FatalBrokerError, OrderRejectedByBroker
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderAck, OrderRequest

ORDER_TYPES = {"00": OrderType.LIMIT, "01": OrderType.MARKET}


def strings(body: dict[str, Any], names: list[str]) -> dict[str, str]:
    """Return the string values of `names` in `body`.

    Raises
    ------
    KisError
        OPSQ2001 when one is missing (lowercase keys do not count) or not a string.
    """
    values: dict[str, str] = {}
    for name in names:
        if name not in body:
            raise wire.missing_param(name)
        value = body[name]
        if not isinstance(value, str):
            raise wire.invalid_param(name, repr(value))
        values[name] = value
    return values


def check_account(sim: KisExchangeSimulator, request: web.Request, cano: str, product: str) -> None:
    """Raise APAC0081 unless (`cano`, `product`) is the authenticated credential's account."""
    credential = credential_of(request)
    if cano != credential.cano or product != credential.product_code:
        raise wire.bad_account()


def _quantity(text: str, sim: KisExchangeSimulator) -> Decimal:
    if not text.isdigit() or int(text) <= 0:
        raise business_error(sim.mode, RejectCode.QUANTITY, sim.venue.clock.now())
    return Decimal(int(text))


def _price(text: str, order_type: OrderType, sim: KisExchangeSimulator) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise business_error(sim.mode, RejectCode.PRICE, sim.venue.clock.now()) from None
    if order_type is OrderType.MARKET:
        if value != 0:
            raise business_error(sim.mode, RejectCode.PRICE, sim.venue.clock.now())
        return None
    return value


def _order_type(text: str) -> OrderType:
    order_type = ORDER_TYPES.get(text)
    if order_type is None:
        raise unsupported(f"ORD_DVSN {text}")
    return order_type


def _odno(sim: KisExchangeSimulator, number: str) -> str:
    return number if sim.mode == "real" else str(int(number))


async def _place(sim: KisExchangeSimulator, order: OrderRequest) -> OrderAck:
    try:
        return await sim.venue.place_order(order)
    except OrderRejectedByBroker as error:
        raise from_rejection(sim.mode, error, sim.venue.clock.now()) from None
    except FatalBrokerError:
        raise wire.internal_error() from None


async def _answer(request: web.Request, sim: KisExchangeSimulator, body: dict[str, Any], tr_id: str) -> web.Response:
    mode = sim.faults.take_unanswered()
    if mode is not None:
        sim.fault_log.note(f"unanswered_{mode}", tr_id=tr_id, order=body.get("output", {}).get("ODNO", ""))
        return await _unanswered(request, sim, mode)
    return kis_response(body, tr_id=tr_id)


async def _unanswered(request: web.Request, sim: KisExchangeSimulator, mode: UnansweredMode) -> web.Response:
    if mode == "error500":
        raise wire.internal_error()
    if mode == "close" and request.transport is not None:
        request.transport.close()
    await sim.stopping.wait()
    return web.Response(status=503)


async def order_cash(request: web.Request) -> web.Response:
    """``POST …/trading/order-cash`` (TTTC0012U/0011U, old 0802U/0801U; paper V…)."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    meaning = wire.ORDER_CASH.resolve(sim.mode, tr_id)
    body = await json_body(request)
    received = ReceivedOrder(tr_id, body, sim.wall_clock.now())
    sim.records.orders_received.append(received)
    try:
        values = strings(body, ["CANO", "ACNT_PRDT_CD", "PDNO", "ORD_DVSN", "ORD_QTY", "ORD_UNPR"])
        check_account(sim, request, values["CANO"], values["ACNT_PRDT_CD"])
        exchange = body.get("EXCG_ID_DVSN_CD") or "KRX"
        if exchange != "KRX" and not (exchange == "SOR" and sim.mode == "real"):
            raise unsupported(f"EXCG_ID_DVSN_CD {exchange}")
        order_type = _order_type(values["ORD_DVSN"])
        side = Side.BUY if meaning == "buy" else Side.SELL
        order = OrderRequest(
            sim.venue.account_id,
            values["PDNO"],
            side,
            order_type,
            _quantity(values["ORD_QTY"], sim),
            _price(values["ORD_UNPR"], order_type, sim),
        )
        ack = await _place(sim, order)
    except KisError as error:
        received.outcome = f"{'rejected' if error.http_status == 200 else 'error'} {error.msg_cd}"
        raise
    number = ack.broker_order_number
    received.outcome = f"accepted {number}"
    meta = OrderMeta(number, credential_of(request), values["ORD_DVSN"])
    sim.ledger.add(meta)
    report = sim.venue.book.order(number)
    assert report is not None
    await sim.send_notice(
        meta.credential,
        sim.notice(
            meta,
            report,
            quantity=order.quantity,
            price=order.limit_price or Decimal(0),
            ts=ack.ts_accepted,
            acceptance="1",
        ),
    )
    if sim.faults.take_rejected():
        sim.fault_log.note("rejected_after_accept", order=number)
        meta.rejected = True
        await sim.venue.cancel_order(sim.venue.account_id, number, BRANCH)
    output = {"KRX_FWDG_ORD_ORGNO": BRANCH, "ODNO": _odno(sim, number), "ORD_TMD": wire.kst_hhmmss(ack.ts_accepted)}
    return await _answer(
        request, sim, wire.envelope(wire.order_ok(sim.mode, side is Side.BUY), status_first=True, output=output), tr_id
    )


async def order_rvsecncl(request: web.Request) -> web.Response:
    """``POST …/trading/order-rvsecncl`` (TTTC0013U, old 0803U; paper V…): revise or cancel a remainder."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.ORDER_RVSECNCL.resolve(sim.mode, tr_id)
    body = await json_body(request)
    received = ReceivedOrder(tr_id, body, sim.wall_clock.now())
    sim.records.orders_received.append(received)
    try:
        number, output = await _revise_or_cancel(request, sim, body)
    except KisError as error:
        received.outcome = f"{'rejected' if error.http_status == 200 else 'error'} {error.msg_cd}"
        raise
    received.outcome = f"accepted {number}"
    return await _answer(request, sim, wire.envelope(wire.cancel_ok(sim.mode), status_first=True, output=output), tr_id)


async def _revise_or_cancel(
    request: web.Request, sim: KisExchangeSimulator, body: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    values = strings(
        body,
        [
            "CANO",
            "ACNT_PRDT_CD",
            "KRX_FWDG_ORD_ORGNO",
            "ORGN_ODNO",
            "ORD_DVSN",
            "RVSE_CNCL_DVSN_CD",
            "ORD_QTY",
            "ORD_UNPR",
            "QTY_ALL_ORD_YN",
        ],
    )
    check_account(sim, request, values["CANO"], values["ACNT_PRDT_CD"])
    now = sim.venue.clock.now()
    kind = values["RVSE_CNCL_DVSN_CD"]
    if kind not in ("01", "02"):
        raise wire.invalid_param("RVSE_CNCL_DVSN_CD", kind)
    report = sim.venue.book.order(values["ORGN_ODNO"])
    if report is None or values["KRX_FWDG_ORD_ORGNO"] != BRANCH:
        raise business_error(sim.mode, RejectCode.ORDER_NOT_FOUND, now)
    meta = sim.meta_for(report.broker_order_number)
    if report.state is not BrokerOrderState.OPEN or meta.rejected or meta.pending is not None:
        raise business_error(sim.mode, RejectCode.NOT_CANCELABLE, now)
    remaining = report.quantity - report.filled_quantity
    if values["QTY_ALL_ORD_YN"] != "Y":
        quantity = _quantity(values["ORD_QTY"], sim)
        if quantity > remaining:
            raise business_error(sim.mode, RejectCode.QUANTITY, now)
        if quantity < remaining:
            raise unsupported("partial revise/cancel")
    credential = credential_of(request)
    if kind == "02":
        await _cancel_at_venue(sim, report.broker_order_number, BRANCH)
        cancel = sim.ledger.new_cancel(report.broker_order_number, kind, now, remaining, credential)
        meta.pending = cancel
        await sim.send_notice(
            credential,
            sim.notice(
                meta,
                report,
                quantity=remaining,
                price=Decimal(0),
                ts=now,
                acceptance="1",
                number=cancel.number,
                original=report.broker_order_number,
                revise_cancel="2",
            ),
        )
        return cancel.number, {
            "KRX_FWDG_ORD_ORGNO": BRANCH,
            "ODNO": _odno(sim, cancel.number),
            "ORD_TMD": wire.kst_hhmmss(now),
        }
    order_type = _order_type(values["ORD_DVSN"])
    price = _price(values["ORD_UNPR"], order_type, sim)
    quote = sim.venue.book.day_quote(report.symbol)
    if price is not None and quote is not None:
        if not is_on_tick(price, sim.venue_kind(report.symbol)):
            raise business_error(sim.mode, RejectCode.TICK_SIZE, now)
        if quote.limits is not None and not quote.limits.contains(price):
            above = price > quote.limits.upper
            raise business_error(sim.mode, RejectCode.ABOVE_UPPER_LIMIT if above else RejectCode.BELOW_LOWER_LIMIT, now)
    await _cancel_at_venue(sim, report.broker_order_number, BRANCH)
    cancel = sim.ledger.new_cancel(report.broker_order_number, kind, now, remaining, credential)
    meta.pending = cancel
    try:
        ack = await _place(
            sim, OrderRequest(sim.venue.account_id, report.symbol, report.side, order_type, remaining, price)
        )
    except KisError:
        cancel.kind = "02"  # the original is cancelled all the same; it shows as a cancel
        raise
    cancel.replacement = ack.broker_order_number
    replacement = OrderMeta(
        ack.broker_order_number, credential, values["ORD_DVSN"], original=report.broker_order_number
    )
    sim.ledger.add(replacement)
    new_report = sim.venue.book.order(ack.broker_order_number)
    assert new_report is not None
    await sim.send_notice(
        credential,
        sim.notice(
            replacement,
            new_report,
            quantity=remaining,
            price=price or Decimal(0),
            ts=ack.ts_accepted,
            acceptance="1",
            original=report.broker_order_number,
            revise_cancel="1",
        ),
    )
    return ack.broker_order_number, {
        "KRX_FWDG_ORD_ORGNO": BRANCH,
        "ODNO": _odno(sim, ack.broker_order_number),
        "ORD_TMD": wire.kst_hhmmss(ack.ts_accepted),
    }


async def _cancel_at_venue(sim: KisExchangeSimulator, number: str, branch: str) -> None:
    try:
        await sim.venue.cancel_order(sim.venue.account_id, number, branch)
    except OrderRejectedByBroker as error:
        raise from_rejection(sim.mode, error, sim.venue.clock.now()) from None
    except FatalBrokerError:
        raise wire.internal_error() from None
