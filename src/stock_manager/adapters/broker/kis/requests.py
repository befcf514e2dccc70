"""The KIS REST requests `KisBroker` sends, as pure functions of the configuration: paths, bodies and query
parameters.

Source: ../reference/kis-openapi.md §4.1 (order-cash: TTTC0012U buy / TTTC0011U sell), §4.2 (order-rvsecncl
TTTC0013U), §4.4 (inquire-balance TTTC8434R), §4.5 (inquire-daily-ccld TTTC0081R), §4.9 (daily chart
FHKST03010100). Paper forms take a V prefix (`KisConfig.tr`). All values are strings.
"""

import ssl
from datetime import date

from stock_manager.adapters.broker.kis.config import KisConfig
from stock_manager.adapters.venues.krx.rules import krx_instrument
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import OrderRequest

ORDER_CASH_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
ORDER_RVSECNCL_PATH = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
DAILY_CCLD_PATH = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
DAILY_CHART_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"

#: Calendar days asked per daily-chart call: about 95 trading days, under the 100-row cap (§4.9).
CHART_WINDOW_DAYS = 140


def tls_context() -> ssl.SSLContext:
    """Return the TLS context of real hosts: certificates verified, TLS 1.2 or newer (§1)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def order_body(config: KisConfig, request: OrderRequest) -> dict[str, str]:
    """Return the ``order-cash`` body of `request`.

    LIMIT: ``ORD_DVSN 00`` with the price rounded to the tick grid (down for buys, up for sells); MARKET:
    ``ORD_DVSN 01`` with ``ORD_UNPR "0"``. Routed to KRX (``EXCG_ID_DVSN_CD``); sells carry ``SLL_TYPE 01``.

    Raises
    ------
    OrderRejectedByBroker
        Code ``CLIENT``: the quantity is not a positive whole number, or a limit order has no positive price.
    """
    quantity = request.quantity
    if quantity <= 0 or quantity != quantity.to_integral_value():
        raise OrderRejectedByBroker(
            f"quantity must be a positive whole number of shares, was {quantity}", code="CLIENT"
        )
    if request.order_type is OrderType.LIMIT:
        if request.limit_price is None or request.limit_price <= 0:
            raise OrderRejectedByBroker("a limit order needs a positive limit price", code="CLIENT")
        instrument = krx_instrument(request.symbol, config.kind_of(request.symbol))
        price = instrument.round_price(request.limit_price, request.side)
        division, unit_price = "00", str(int(price))
    else:
        division, unit_price = "01", "0"
    body = {"CANO": config.cano, "ACNT_PRDT_CD": config.product_code, "PDNO": request.symbol}
    if request.side is Side.SELL:
        body["SLL_TYPE"] = "01"
    body |= {"ORD_DVSN": division, "ORD_QTY": str(int(quantity)), "ORD_UNPR": unit_price, "EXCG_ID_DVSN_CD": "KRX"}
    return body


def cancel_body(config: KisConfig, broker_order_number: str, venue_order_ref: str) -> dict[str, str]:
    """Return the ``order-rvsecncl`` body cancelling the whole remainder of an order (``RVSE_CNCL_DVSN_CD 02``,
    ``QTY_ALL_ORD_YN Y``); `venue_order_ref` is the order's branch (``KRX_FWDG_ORD_ORGNO``)."""
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.product_code,
        "KRX_FWDG_ORD_ORGNO": venue_order_ref,
        "ORGN_ODNO": broker_order_number,
        "ORD_DVSN": "00",
        "RVSE_CNCL_DVSN_CD": "02",
        "ORD_QTY": "0",
        "ORD_UNPR": "0",
        "QTY_ALL_ORD_YN": "Y",
        "EXCG_ID_DVSN_CD": "KRX",
    }


def balance_params(config: KisConfig) -> dict[str, str]:
    """Return the ``inquire-balance`` query (by symbol, no after-hours prices), without the paging context."""
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.product_code,
        "AFHR_FLPR_YN": "N",
        "OFL_YN": "",
        "INQR_DVSN": "02",
        "UNPR_DVSN": "01",
        "FUND_STTL_ICLD_YN": "N",
        "FNCG_AMT_AUTO_RDPT_YN": "N",
        "PRCS_DVSN": "00",
    }


def daily_ccld_params(config: KisConfig, trading_date: date) -> dict[str, str]:
    """Return the ``inquire-daily-ccld`` query of every order of `trading_date`, oldest first (KRX on paper,
    every venue on real)."""
    day = f"{trading_date:%Y%m%d}"
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.product_code,
        "INQR_STRT_DT": day,
        "INQR_END_DT": day,
        "SLL_BUY_DVSN_CD": "00",
        "INQR_DVSN": "01",
        "PDNO": "",
        "CCLD_DVSN": "00",
        "ORD_GNO_BRNO": "",
        "ODNO": "",
        "INQR_DVSN_3": "00",
        "INQR_DVSN_1": "",
        "EXCG_ID_DVSN_CD": "KRX" if config.mode == "paper" else "ALL",
    }


def chart_params(symbol: str, start: date, end: date) -> dict[str, str]:
    """Return the daily-chart query of `symbol` from `start` to `end` (adjusted prices, daily period)."""
    return {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": f"{start:%Y%m%d}",
        "FID_INPUT_DATE_2": f"{end:%Y%m%d}",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }
