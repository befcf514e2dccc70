"""Specifications of the KIS REST parsers against every REST sample in tests/kis_samples (``_meta`` stripped)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.kis.auth import parse_token_response
from stock_manager.adapters.broker.kis.errors import RateLimited, check_response, envelope
from stock_manager.adapters.broker.kis.parsers import (
    aggregate_fills,
    lower_keys,
    parse_cash,
    parse_daily_bars,
    parse_order_ack,
    parse_order_reports,
    parse_positions,
    parse_quote,
    rows,
)
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.errors import AmbiguousOrderOutcome, TemporaryBrokerError
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState
from tests.kis.support import ACCOUNT, sample, sample_meta


def test_order_ack_of_real_sample_keeps_padded_number_branch_and_kst_time():
    ack = parse_order_ack(sample("rest-order-cash-200-real.json"), date(2025, 6, 2))

    assert ack.broker_order_number == "0000006555"
    assert ack.venue_order_ref == "06590"
    assert ack.ts_accepted == datetime(2025, 6, 2, 6, 10, 59, tzinfo=UTC)  # 15:10:59 KST


def test_order_ack_of_paper_sample_keeps_short_number():
    ack = parse_order_ack(sample("rest-order-cash-200-paper.json"), date(2025, 6, 2))

    assert (ack.broker_order_number, ack.venue_order_ref) == ("11774", "00950")
    assert ack.ts_accepted == datetime(2025, 6, 2, 5, 51, 52, tzinfo=UTC)


def test_order_ack_without_order_number_is_refused():
    body = sample("rest-order-cash-200-paper.json")
    body["output"]["ODNO"] = ""

    with pytest.raises(ValueError, match="ODNO"):
        parse_order_ack(body, date(2025, 6, 2))


def test_balance_sample_gives_cash_with_output2_as_array():
    cash = parse_cash(sample("rest-inquire-balance-200-paper.json"), ACCOUNT)

    assert cash.deposit_krw == Decimal("9644485")
    assert cash.orderable_krw == Decimal("9644485")
    assert cash.account_id == ACCOUNT


def test_balance_sample_gives_holdings_as_decimals():
    positions = parse_positions(sample("rest-inquire-balance-200-paper.json"))

    assert [(p.symbol, p.quantity, p.avg_price) for p in positions] == [
        ("000660", Decimal(1), Decimal("198600.0000")),
        ("114800", Decimal(35), Decimal("4482.1420")),
    ]


def test_balance_with_output2_as_object_and_sold_out_holding():
    body = sample("rest-inquire-balance-200-paper.json")
    body["output2"] = body["output2"][0]
    body["output1"][0]["hldg_qty"] = "0"

    assert parse_cash(body, ACCOUNT).deposit_krw == Decimal("9644485")
    assert [p.symbol for p in parse_positions(body)] == ["114800"]


def test_daily_ccld_sample_is_a_filled_market_buy():
    body = sample("rest-inquire-daily-ccld-200-real.json")

    [report] = parse_order_reports(rows(body["output1"]), ACCOUNT)

    assert report.broker_order_number == "0000085100"
    assert report.venue_order_ref == "03930"
    assert (report.symbol, report.side, report.order_type) == ("088350", Side.BUY, OrderType.MARKET)
    assert report.limit_price is None
    assert (report.quantity, report.filled_quantity, report.avg_fill_price) == (Decimal(1), Decimal(1), Decimal(3145))
    assert report.state is BrokerOrderState.FILLED
    assert report.ts_accepted == datetime(2025, 12, 17, 0, 44, 14, tzinfo=UTC)


def test_daily_ccld_sample_gives_one_aggregate_fill_with_costs():
    body = sample("rest-inquire-daily-ccld-200-real.json")
    order_rows = rows(body["output1"])
    reports = parse_order_reports(order_rows, ACCOUNT)

    [fill] = aggregate_fills(reports, order_rows, krx_cost_model(commission_rate=Decimal("0.001")))

    assert fill.broker_fill_id == "ccld:20251217:0000085100:1"
    assert (fill.quantity, fill.price, fill.side) == (Decimal(1), Decimal(3145), Side.BUY)
    assert fill.commission_krw == Decimal(3)  # 3145 × 0.1 %, truncated
    assert fill.tax_krw == Decimal(0)


def _row(**fields: str) -> dict[str, str]:
    base = {
        "ord_dt": "20250602",
        "ord_gno_brno": "00950",
        "odno": "0000000101",
        "orgn_odno": "",
        "sll_buy_dvsn_cd": "01",
        "pdno": "005930",
        "ord_qty": "10",
        "ord_unpr": "71500",
        "ord_tmd": "093000",
        "tot_ccld_qty": "0",
        "avg_prvs": "0",
        "cncl_yn": "",
        "tot_ccld_amt": "0",
        "ord_dvsn_cd": "00",
        "cncl_cfrm_qty": "0",
        "rmn_qty": "10",
        "rjct_qty": "0",
    }
    return base | fields


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({}, BrokerOrderState.OPEN),
        ({"tot_ccld_qty": "4", "avg_prvs": "71500", "tot_ccld_amt": "286000", "rmn_qty": "6"}, BrokerOrderState.OPEN),
        ({"tot_ccld_qty": "10", "avg_prvs": "71500", "rmn_qty": "0"}, BrokerOrderState.FILLED),
        ({"rjct_qty": "10", "rmn_qty": "0"}, BrokerOrderState.REJECTED),
        ({"cncl_yn": "Y"}, BrokerOrderState.CANCELED),
        ({"tot_ccld_qty": "4", "avg_prvs": "71500", "cncl_cfrm_qty": "6", "rmn_qty": "0"}, BrokerOrderState.CANCELED),
    ],
)
def test_order_state_from_totals(fields, state):
    [report] = parse_order_reports([_row(**fields)], ACCOUNT)

    assert report.state is state
    assert report.side is Side.SELL
    assert report.limit_price == Decimal(71500)


def test_cancel_row_is_not_an_order_and_cancels_its_original():
    original = _row()
    cancel = _row(
        odno="0000000102", orgn_odno="0000000101", ord_qty="10", cncl_cfrm_qty="10", rmn_qty="0", ord_tmd="093500"
    )

    reports = parse_order_reports([cancel, original], ACCOUNT)

    assert [(r.broker_order_number, r.state) for r in reports] == [("0000000101", BrokerOrderState.CANCELED)]


def test_partially_filled_order_gives_aggregate_fill_with_sell_tax():
    order_rows = [_row(tot_ccld_qty="4", avg_prvs="71500", tot_ccld_amt="286000", rmn_qty="6")]

    [fill] = aggregate_fills(parse_order_reports(order_rows, ACCOUNT), order_rows, krx_cost_model())

    assert fill.broker_fill_id == "ccld:20250602:0000000101:4"
    assert fill.tax_krw == Decimal(429)  # 286,000 × 0.15 % (2025)
    assert fill.commission_krw == Decimal(40)


def test_uppercase_keys_are_read_like_lowercase():
    [report] = parse_order_reports([{k.upper(): v for k, v in _row().items()}], ACCOUNT)

    assert report.broker_order_number == "0000000101"


def test_malformed_number_names_the_field():
    with pytest.raises(ValueError, match="ord_qty"):
        parse_order_reports([_row(ord_qty="ten")], ACCOUNT)


def test_price_answer_gives_limits_and_base():
    body = {
        "rt_cd": "0",
        "msg_cd": "MCA00000",
        "msg1": "정상처리 되었습니다.",
        "output": {
            "stck_prpr": "71500",
            "prdy_vrss": "1500",
            "stck_mxpr": "91000",
            "stck_llam": "49000",
            "stck_sdpr": "70000",
            "aspr_unit": "100",
        },
    }
    ts = datetime(2025, 6, 2, 1, tzinfo=UTC)

    quote = parse_quote(body, "005930", ts)

    assert (quote.price, quote.base_price, quote.upper_limit, quote.lower_limit) == (
        Decimal(71500),
        Decimal(70000),
        Decimal(91000),
        Decimal(49000),
    )
    assert quote.ts_event == ts
    assert quote.day_open is None  # no stck_oprc: the day's open is unknown


def test_price_answer_when_the_day_traded_then_its_open_high_and_low_and_before_the_open_none():
    row = {"stck_prpr": "71500", "stck_mxpr": "91000", "stck_llam": "49000", "stck_sdpr": "70000"}
    ts = datetime(2025, 6, 2, 1, tzinfo=UTC)

    traded = parse_quote(
        {"output": {**row, "stck_oprc": "70200", "stck_hgpr": "71900", "stck_lwpr": "70100"}}, "005930", ts
    )
    before = parse_quote({"output": {**row, "stck_oprc": "0", "stck_hgpr": "0", "stck_lwpr": "0"}}, "005930", ts)

    assert (traded.day_open, traded.day_high, traded.day_low) == (Decimal(70200), Decimal(71900), Decimal(70100))
    assert (before.day_open, before.day_high, before.day_low) == (None, None, None)


def test_daily_chart_rows_come_back_oldest_first_and_empty_rows_are_skipped():
    body = {
        "rt_cd": "0",
        "output1": {"stck_prpr": "71500"},
        "output2": [
            {
                "stck_bsop_date": "20250602",
                "stck_oprc": "70000",
                "stck_hgpr": "72000",
                "stck_lwpr": "69900",
                "stck_clpr": "71500",
                "acml_vol": "1000",
            },
            {
                "stck_bsop_date": "20250530",
                "stck_oprc": "69000",
                "stck_hgpr": "70500",
                "stck_lwpr": "68800",
                "stck_clpr": "70000",
                "acml_vol": "900",
            },
            {},
        ],
    }

    bars = parse_daily_bars(body, "005930")

    assert [b.trading_date for b in bars] == [date(2025, 5, 30), date(2025, 6, 2)]
    assert bars[1].close == Decimal(71500)


def test_token_sample_expiry_is_read_as_kst():
    now = datetime(2025, 5, 15, 0, 0, tzinfo=UTC)

    token = parse_token_response(sample("rest-oauth-tokenP-200.json"), now)

    assert token.value.startswith("eyJ0eXAi")
    assert token.expires_at == datetime(2025, 5, 16, 0, 0, tzinfo=UTC)  # 09:00 KST


def test_token_rate_limit_sample_is_read_from_its_own_shape():
    assert sample_meta("rest-oauth-tokenP-403-EGW00133.json")["http_status"] == 403
    _, code, message = envelope(sample("rest-oauth-tokenP-403-EGW00133.json"))

    assert code == "EGW00133"
    assert "1분당 1회" in message


@pytest.mark.parametrize("status", [500, 200])
@pytest.mark.parametrize("is_order", [True, False])
def test_rate_limit_sample_is_rate_limited_whatever_the_status(status, is_order):
    body = sample("rest-error-500-EGW00201-rate-limit.json")

    with pytest.raises(RateLimited) as caught:
        check_response(status, body, what="test", is_order=is_order)

    assert not isinstance(caught.value, AmbiguousOrderOutcome)  # the gateway refused: nothing was placed
    assert isinstance(caught.value, TemporaryBrokerError)


def test_padded_msg1_is_stripped_and_ctx_strings_are_not():
    body = lower_keys(sample("rest-inquire-balance-200-paper.json"))

    assert envelope(body)[2] == "모의투자 조회가 완료되었습니다."
    assert len(body["ctx_area_nk100"]) == 100
