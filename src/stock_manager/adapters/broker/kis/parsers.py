"""Parsers of KIS REST answers into the broker port's typed values (Decimal, aware UTC), at the boundary.

Source: ../reference/kis-openapi.md §3.2 (all values are strings; key case differs per endpoint: parse
case-insensitively; ``output2`` is an object or a one-element array), §4.1 (order output), §4.4 (balance),
§4.5 (daily orders), §4.7 (price), §4.9 (daily chart, newest first). Every function raises `ValueError`
naming the field on a malformed answer; the client turns that into the right broker error.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from stock_manager.domain.costs import CostModel
from stock_manager.domain.fills import PRICE_SCALE, Fill, fill_from_amount
from stock_manager.domain.market import DailyBar
from stock_manager.domain.model import OrderType, Side
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import (
    BrokerOrderReport,
    BrokerOrderState,
    BrokerPosition,
    CashBalance,
    OrderAck,
    Quote,
)

type Row = dict[str, Any]

#: ``ORD_DVSN`` codes of market-type orders (§4.1); any other code is a priced order.
MARKET_ORDER_CODES = frozenset({"01", "13", "14"})


def lower_keys(value: Any) -> Any:
    """Return `value` with every dict key lower-cased, recursively (KIS mixes UPPER and lower case)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def dec(row: Mapping[str, Any], name: str, *, default: Decimal | None = None) -> Decimal:
    """Return field `name` of `row` as a Decimal (``""`` or missing → `default`, or an error when None).

    Raises
    ------
    ValueError
        Naming the field, when it is missing without a default or is not a number.
    """
    raw = row.get(name)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if default is None:
            raise ValueError(f"field {name} is missing or empty")
        return default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"field {name} is not a number: {text[:20]!r}") from None
    if not value.is_finite():
        raise ValueError(f"field {name} is not a finite number")
    return value


def text(row: Mapping[str, Any], name: str) -> str:
    """Return field `name` of `row` stripped of padding (``""`` when missing)."""
    raw = row.get(name)
    return "" if raw is None else str(raw).strip()


def rows(value: Any) -> list[Row]:
    """Return an ``output``/``output1``/``output2`` payload as a list of rows (object → one row)."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [dict(value)]
    if isinstance(value, list):
        return [dict(v) for v in value if isinstance(v, Mapping)]
    raise ValueError(f"expected an object or an array of objects, was {type(value).__name__}")


def parse_yyyymmdd(value: str, name: str) -> date:
    """Return the date of a ``YYYYMMDD`` field.

    Raises
    ------
    ValueError
        Naming the field.
    """
    try:
        return datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time of day
    except ValueError:
        raise ValueError(f"field {name} is not a YYYYMMDD date: {value[:12]!r}") from None


def kst_time(day: date, hhmmss: str, name: str) -> datetime:
    """Return the aware UTC datetime of KST wall time ``HHMMSS`` on `day`.

    Raises
    ------
    ValueError
        Naming the field when it is not six digits of a valid time.
    """
    if len(hhmmss) != 6 or not hhmmss.isdigit():
        raise ValueError(f"field {name} is not HHMMSS: {hhmmss[:12]!r}")
    try:
        at = time(int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:]))
    except ValueError:
        raise ValueError(f"field {name} is not a valid time: {hhmmss!r}") from None
    return kst_datetime(day, at)


# -- ORDERS ---------------------------------------------------------------------------------------------


def parse_order_ack(body: Mapping[str, Any], trading_date: date) -> OrderAck:
    """Return the ack of an accepted ``order-cash`` answer (``output``: ODNO, KRX_FWDG_ORD_ORGNO, ORD_TMD).

    `trading_date` is the KST date the order was sent on (ORD_TMD has only the time of day).
    """
    body = lower_keys(body)
    output = rows(body.get("output"))
    if not output:
        raise ValueError("the order answer has no output")
    row = output[0]
    number = text(row, "odno")
    if not number:
        raise ValueError("field ODNO is missing or empty")
    return OrderAck(
        broker_order_number=number,
        venue_order_ref=text(row, "krx_fwdg_ord_orgno"),
        ts_accepted=kst_time(trading_date, text(row, "ord_tmd"), "ORD_TMD"),
    )


# -- BALANCE --------------------------------------------------------------------------------------------


def parse_cash(body: Mapping[str, Any], account_id: str) -> CashBalance:
    """Return the cash of an ``inquire-balance`` answer: ``output2`` ``dnca_tot_amt`` (deposit) and
    ``nxdy_excc_amt`` (orderable, the D+1 settlement amount), KRW."""
    summary = rows(lower_keys(body).get("output2"))
    if not summary:
        raise ValueError("the balance answer has no output2")
    row = summary[0]
    deposit = dec(row, "dnca_tot_amt")
    return CashBalance(
        account_id=account_id, deposit_krw=deposit, orderable_krw=dec(row, "nxdy_excc_amt", default=deposit)
    )


def parse_positions(body: Mapping[str, Any]) -> list[BrokerPosition]:
    """Return the holdings of one ``inquire-balance`` page (``output1``) with non-zero ``hldg_qty``."""
    positions = []
    for row in rows(lower_keys(body).get("output1")):
        quantity = dec(row, "hldg_qty", default=Decimal(0))
        if quantity > 0:
            positions.append(
                BrokerPosition(
                    symbol=text(row, "pdno"), quantity=quantity, avg_price=dec(row, "pchs_avg_pric", default=Decimal(0))
                )
            )
    return positions


# -- DAILY ORDERS AND FILLS -----------------------------------------------------------------------------


def _is_revise_or_cancel(row: Row) -> bool:
    # A revise/cancel request is its own row pointing at the original (orgn_odno) [§4.2, §4.5].
    return bool(text(row, "orgn_odno").lstrip("0"))


def _side(row: Row) -> Side:
    code = text(row, "sll_buy_dvsn_cd")
    if code == "01":
        return Side.SELL
    if code == "02":
        return Side.BUY
    raise ValueError(f"field sll_buy_dvsn_cd is not 01/02: {code!r}")


def _state(row: Row, cancel_confirmed: bool) -> BrokerOrderState:
    quantity = dec(row, "ord_qty")
    filled = dec(row, "tot_ccld_qty", default=Decimal(0))
    if filled >= quantity > 0:
        return BrokerOrderState.FILLED
    if dec(row, "rjct_qty", default=Decimal(0)) > 0 and filled == 0:
        return BrokerOrderState.REJECTED
    canceled = (
        text(row, "cncl_yn").upper() == "Y"
        or dec(row, "cncl_cfrm_qty", default=dec(row, "cnc_cfrm_qty", default=Decimal(0))) > 0
    )
    # rmn_qty 0 with shares unfilled: nothing of the order is working any more.
    if canceled or cancel_confirmed or dec(row, "rmn_qty", default=quantity - filled) <= 0:
        return BrokerOrderState.CANCELED
    return BrokerOrderState.OPEN


def parse_order_reports(all_rows: Iterable[Row], account_id: str) -> list[BrokerOrderReport]:
    """Return one report per original order of ``inquire-daily-ccld`` ``output1`` rows (all pages).

    Revise/cancel rows (``orgn_odno`` set) are not orders of their own: a confirmed cancel
    (``cncl_cfrm_qty`` > 0 or ``cncl_yn`` Y on it) marks its original order CANCELED unless filled. State
    otherwise from ``tot_ccld_qty`` / ``ord_qty`` / ``rjct_qty`` / ``cncl_yn`` / ``cncl_cfrm_qty`` / ``rmn_qty``
    [§4.5; how KIS fills cncl_yn on the original row is ?, so both readings are accepted].
    """
    normalized = [lower_keys(r) for r in all_rows if r]
    confirmed_cancels = set()
    for row in normalized:
        if _is_revise_or_cancel(row):
            confirmed = (
                text(row, "cncl_yn").upper() == "Y"
                or dec(row, "cncl_cfrm_qty", default=dec(row, "cnc_cfrm_qty", default=Decimal(0))) > 0
            )
            if confirmed:
                confirmed_cancels.add(text(row, "orgn_odno").lstrip("0"))
    reports = []
    for row in normalized:
        if _is_revise_or_cancel(row) or not text(row, "odno"):
            continue
        number = text(row, "odno")
        order_type = OrderType.MARKET if text(row, "ord_dvsn_cd") in MARKET_ORDER_CODES else OrderType.LIMIT
        filled = dec(row, "tot_ccld_qty", default=Decimal(0))
        amount = dec(row, "tot_ccld_amt", default=Decimal(0))
        # avg_prvs is an integer (the sample: "3145"); the exact average is tot_ccld_amt / tot_ccld_qty.
        avg = (
            (amount / filled).quantize(PRICE_SCALE)
            if filled > 0 and amount > 0
            else dec(row, "avg_prvs", default=Decimal(0))
        )
        day = parse_yyyymmdd(text(row, "ord_dt"), "ord_dt")
        reports.append(
            BrokerOrderReport(
                account_id=account_id,
                broker_order_number=number,
                venue_order_ref=text(row, "ord_gno_brno"),
                symbol=text(row, "pdno"),
                side=_side(row),
                order_type=order_type,
                quantity=dec(row, "ord_qty"),
                limit_price=None if order_type is OrderType.MARKET else dec(row, "ord_unpr"),
                state=_state(row, number.lstrip("0") in confirmed_cancels),
                filled_quantity=filled,
                avg_fill_price=avg if filled > 0 else None,
                ts_accepted=kst_time(day, text(row, "ord_tmd"), "ord_tmd"),
                trading_date=day,
            )
        )
    reports.sort(key=lambda r: (r.ts_accepted, r.broker_order_number.lstrip("0").zfill(12)))
    return reports


def aggregate_fills(reports: Iterable[BrokerOrderReport], all_rows: Iterable[Row], cost_model: CostModel) -> list[Fill]:
    """Return one aggregate fill per order with executions (``inquire-daily-ccld`` has only order totals).

    Quantity ``tot_ccld_qty``, amount ``tot_ccld_amt`` exactly (``Fill.amount_krw``; the price is that amount ÷
    the quantity rounded to `PRICE_SCALE`: ``avg_prvs`` is an integer and only stands in where the amount is 0),
    id ``ccld:<YYYYMMDD>:<ODNO>:<qty>``, fees from `cost_model` on the amount (notices and inquiries carry no
    per-fill fees); time = the order's acceptance time (KIS gives no execution time here). The service layer
    reconciles by cumulative quantity and amount (`missing_by_quantity`).
    """
    amounts = {}
    for row in (lower_keys(r) for r in all_rows if r):
        if text(row, "odno") and not _is_revise_or_cancel(row):
            amounts[text(row, "odno")] = dec(row, "tot_ccld_amt", default=Decimal(0))
    fills = []
    for report in reports:
        if report.filled_quantity <= 0 or report.avg_fill_price is None:
            continue
        notional = amounts.get(report.broker_order_number) or report.filled_quantity * report.avg_fill_price
        trade_day = report.trading_date
        fill = Fill(
            broker_fill_id=f"ccld:{trade_day:%Y%m%d}:{report.broker_order_number}:{report.filled_quantity}",
            broker_order_number=report.broker_order_number,
            symbol=report.symbol,
            side=report.side,
            quantity=report.filled_quantity,
            price=report.avg_fill_price,
            commission_krw=cost_model.commission_krw(notional),
            tax_krw=cost_model.tax_krw(report.side, notional, trade_day),
            ts_filled=report.ts_accepted,
            trading_date=trade_day,
        )
        fills.append(fill_from_amount(fill, report.filled_quantity, notional))
    return fills


# -- QUOTATIONS -----------------------------------------------------------------------------------------


def parse_quote(body: Mapping[str, Any], symbol: str, ts_event: datetime) -> Quote:
    """Return the ``inquire-price`` quote (TR FHKST01010100): ``stck_prpr``, ``stck_sdpr`` base,
    ``stck_mxpr``/``stck_llam`` limits, and the day's ``stck_oprc``/``stck_hgpr``/``stck_lwpr`` once it traded
    (0 before the open: None)."""
    output = rows(lower_keys(body).get("output"))
    if not output:
        raise ValueError("the price answer has no output")
    row = output[0]
    price = dec(row, "stck_prpr")
    day = [dec(row, name, default=Decimal(0)) for name in ("stck_oprc", "stck_hgpr", "stck_lwpr")]
    day_open, day_high, day_low = day if all(v > 0 for v in day) else (None, None, None)
    return Quote(
        symbol=text(row, "stck_shrn_iscd") or symbol,
        price=price,
        base_price=dec(row, "stck_sdpr", default=price),
        upper_limit=dec(row, "stck_mxpr"),
        lower_limit=dec(row, "stck_llam"),
        ts_event=ts_event,
        day_open=day_open,
        day_high=day_high,
        day_low=day_low,
    )


def parse_daily_bars(body: Mapping[str, Any], symbol: str) -> list[DailyBar]:
    """Return the bars of one ``inquire-daily-itemchartprice`` answer (``output2``), oldest first.

    Empty rows (KIS pads with ``{}`` or rows without a date) are skipped.
    """
    bars = []
    for row in rows(lower_keys(body).get("output2")):
        day = text(row, "stck_bsop_date")
        if not day:
            continue
        bars.append(
            DailyBar(
                symbol=symbol,
                trading_date=parse_yyyymmdd(day, "stck_bsop_date"),
                open=dec(row, "stck_oprc"),
                high=dec(row, "stck_hgpr"),
                low=dec(row, "stck_lwpr"),
                close=dec(row, "stck_clpr"),
                volume=dec(row, "acml_vol", default=Decimal(0)),
            )
        )
    bars.sort(key=lambda b: b.trading_date)
    return bars
