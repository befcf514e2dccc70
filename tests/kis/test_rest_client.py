"""Specifications of the REST side of `KisBroker` on a scripted transport: request shapes, error translation,
retries of reads only, paging, rate-limit priority and masking."""

import asyncio
import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from stock_manager.adapters.broker.kis import KisBroker
from stock_manager.adapters.broker.kis.ratelimit import Priority, PriorityRateLimiter
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest
from tests.kis.fake_kis import FakeKis, error, ok
from tests.kis.support import ACCOUNT, APP_KEY, APP_SECRET, WallClock, config, sample

ORDER = "/trading/order-cash"
CANCEL = "/trading/order-rvsecncl"
PRICE = "/quotations/inquire-price"
BALANCE = "/trading/inquire-balance"
CCLD = "/trading/inquire-daily-ccld"
CHART = "/quotations/inquire-daily-itemchartprice"
PRICE_OUTPUT = {"stck_prpr": "71500", "stck_sdpr": "70000", "stck_mxpr": "91000", "stck_llam": "49000"}
ACCEPTED = (200, sample("rest-order-cash-200-paper.json"), {})


def broker(fake: FakeKis, clock: WallClock | None = None, **overrides) -> KisBroker:
    clock = clock or WallClock()
    return KisBroker(
        config(None, **overrides),
        clock=clock,
        cost_model=krx_cost_model(),
        transport=fake.transport(),
        sleep=clock.sleep,
    )


def limit_buy(price: str = "71550", quantity: str = "3") -> OrderRequest:
    return OrderRequest(ACCOUNT, "005930", Side.BUY, OrderType.LIMIT, Decimal(quantity), Decimal(price))


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.read())


# -- ORDERS -----------------------------------------------------------------------------------------------


async def test_limit_buy_is_sent_on_the_tick_grid_with_paper_tr_and_string_values():
    fake = FakeKis()
    fake.script(ORDER, ACCEPTED)
    kis = broker(fake)

    ack = await kis.place_order(limit_buy("71550"))

    assert (ack.broker_order_number, ack.venue_order_ref) == ("11774", "00950")
    [call] = fake.calls(ORDER)
    assert call.headers["tr_id"] == "VTTC0012U"
    assert call.headers["authorization"].startswith("Bearer token-")
    assert (call.headers["appkey"], call.headers["appsecret"], call.headers["custtype"]) == (APP_KEY, APP_SECRET, "P")
    assert body_of(call) == {
        "CANO": "50123456",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_DVSN": "00",
        "ORD_QTY": "3",
        "ORD_UNPR": "71500",
        "EXCG_ID_DVSN_CD": "KRX",
    }
    await kis.close()


async def test_market_sell_on_real_sends_ord_unpr_zero_and_sell_type():
    fake = FakeKis()
    fake.script(ORDER, (200, sample("rest-order-cash-200-real.json"), {}))
    kis = broker(fake, mode="real", rest_base_url="http://127.0.0.1:9")
    request = OrderRequest(ACCOUNT, "005930", Side.SELL, OrderType.MARKET, Decimal(2), None)

    await kis.place_order(request)

    [call] = fake.calls(ORDER)
    assert call.headers["tr_id"] == "TTTC0011U"
    assert body_of(call) | {} == {
        "CANO": "50123456",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "SLL_TYPE": "01",
        "ORD_DVSN": "01",
        "ORD_QTY": "2",
        "ORD_UNPR": "0",
        "EXCG_ID_DVSN_CD": "KRX",
    }
    await kis.close()


async def test_limit_buy_of_an_etf_is_sent_at_its_own_price_on_the_etf_grid():
    # An ETF (069500, KODEX 200) trades on a 5-won grid above 5,000 KRW: 31,695 must not become the stock
    # grid's 31,650 (the daemon would then not recognise its own order when resolving an unanswered send).
    fake = FakeKis()
    fake.script(ORDER, ACCEPTED)
    kis = broker(fake)

    await kis.place_order(OrderRequest(ACCOUNT, "069500", Side.BUY, OrderType.LIMIT, Decimal(31), Decimal("31695")))

    assert body_of(fake.calls(ORDER)[0])["ORD_UNPR"] == "31695"
    await kis.close()


async def test_limit_sell_rounds_up_to_the_tick():
    fake = FakeKis()
    fake.script(ORDER, ACCEPTED)
    kis = broker(fake)

    await kis.place_order(OrderRequest(ACCOUNT, "005930", Side.SELL, OrderType.LIMIT, Decimal(1), Decimal("71501")))

    assert body_of(fake.calls(ORDER)[0])["ORD_UNPR"] == "71600"
    await kis.close()


async def test_business_rejection_carries_kis_message_and_code():
    fake = FakeKis()
    fake.script(ORDER, error("40310000", "모의투자 주문가능금액을 초과 했습니다                 ", status=200))
    kis = broker(fake)

    with pytest.raises(OrderRejectedByBroker) as caught:
        await kis.place_order(limit_buy())

    assert str(caught.value) == "모의투자 주문가능금액을 초과 했습니다"
    assert caught.value.code == "40310000"
    await kis.close()


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
        (500, {"rt_cd": "1", "msg_cd": "EGW00500", "msg1": "internal"}, {}),
        (502, "<html>bad gateway</html>", {}),
        (200, "not json", {}),
    ],
)
async def test_order_whose_outcome_is_unknown_is_ambiguous_and_never_resent(failure):
    fake = FakeKis()
    fake.script(ORDER, failure)
    kis = broker(fake)

    with pytest.raises(AmbiguousOrderOutcome):
        await kis.place_order(limit_buy())

    assert len(fake.calls(ORDER)) == 1
    await kis.close()


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timeout"),
        error("EGW00201", "초당 거래건수를 초과하였습니다."),
    ],
)
async def test_order_certainly_not_sent_is_temporary_not_ambiguous(failure):
    fake = FakeKis()
    fake.script(ORDER, failure)
    kis = broker(fake)

    with pytest.raises(TemporaryBrokerError) as caught:
        await kis.place_order(limit_buy())

    assert not isinstance(caught.value, AmbiguousOrderOutcome)
    assert len(fake.calls(ORDER)) == 1
    await kis.close()


async def test_order_refused_for_an_expired_token_is_sent_again_once_with_a_new_token():
    fake = FakeKis()
    fake.script(ORDER, error("EGW00123", "기간이 만료된 token 입니다."), ACCEPTED)
    kis = broker(fake)

    ack = await kis.place_order(limit_buy())

    assert ack.broker_order_number == "11774"
    assert len(fake.calls(ORDER)) == 2 and fake.tokens_issued == 2
    await kis.close()


@pytest.mark.parametrize(("quantity", "price"), [("0", "71500"), ("1.5", "71500"), ("1", "0")])
async def test_invalid_order_is_refused_before_sending(quantity, price):
    fake = FakeKis()
    kis = broker(fake)

    with pytest.raises(OrderRejectedByBroker) as caught:
        await kis.place_order(limit_buy(price, quantity))

    assert caught.value.code == "CLIENT" and not fake.calls(ORDER)
    await kis.close()


async def test_order_for_another_account_is_fatal_and_not_sent():
    fake = FakeKis()
    kis = broker(fake)

    with pytest.raises(FatalBrokerError, match=r"9999\*\*\*\*-01"):
        await kis.place_order(OrderRequest("99998888-01", "005930", Side.BUY, OrderType.MARKET, Decimal(1), None))

    assert not fake.requests
    await kis.close()


async def test_cancel_sends_the_whole_remainder_cancel():
    fake = FakeKis()
    fake.script(CANCEL, ok({"KRX_FWDG_ORD_ORGNO": "00950", "ODNO": "11775", "ORD_TMD": "100000"}))
    kis = broker(fake)

    await kis.cancel_order(ACCOUNT, "11774", "00950")

    [call] = fake.calls(CANCEL)
    assert call.headers["tr_id"] == "VTTC0013U"
    assert body_of(call) == {
        "CANO": "50123456",
        "ACNT_PRDT_CD": "01",
        "KRX_FWDG_ORD_ORGNO": "00950",
        "ORGN_ODNO": "11774",
        "ORD_DVSN": "00",
        "RVSE_CNCL_DVSN_CD": "02",
        "ORD_QTY": "0",
        "ORD_UNPR": "0",
        "QTY_ALL_ORD_YN": "Y",
        "EXCG_ID_DVSN_CD": "KRX",
    }
    await kis.close()


async def test_cancel_refused_is_a_rejection_and_timeout_is_ambiguous():
    fake = FakeKis()
    fake.script(CANCEL, error("40330000", "정정/취소할 수량이 없습니다.", status=200), httpx.ReadTimeout("timeout"))
    kis = broker(fake)

    with pytest.raises(OrderRejectedByBroker, match="수량이 없습니다"):
        await kis.cancel_order(ACCOUNT, "11774", "00950")
    with pytest.raises(AmbiguousOrderOutcome):
        await kis.cancel_order(ACCOUNT, "11774", "00950")
    await kis.close()


async def test_hashkey_is_fetched_for_the_exact_body_and_sent_when_configured():
    fake = FakeKis()
    fake.script(ORDER, ACCEPTED)
    kis = broker(fake, use_hashkey=True)

    await kis.place_order(limit_buy())

    [hash_call] = fake.calls("/uapi/hashkey")
    [order_call] = fake.calls(ORDER)
    assert hash_call.read() == order_call.read()
    assert (hash_call.headers["appkey"], order_call.headers["hashkey"]) == (APP_KEY, "f" * 64)
    await kis.close()


# -- READS ------------------------------------------------------------------------------------------------


async def test_rate_limited_read_backs_off_with_jitter_and_succeeds():
    fake, clock = FakeKis(), WallClock()
    limited = (500, sample("rest-error-500-EGW00201-rate-limit.json"), {})
    fake.script(PRICE, limited, limited, ok(PRICE_OUTPUT))
    kis = broker(fake, clock)

    quote = await kis.get_price("005930")

    assert quote.upper_limit == Decimal(91000)
    assert len(fake.calls(PRICE)) == 3
    assert len(clock.slept) == 2 and all(0.1 < s <= 2.5 for s in clock.slept)
    await kis.close()


@pytest.mark.parametrize("failure", [(500, "oops", {}), httpx.ReadTimeout("timeout"), httpx.ConnectError("refused")])
async def test_read_failing_in_transport_or_5xx_is_retried_then_temporary(failure):
    fake, clock = FakeKis(), WallClock()
    fake.script(PRICE, *[failure] * 10)
    kis = broker(fake, clock)

    with pytest.raises(TemporaryBrokerError):
        await kis.get_price("005930")

    assert len(fake.calls(PRICE)) == 5
    await kis.close()


@pytest.mark.parametrize(
    "answer",
    [
        error("EGW02004", "실전투자 도메인은 모의투자 앱키로 호출하실 수 없습니다."),
        error("", "모의투자 TR 이 아닙니다.", rt_cd="1"),
        error("APAC0081", "계좌번호 입력 오류입니다", status=200, rt_cd="7"),
        error("EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)"),
    ],
)
async def test_configuration_errors_are_fatal_and_not_retried(answer):
    fake = FakeKis()
    fake.script(BALANCE, answer)
    kis = broker(fake)

    with pytest.raises(FatalBrokerError):
        await kis.get_cash(ACCOUNT)

    assert len(fake.calls(BALANCE)) == 1
    await kis.close()


async def test_balance_sample_gives_cash():
    fake = FakeKis()
    fake.script(BALANCE, (200, sample("rest-inquire-balance-200-paper.json"), {"tr_cont": "D"}))
    kis = broker(fake)

    cash = await kis.get_cash(ACCOUNT)

    assert cash.deposit_krw == Decimal("9644485")
    [call] = fake.calls(BALANCE)
    assert call.headers["tr_id"] == "VTTC8434R"
    assert call.url.params["CTX_AREA_FK100"] == "" and call.url.params["CANO"] == "50123456"
    await kis.close()


def _page(rows: list[dict], tr_cont: str, fk: str, nk: str) -> tuple[int, dict, dict]:
    return (
        200,
        {
            "rt_cd": "0",
            "msg_cd": "20310000",
            "msg1": "모의투자 조회가 완료되었습니다.   ",
            "ctx_area_fk100": fk,
            "ctx_area_nk100": nk,
            "output1": rows,
            "output2": [{"dnca_tot_amt": "1000", "nxdy_excc_amt": "1000"}],
        },
        {"tr_cont": tr_cont},
    )


def _holding(symbol: str) -> dict:
    return {"pdno": symbol, "hldg_qty": "1", "pchs_avg_pric": "1000.0000"}


async def test_positions_are_read_over_every_page_with_context_sent_back_unstripped():
    fake = FakeKis()
    fk = "50123456!^01!^".ljust(100)
    nk1, nk2 = "000660".ljust(100), "114800".ljust(100)
    fake.script(
        BALANCE,
        _page([_holding("000660")], "F", fk, nk1),
        _page([_holding("114800")], "M", fk, nk2),
        _page([_holding("005930")], "D", fk, " " * 100),
    )
    kis = broker(fake)

    positions = await kis.get_positions(ACCOUNT)

    assert [p.symbol for p in positions] == ["000660", "114800", "005930"]
    calls = fake.calls(BALANCE)
    assert [c.headers["tr_cont"] for c in calls] == ["", "N", "N"]
    assert [c.url.params["CTX_AREA_NK100"] for c in calls] == ["", nk1, nk2]
    assert calls[1].url.params["CTX_AREA_FK100"] == fk
    await kis.close()


async def test_data_changed_between_pages_restarts_from_page_one():
    fake = FakeKis()
    fk, nk = "f".ljust(100), "n".ljust(100)
    fake.script(
        BALANCE,
        _page([_holding("000660")], "F", fk, nk),
        error("SYDB0050", "조회이후에 자료가 변경되었습니다.(다시 조회하세요)", status=200, rt_cd="7"),
        _page([_holding("000660")], "F", fk, nk),
        _page([_holding("005930")], "D", fk, " " * 100),
    )
    kis = broker(fake)

    positions = await kis.get_positions(ACCOUNT)

    assert [p.symbol for p in positions] == ["000660", "005930"]
    assert [c.headers["tr_cont"] for c in fake.calls(BALANCE)] == ["", "N", "", "N"]
    await kis.close()


async def test_orders_and_fills_of_the_day_from_the_ccld_sample():
    fake = FakeKis()
    fake.defaults[CCLD] = (200, sample("rest-inquire-daily-ccld-200-real.json"), {"tr_cont": "D"})
    kis = broker(fake)

    [report] = await kis.get_orders(ACCOUNT, date(2025, 12, 17))
    [fill] = await kis.get_fills(ACCOUNT, date(2025, 12, 17))

    assert report.state is BrokerOrderState.FILLED
    assert fill.broker_fill_id == "ccld:20251217:0000085100:1"
    call = fake.calls(CCLD)[0]
    assert call.headers["tr_id"] == "VTTC0081R"
    assert (call.url.params["INQR_STRT_DT"], call.url.params["INQR_END_DT"]) == ("20251217", "20251217")
    await kis.close()


async def test_malformed_read_answer_is_a_temporary_error_naming_the_field():
    fake = FakeKis()
    fake.script(PRICE, ok({"stck_prpr": "abc"}))
    kis = broker(fake)

    with pytest.raises(TemporaryBrokerError, match="stck_prpr"):
        await kis.get_price("005930")
    await kis.close()


def _bars(days: list[date]) -> tuple[int, dict, dict]:
    return ok(
        None,
        output1={},
        output2=[
            {
                "stck_bsop_date": f"{d:%Y%m%d}",
                "stck_oprc": "100",
                "stck_hgpr": "110",
                "stck_lwpr": "90",
                "stck_clpr": "105",
                "acml_vol": "10",
            }
            for d in sorted(days, reverse=True)
        ],
    )


async def test_daily_bars_are_paged_backwards_by_date_until_count():
    from datetime import timedelta

    fake = FakeKis()
    end = date(2025, 6, 2)
    newest = [end - timedelta(days=i) for i in range(100)]
    older = [end - timedelta(days=i) for i in range(100, 150)]
    fake.script(CHART, _bars(newest), _bars(older))
    kis = broker(fake)

    bars = await kis.get_daily_bars("005930", end, 120)

    assert len(bars) == 120 and bars[-1].trading_date == end
    assert bars == sorted(bars, key=lambda b: b.trading_date)
    second = fake.calls(CHART)[1].url.params
    assert second["FID_INPUT_DATE_2"] == f"{end - timedelta(days=100):%Y%m%d}"
    await kis.close()


async def test_daily_bars_when_few_are_asked_then_the_window_is_twice_the_count_and_two_weeks():
    from datetime import timedelta

    fake = FakeKis()
    end = date(2025, 6, 2)
    fake.script(CHART, _bars([end - timedelta(days=i) for i in range(4)]))
    kis = broker(fake)

    bars = await kis.get_daily_bars("005930", end, 3)

    assert [b.trading_date for b in bars] == [end - timedelta(days=i) for i in (2, 1, 0)]
    [call] = fake.calls(CHART)
    assert call.url.params["FID_INPUT_DATE_1"] == f"{end - timedelta(days=20):%Y%m%d}"
    assert call.url.params["FID_INPUT_DATE_2"] == f"{end:%Y%m%d}"
    await kis.close()


# -- RATE LIMIT AND MASKING ----------------------------------------------------------------------------------


async def test_orders_go_ahead_of_queued_reads():
    limiter = PriorityRateLimiter(50)
    order: list[str] = []

    async def call(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    reads = [asyncio.create_task(call(f"read{i}", Priority.READ)) for i in range(5)]
    await asyncio.sleep(0)
    orders = [asyncio.create_task(call("order", Priority.ORDER))]
    await asyncio.gather(*reads, *orders)

    assert order.index("order") <= 2  # behind at most the read already admitted and the one in the bucket


async def test_limiter_spaces_calls_at_the_rate():
    limiter = PriorityRateLimiter(20)
    loop = asyncio.get_running_loop()
    start = loop.time()

    for _ in range(5):
        await limiter.acquire()

    assert loop.time() - start >= 4 / 20 * 0.9


async def test_secrets_never_reach_error_messages():
    fake = FakeKis()
    fake.script(PRICE, *[httpx.ConnectError(f"refused {APP_KEY} {APP_SECRET}")] * 5)
    kis = broker(fake)

    with pytest.raises(TemporaryBrokerError) as caught:
        await kis.get_price("005930")

    assert APP_KEY not in str(caught.value) and APP_SECRET not in str(caught.value)
    await kis.close()
