"""The rows of the simulator's ``inquire-daily-ccld`` (KIS reference §4.5): one per order and one per cancel
order, lowercase keys, all values strings.

``tot_ccld_amt`` is the exact executed amount and ``avg_prvs`` an integer, the average rounded down (the real
venue's sample shows ``"3145"``; whether KIS rounds down or to nearest is ?); an order cancelled or expired
shows the quantity in ``cncl_cfrm_qty``, a cancel order has a row of its own (``orgn_odno`` = the original,
``cncl_yn`` ``"Y"``), and an order refused by the exchange after acceptance shows it in ``rjct_qty``.
"""

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.wire import BRANCH
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import OrderType, Side
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator


def _integral(value: Decimal) -> str:
    return wire.num(value.to_integral_value(ROUND_FLOOR))


def order_row(sim: "KisExchangeSimulator", report: BrokerOrderReport, fills: list[Fill]) -> dict[str, str]:
    """Return the ``output1`` row of one order: ``tot_ccld_amt`` the exact sum of its executions' amounts,
    ``avg_prvs`` that amount ÷ ``tot_ccld_qty`` rounded down to an integer (see the module docstring)."""
    meta = sim.meta_for(report.broker_order_number)
    amount = sum((f.notional_krw for f in fills), Decimal(0))
    filled = report.filled_quantity
    unfilled = report.quantity - filled
    open_ = report.state is BrokerOrderState.OPEN
    rejected = meta.rejected and not open_
    market = report.order_type is OrderType.MARKET
    sell = report.side is Side.SELL
    return {
        "ord_dt": kst_date(report.ts_accepted).strftime("%Y%m%d"),
        "ord_gno_brno": BRANCH,
        "odno": report.broker_order_number,
        "orgn_odno": meta.original,
        "ord_dvsn_name": "시장가" if market else "지정가",
        "sll_buy_dvsn_cd": "01" if sell else "02",
        "sll_buy_dvsn_cd_name": "현금매도" if sell else "현금매수",
        "pdno": report.symbol,
        "prdt_name": sim.symbol_name(report.symbol),
        "ord_qty": wire.num(report.quantity),
        "ord_unpr": wire.num(report.limit_price or Decimal(0)),
        "ord_tmd": wire.kst_hhmmss(report.ts_accepted),
        "tot_ccld_qty": wire.num(filled),
        "avg_prvs": _integral(amount / filled) if filled else "0",
        "cncl_yn": "",
        "tot_ccld_amt": wire.num(amount),
        "loan_dt": "",
        "ordr_empno": "OpnAPI",
        "ord_dvsn_cd": meta.ord_dvsn,
        "cncl_cfrm_qty": wire.num(unfilled if not open_ and not rejected else Decimal(0)),
        "rmn_qty": wire.num(unfilled if open_ else Decimal(0)),
        "rjct_qty": wire.num(unfilled if rejected else Decimal(0)),
        "ccld_cndt_name": "없음",
        "inqr_ip_addr": "127.0.0.1",
        "cpbc_ordp_ord_rcit_dvsn_cd": "",
        "cpbc_ordp_infm_mthd_dvsn_cd": "",
        "infm_tmd": "",
        "ctac_tlno": "",
        "prdt_type_cd": "300",
        "excg_dvsn_cd": "02",
        "cpbc_ordp_mtrl_dvsn_cd": "",
        "ord_orgno": BRANCH,
        "rsvn_ord_end_dt": "",
        "excg_id_dvsn_cd": "KRX",
        "stpm_cndt_pric": "0",
        "stpm_efct_occr_dtmd": "",
    }


def cancel_rows(sim: "KisExchangeSimulator") -> list[tuple[dict[str, str], BrokerOrderReport]]:
    """Return the rows of the cancel orders sent (``orgn_odno`` the original), each with its original's report."""
    rows = []
    for cancel in sim.ledger.cancels:
        original = sim.venue.book.order(cancel.original)
        if cancel.kind != "02" or original is None:
            continue
        row = order_row(sim, original, [])
        quantity = cancel.confirmed_quantity if cancel.confirmed_quantity is not None else cancel.quantity
        row.update(
            {
                "ord_dt": kst_date(cancel.ts).strftime("%Y%m%d"),
                "odno": cancel.number,
                "orgn_odno": cancel.original,
                "ord_dvsn_name": "취소",
                "ord_qty": wire.num(quantity),
                "ord_unpr": "0",
                "ord_tmd": wire.kst_hhmmss(cancel.ts),
                "tot_ccld_qty": "0",
                "avg_prvs": "0",
                "tot_ccld_amt": "0",
                "cncl_yn": "Y",
                "cncl_cfrm_qty": wire.num(quantity if cancel.confirmed_quantity is not None else 0),
                "rmn_qty": "0",
                "rjct_qty": "0",
            }
        )
        rows.append((row, original))
    return rows
