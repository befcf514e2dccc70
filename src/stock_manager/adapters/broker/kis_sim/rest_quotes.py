"""Quotation endpoints of the simulator: ``inquire-price`` and ``inquire-daily-itemchartprice`` (KIS reference
§4.7, §4.9). Same TR ids on both hosts; ``FID_COND_MRKT_DIV_CODE`` must be ``J`` (KRX).

``inquire-price`` reports the replay: the last print of the current session (the base price before its
first print), the day's open/high/low/volume from the prints, the ±30 % limits and the tick (``aspr_unit``).
Fields the replay has no data for (valuation ratios, foreign holdings, 52-week range) are ``"0"``.

``inquire-daily-itemchartprice`` serves the bundled daily bars, newest first, at most 100 per call, and
never a bar on or after the replay clock's date (no look-ahead; KIS would include today's bar so far).
Only ``FID_PERIOD_DIV_CODE=D`` is modelled; W/M/Y answer SIMU0001. Prices are unadjusted whatever
``FID_ORG_ADJ_PRC`` says (the bundled data is what it is).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from aiohttp import web

from stock_manager.adapters.broker.kis_sim import wire
from stock_manager.adapters.broker.kis_sim.business import unsupported
from stock_manager.adapters.broker.kis_sim.paging import param
from stock_manager.adapters.broker.kis_sim.rest import kis_response, sim_of
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.marketdata import bars_before
from stock_manager.adapters.venues.krx.rules import tick_size
from stock_manager.domain.errors import ConfigurationError
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.broker import Quote

MAX_BARS = 100


def _symbol(request: web.Request, sim: KisExchangeSimulator) -> str:
    market = param(request, "FID_COND_MRKT_DIV_CODE")
    if market != "J":
        raise wire.invalid_param("FID_COND_MRKT_DIV_CODE", market)
    symbol = param(request, "FID_INPUT_ISCD")
    if symbol not in sim.venue.symbols:
        raise wire.invalid_param("FID_INPUT_ISCD", symbol)
    return symbol


def _sign(price: Decimal, base: Decimal, quote: Quote) -> str:
    if quote.upper_limit is not None and price >= quote.upper_limit:
        return "1"
    if quote.lower_limit is not None and price <= quote.lower_limit:
        return "4"
    return "2" if price > base else "5" if price < base else "3"


async def price(request: web.Request) -> web.Response:
    """``GET …/quotations/inquire-price`` (FHKST01010100)."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.PRICE.resolve(sim.mode, tr_id)
    symbol = _symbol(request, sim)
    try:
        quote = await sim.venue.get_price(symbol)
    except ConfigurationError:
        raise wire.invalid_param("FID_INPUT_ISCD", symbol) from None
    stats = sim.trades.day_stats(symbol, kst_date(quote.ts_event))
    change = quote.price - quote.base_price
    kind = sim.venue_kind(symbol)
    output = {
        "iscd_stat_cls_code": "55",
        "marg_rate": "20.00",
        "rprs_mrkt_kor_name": "KOSPI",
        "bstp_kor_isnm": "",
        "temp_stop_yn": "N",
        "oprc_rang_cont_yn": "N",
        "clpr_rang_cont_yn": "N",
        "crdt_able_yn": "Y",
        "grmn_rate_cls_code": "40",
        "elw_pblc_yn": "N",
        "stck_prpr": wire.num(quote.price),
        "prdy_vrss": wire.num(change),
        "prdy_vrss_sign": _sign(quote.price, quote.base_price, quote),
        "prdy_ctrt": wire.num(change / quote.base_price * 100 if quote.base_price else Decimal(0), 2),
        "acml_tr_pbmn": wire.num(stats.value.to_integral_value() if stats else Decimal(0)),
        "acml_vol": wire.num(stats.volume if stats else Decimal(0)),
        "stck_oprc": wire.num(stats.open if stats else Decimal(0)),
        "stck_hgpr": wire.num(stats.high if stats else Decimal(0)),
        "stck_lwpr": wire.num(stats.low if stats else Decimal(0)),
        "stck_mxpr": wire.num(quote.upper_limit),
        "stck_llam": wire.num(quote.lower_limit),
        "stck_sdpr": wire.num(quote.base_price),
        "wghn_avrg_stck_prc": "0",
        "hts_frgn_ehrt": "0",
        "frgn_ntby_qty": "0",
        "pgtr_ntby_qty": "0",
        "pvt_scnd_dmrs_prc": "0",
        "pvt_frst_dmrs_prc": "0",
        "pvt_pont_val": "0",
        "pvt_frst_dmsp_prc": "0",
        "pvt_scnd_dmsp_prc": "0",
        "dmrs_val": "0",
        "dmsp_val": "0",
        "cpfn": "0",
        "rstc_wdth_prc": "0",
        "stck_fcam": "0",
        "stck_sspr": "0",
        "aspr_unit": wire.num(tick_size(quote.price, kind)),
        "hts_deal_qty_unit_val": "1",
        "lstn_stcn": "0",
        "hts_avls": "0",
        "per": "0.00",
        "pbr": "0.00",
        "stac_month": "12",
        "vol_tnrt": "0.00",
        "eps": "0.00",
        "bps": "0.00",
        "d250_hgpr": "0",
        "d250_lwpr": "0",
        "w52_hgpr": "0",
        "w52_lwpr": "0",
        "stck_shrn_iscd": symbol,
        "vi_cls_code": "N",
        "ovtm_vi_cls_code": "N",
        "last_ssts_cntg_qty": "0",
        "invt_caful_yn": "N",
        "mrkt_warn_cls_code": "00",
        "short_over_yn": "N",
        "sltr_yn": "N",
        "mang_issu_cls_code": "N",
    }
    return kis_response(wire.envelope(wire.QUOTE_OK, output=output), tr_id=tr_id)


async def daily_chart(request: web.Request) -> web.Response:
    """``GET …/quotations/inquire-daily-itemchartprice`` (FHKST03010100): daily bars, newest first."""
    sim = sim_of(request)
    tr_id = request.headers.get("tr_id", "")
    wire.DAILY_CHART.resolve(sim.mode, tr_id)
    symbol = _symbol(request, sim)
    dates = []
    for name in ("FID_INPUT_DATE_1", "FID_INPUT_DATE_2"):
        text = param(request, name)
        try:
            dates.append(datetime.strptime(text, "%Y%m%d").date())  # noqa: DTZ007 - a calendar date
        except ValueError:
            raise wire.invalid_param(name, text) from None
    period = param(request, "FID_PERIOD_DIV_CODE")
    if period != "D":
        raise unsupported(f"FID_PERIOD_DIV_CODE {period}")
    param(request, "FID_ORG_ADJ_PRC")
    start, end = dates
    cutoff = min(end + timedelta(days=1), kst_date(sim.venue.clock.now()))
    bars = [b for b in bars_before(symbol, cutoff, MAX_BARS + 1) if b.trading_date >= start]
    rows = []  # a window without bars (before the data begins, or reversed dates) is an empty list, as at KIS
    for previous, bar in zip([None, *bars], bars, strict=False):
        change = bar.close - previous.close if previous is not None else Decimal(0)
        rows.append(
            {
                "stck_bsop_date": bar.trading_date.strftime("%Y%m%d"),
                "stck_clpr": wire.num(bar.close),
                "stck_oprc": wire.num(bar.open),
                "stck_hgpr": wire.num(bar.high),
                "stck_lwpr": wire.num(bar.low),
                "acml_vol": wire.num(bar.volume),
                "acml_tr_pbmn": wire.num((bar.close * bar.volume).to_integral_value()),
                "flng_cls_code": "00",
                "prtt_rate": "0.00",
                "mod_yn": "N",
                "prdy_vrss_sign": "2" if change > 0 else "5" if change < 0 else "3",
                "prdy_vrss": wire.num(change),
                "revl_issu_reas": "",
            }
        )
    rows = rows[-MAX_BARS:][::-1]
    try:
        quote = await sim.venue.get_price(symbol)
    except ConfigurationError:
        raise wire.invalid_param("FID_INPUT_ISCD", symbol) from None
    summary = {
        "prdy_vrss": wire.num(quote.price - quote.base_price),
        "prdy_vrss_sign": _sign(quote.price, quote.base_price, quote),
        "prdy_ctrt": wire.num(
            (quote.price - quote.base_price) / quote.base_price * 100 if quote.base_price else Decimal(0), 2
        ),
        "stck_prdy_clpr": wire.num(quote.base_price),
        "acml_vol": "0",
        "acml_tr_pbmn": "0",
        "hts_kor_isnm": sim.symbol_name(symbol),
        "stck_prpr": wire.num(quote.price),
        "stck_shrn_iscd": symbol,
        "stck_mxpr": wire.num(quote.upper_limit),
        "stck_llam": wire.num(quote.lower_limit),
    }
    return kis_response(wire.envelope(wire.QUOTE_OK, output1=summary, output2=rows), tr_id=tr_id)
