"""Account inquiries of the simulator: ``inquire-balance``, ``inquire-daily-ccld``, ``inquire-psbl-order`` and
``inquire-psbl-rvsecncl`` (KIS reference §4.3–§4.6). Lowercase output keys, all values strings, padded ``msg1`` and
context strings, pages of the mode's size.

Deviations: the venue settles at once (no T+2), so ``dnca_tot_amt``, ``nxdy_excc_amt`` and ``prvs_rcdl_excc_amt``
are all the deposit after today's fills; the cash a new buy can use is ``inquire-psbl-order`` ``ord_psbl_cash`` (the
deposit minus what working buys reserve). Holdings sold out today are not listed with ``hldg_qty "0"``; ``pchs_amt``
is quantity × average price to the won. In ``inquire-daily-ccld`` ``avg_prvs`` is an integer, the average rounded
down (as the real venue's sample shows ``"3145"``; whether KIS rounds down or to nearest is ?), and ``tot_ccld_amt``
the exact executed amount; an order cancelled or expired shows the quantity in ``cncl_cfrm_qty`` and a cancel order
has a row of its own (``orgn_odno`` = the original, ``cncl_yn`` ``"Y"``); an order refused by the exchange after
acceptance shows it in ``rjct_qty``. Both date-range TR ids return the same rows.
"""

from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.ccld_rows import cancel_rows, order_row
from stock_manager.adapters.broker.kis_sim.paging import paginate, param
from stock_manager.adapters.broker.kis_sim.rest import kis_response, sim_of
from stock_manager.adapters.broker.kis_sim.rest_orders import check_account
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.broker.kis_sim.wire import BRANCH
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import OrderType, Side
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import BrokerOrderState


def _account(request: web.Request, sim: KisExchangeSimulator) -> tuple[str, str]:
    cano, product = param(request, "CANO"), param(request, "ACNT_PRDT_CD")
    check_account(sim, request, cano, product)
    return cano, product


def _ok(sim: KisExchangeSimulator, more: bool) -> tuple[str, str]:
    return (wire.INQUIRY_MORE if more else wire.INQUIRY_OK)[sim.mode]


def _date(request: web.Request, name: str) -> date:
    text = param(request, name)
    try:
        return datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise wire.invalid_param(name, text) from None


# -- inquire-balance ----------------------------------------------------------------------------------------


async def balance(request: web.Request) -> web.Response:
    """``GET …/trading/inquire-balance`` (TTTC8434R / VTTC8434R): holdings and the account summary."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.BALANCE.resolve(sim.mode, tr_id)
    cano, product = _account(request, sim)
    for name in (
        "AFHR_FLPR_YN",
        "OFL_YN",
        "INQR_DVSN",
        "UNPR_DVSN",
        "FUND_STTL_ICLD_YN",
        "FNCG_AMT_AUTO_RDPT_YN",
        "PRCS_DVSN",
    ):
        param(request, name)
    engine = sim.venue.book
    rows: list[dict[str, str]] = []
    total_purchase = total_value = Decimal(0)
    for position in engine.positions():
        quote = await sim.venue.get_price(position.symbol)
        purchase = (position.quantity * position.avg_price).to_integral_value(ROUND_HALF_EVEN)
        value = position.quantity * quote.price
        total_purchase += purchase
        total_value += value
        pnl = value - purchase
        rate = pnl / purchase * 100 if purchase else Decimal(0)
        change = quote.price - quote.base_price
        rows.append(
            {
                "pdno": position.symbol,
                "prdt_name": sim.symbol_name(position.symbol),
                "trad_dvsn_name": "현금",
                "bfdy_buy_qty": "0",
                "bfdy_sll_qty": "0",
                "thdt_buyqty": "0",
                "thdt_sll_qty": "0",
                "hldg_qty": wire.num(position.quantity),
                "ord_psbl_qty": wire.num(engine.sellable_quantity(position.symbol)),
                "pchs_avg_pric": wire.num(position.avg_price, 4),
                "pchs_amt": wire.num(purchase),
                "prpr": wire.num(quote.price),
                "evlu_amt": wire.num(value),
                "evlu_pfls_amt": wire.num(pnl),
                "evlu_pfls_rt": wire.num(rate, 2),
                "evlu_erng_rt": wire.num(rate, 8),
                "loan_dt": "",
                "loan_amt": "0",
                "stln_slng_chgs": "0",
                "expd_dt": "",
                "fltt_rt": wire.num(change / quote.base_price * 100 if quote.base_price else Decimal(0), 8),
                "bfdy_cprs_icdc": wire.num(change),
                "item_mgna_rt_name": "20%",
                "grta_rt_name": "",
                "sbst_pric": "0",
                "stck_loan_unpr": "0.0000",
            }
        )
    today = kst_date(sim.venue.clock.now())
    fills = engine.fills(today)
    deposit = engine.deposit_krw
    summary = {
        "dnca_tot_amt": wire.num(deposit),
        "nxdy_excc_amt": wire.num(deposit),
        "prvs_rcdl_excc_amt": wire.num(deposit),
        "cma_evlu_amt": "0",
        "bfdy_buy_amt": "0",
        "thdt_buy_amt": wire.num(sum((f.notional_krw for f in fills if f.side is Side.BUY), Decimal(0))),
        "nxdy_auto_rdpt_amt": "0",
        "bfdy_sll_amt": "0",
        "thdt_sll_amt": wire.num(sum((f.notional_krw for f in fills if f.side is Side.SELL), Decimal(0))),
        "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": "0",
        "thdt_tlex_amt": wire.num(sum((f.commission_krw + f.tax_krw for f in fills), Decimal(0))),
        "tot_loan_amt": "0",
        "scts_evlu_amt": wire.num(total_value),
        "tot_evlu_amt": wire.num(deposit + total_value),
        "nass_amt": wire.num(deposit + total_value),
        "fncg_gld_auto_rdpt_yn": "",
        "pchs_amt_smtl_amt": wire.num(total_purchase),
        "evlu_amt_smtl_amt": wire.num(total_value),
        "evlu_pfls_smtl_amt": wire.num(total_value - total_purchase),
        "tot_stln_slng_chgs": "0",
        "bfdy_tot_asst_evlu_amt": "0",
        "asst_icdc_amt": "0",
        "asst_icdc_erng_rt": "0.00000000",
    }
    page = paginate(request, rows, sim.page_sizes["balance"], f"{cano}!^{product}!^", sim.ledger.version)
    body = wire.envelope(
        _ok(sim, page.tr_cont in ("F", "M")),
        pad=True,
        ctx_area_fk100=page.ctx_fk,
        ctx_area_nk100=page.ctx_nk,
        output1=page.rows,
        output2=[summary],
    )
    return kis_response(body, tr_id=tr_id, tr_cont=page.tr_cont)


# -- inquire-daily-ccld -------------------------------------------------------------------------------------


async def daily_ccld(request: web.Request) -> web.Response:
    """``GET …/trading/inquire-daily-ccld`` (TTTC0081R / CTSC9215R and old ids; paper V…), paged."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.DAILY_CCLD.resolve(sim.mode, tr_id)
    cano, product = _account(request, sim)
    start, end = _date(request, "INQR_STRT_DT"), _date(request, "INQR_END_DT")
    side = param(request, "SLL_BUY_DVSN_CD")
    symbol = param(request, "PDNO", required=False)
    number = param(request, "ODNO", required=False).lstrip("0")
    ccld = param(request, "CCLD_DVSN")
    newest_first = param(request, "INQR_DVSN") != "01"
    for name in ("ORD_GNO_BRNO", "INQR_DVSN_3"):
        param(request, name, required=False)
    engine = sim.venue.book
    fills_by_order: dict[str, list[Fill]] = {}
    for fill in engine.fills():
        fills_by_order.setdefault(fill.broker_order_number, []).append(fill)
    candidates = [(order_row(sim, r, fills_by_order.get(r.broker_order_number, [])), r) for r in engine.orders()]
    candidates += cancel_rows(sim)
    selected = []
    for row, _report in candidates:
        if not start <= datetime.strptime(row["ord_dt"], "%Y%m%d").date() <= end:  # noqa: DTZ007
            continue
        if side in ("01", "02") and row["sll_buy_dvsn_cd"] != side:
            continue
        if symbol and row["pdno"] != symbol:
            continue
        if number and row["odno"].lstrip("0") != number:
            continue
        if ccld == "01" and row["tot_ccld_qty"] == "0":
            continue
        if ccld == "02" and row["rmn_qty"] == "0":
            continue
        selected.append(row)
    selected.sort(key=lambda row: (row["ord_dt"], row["ord_tmd"], row["odno"]), reverse=newest_first)
    page = paginate(
        request,
        selected,
        sim.page_sizes["daily_ccld"],
        f"{cano}!^{product}!^{start:%Y%m%d}!^{end:%Y%m%d}!^{symbol}!^{ccld}!^{side}!^",
        sim.ledger.version,
    )
    real_rows = [r for r in selected if r["cncl_yn"] != "Y"]
    total_qty = sum((Decimal(r["tot_ccld_qty"]) for r in real_rows), Decimal(0))
    total_amt = sum((Decimal(r["tot_ccld_amt"]) for r in real_rows), Decimal(0))
    fees = sum((f.commission_krw + f.tax_krw for r in real_rows for f in fills_by_order.get(r["odno"], [])), Decimal(0))
    summary = {
        "tot_ord_qty": wire.num(sum((Decimal(r["ord_qty"]) for r in real_rows), Decimal(0))),
        "tot_ccld_qty": wire.num(total_qty),
        "tot_ccld_amt": wire.num(total_amt),
        "prsm_tlex_smtl": wire.num(fees),
        "pchs_avg_pric": wire.num(total_amt / total_qty if total_qty else Decimal(0), 4),
    }
    body = wire.envelope(
        _ok(sim, page.tr_cont in ("F", "M")),
        pad=True,
        ctx_area_fk100=page.ctx_fk,
        ctx_area_nk100=page.ctx_nk,
        output1=page.rows,
        output2=summary,
    )
    return kis_response(body, tr_id=tr_id, tr_cont=page.tr_cont)


# -- inquire-psbl-order -------------------------------------------------------------------------------------


async def psbl_order(request: web.Request) -> web.Response:
    """``GET …/trading/inquire-psbl-order`` (TTTC8908R / VTTC8908R): cash and quantity a buy can use.

    The price is ``ORD_UNPR``, or the day's upper limit for a market query (``ORD_DVSN=01`` or a blank
    price), as the venue reserves market buys; quantities include the commission.
    """
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.PSBL_ORDER.resolve(sim.mode, tr_id)
    _account(request, sim)
    symbol = param(request, "PDNO")
    price_text, dvsn = param(request, "ORD_UNPR"), param(request, "ORD_DVSN")
    for name in ("CMA_EVLU_AMT_ICLD_YN", "OVRS_ICLD_YN"):
        param(request, name)
    engine = sim.venue.book
    quote = engine.day_quote(symbol)
    try:
        price = Decimal(price_text) if price_text.strip() and dvsn != "01" else None
    except ArithmeticError:
        raise wire.invalid_param("ORD_UNPR", price_text) from None
    if price is None or price <= 0:
        price = quote.limits.upper if quote is not None and quote.limits is not None else Decimal(0)
    cash = engine.orderable_krw
    rate = engine.commission_rate
    quantity = (cash / (price * (1 + rate))).to_integral_value(ROUND_FLOOR) if price > 0 else Decimal(0)
    amount = quantity * price
    output: dict[str, Any] = {
        "ord_psbl_cash": wire.num(cash),
        "ord_psbl_sbst": "0",
        "ruse_psbl_amt": "0",
        "fund_rpch_chgs": "0",
        "psbl_qty_calc_unpr": wire.num(price),
        "nrcvb_buy_amt": wire.num(amount),
        "nrcvb_buy_qty": wire.num(quantity),
        "max_buy_amt": wire.num(amount),
        "max_buy_qty": wire.num(quantity),
        "cma_evlu_amt": "0",
        "ovrs_re_use_amt_wcrc": "0",
        "ord_psbl_frcr_amt_wcrc": "0",
    }
    return kis_response(wire.envelope(wire.INQUIRY_OK[sim.mode], pad=True, output=output), tr_id=tr_id)


# -- inquire-psbl-rvsecncl (real only) ----------------------------------------------------------------------


async def psbl_rvsecncl(request: web.Request) -> web.Response:
    """``GET …/trading/inquire-psbl-rvsecncl`` (TTTC0084R, old TTTC8036R; real only): working orders."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.PSBL_RVSECNCL.resolve(sim.mode, tr_id)
    cano, product = _account(request, sim)
    for name in ("INQR_DVSN_1", "INQR_DVSN_2"):
        param(request, name)
    side_filter = param(request, "INQR_DVSN_2")
    rows = []
    for report in sim.venue.book.orders():
        meta = sim.meta_for(report.broker_order_number)
        if report.state is not BrokerOrderState.OPEN or meta.rejected or meta.pending is not None:
            continue
        sell = report.side is Side.SELL
        if (side_filter == "1" and not sell) or (side_filter == "2" and sell):
            continue
        rows.append(
            {
                "ord_gno_brno": BRANCH,
                "odno": report.broker_order_number,
                "orgn_odno": meta.original,
                "ord_dvsn_name": "시장가" if report.order_type is OrderType.MARKET else "지정가",
                "pdno": report.symbol,
                "prdt_name": sim.symbol_name(report.symbol),
                "rvse_cncl_dvsn_name": "",
                "ord_qty": wire.num(report.quantity),
                "ord_unpr": wire.num(report.limit_price or Decimal(0)),
                "ord_tmd": wire.kst_hhmmss(report.ts_accepted),
                "tot_ccld_qty": wire.num(report.filled_quantity),
                "tot_ccld_amt": wire.num(report.filled_quantity * (report.avg_fill_price or Decimal(0))),
                "psbl_qty": wire.num(report.quantity - report.filled_quantity),
                "sll_buy_dvsn_cd": "01" if sell else "02",
                "ord_dvsn_cd": meta.ord_dvsn,
                "mgco_aptm_odno": "",
                "excg_dvsn_cd": "02",
                "excg_id_dvsn_cd": "KRX",
                "excg_id_dvsn_name": "KRX",
                "stpm_cndt_pric": "0",
                "stpm_efct_occr_yn": "N",
            }
        )
    page = paginate(request, rows, sim.page_sizes["psbl_rvsecncl"], f"{cano}!^{product}!^", sim.ledger.version)
    body = wire.envelope(
        _ok(sim, page.tr_cont in ("F", "M")),
        pad=True,
        ctx_area_fk100=page.ctx_fk,
        ctx_area_nk100=page.ctx_nk,
        output=page.rows,
    )
    return kis_response(body, tr_id=tr_id, tr_cont=page.tr_cont)
