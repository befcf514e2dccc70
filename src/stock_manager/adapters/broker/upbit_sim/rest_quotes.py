"""Quotation API handlers: markets, candles, ticker, trades, order book and its instruments
(../reference/upbit-openapi.md §3). JSON numbers; errors carry a numeric ``name`` (§7).

Nothing after the replay clock is ever served: minute candles only once they have ended, day candles only of
days before the replay's current day (the day in progress has no candle here), and trades only once played.
Minute candles come from the bundled 30-minute data (units 30, 60 and 240; 60 and 240 aggregated from it);
the other units are answered 400, the data has nothing finer. The order book is one synthetic level around
the last trade (the replay has no book); ``/orderbook/instruments`` gives the price unit valid at the last
trade.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from stock_manager.adapters.broker.upbit_sim.market_view import MarketView
from stock_manager.adapters.broker.upbit_sim.rest import Params, params_of, sim_of
from stock_manager.adapters.broker.upbit_sim.wire import (
    epoch_ms,
    number,
    parse_time,
    quotation_error,
    quotation_response,
)
from stock_manager.adapters.venues.upbit import data
from stock_manager.adapters.venues.upbit.rules import MARKET_NAMES, UPBIT_DAY
from stock_manager.localtime import KST

SERVED_UNITS: Final = frozenset({30, 60, 240})
ALL_UNITS: Final = frozenset({1, 3, 5, 10, 15, 30, 60, 240})
MAX_CANDLES: Final = 200
MAX_TRADES: Final = 500
RATE_QUANTUM: Final = Decimal("1E-10")


def _markets(sim: Any, params: Params, name: str) -> list[str]:
    raw = params.get(name)
    if not raw:
        raise quotation_error(400, "Missing request parameter error. Check the required parameters!")
    markets = [m.strip() for m in raw.split(",") if m.strip()]
    if any(m not in sim.venue.symbols for m in markets):
        raise quotation_error(404, "Code not found")
    return markets


def _candle(candle: data.Candle, *, unit: int | None = None, previous: data.Candle | None = None) -> dict[str, Any]:
    body = {
        "market": candle.market,
        "candle_date_time_utc": f"{candle.start:%Y-%m-%dT%H:%M:%S}",
        "candle_date_time_kst": f"{candle.start.astimezone(KST):%Y-%m-%dT%H:%M:%S}",
        "opening_price": number(candle.open),
        "high_price": number(candle.high),
        "low_price": number(candle.low),
        "trade_price": number(candle.close),
        "timestamp": epoch_ms(candle.last_trade_at),
        "candle_acc_trade_price": number(candle.value_krw),
        "candle_acc_trade_volume": number(candle.volume),
    }
    if unit is not None:
        body["unit"] = unit
    if previous is not None:
        change = candle.close - previous.close
        body |= {
            "prev_closing_price": number(previous.close),
            "change_price": number(change),
            "change_rate": number((change / previous.close).quantize(RATE_QUANTUM)),
        }
    return body


def _window(sim: Any, params: Params) -> tuple[datetime, int]:
    now = sim.venue.clock.now()
    to_text = params.get("to")
    to = parse_time(to_text, "to", quotation=True) if to_text else now
    return to, params.integer("count", 1, low=1, high=MAX_CANDLES, quotation=True)


async def markets(request: web.Request) -> web.Response:
    """``GET /v1/market/all`` (§3.1)."""
    sim = sim_of(request)
    details = params_of(request).get("is_details") == "true"
    rows = []
    for market in sim.venue.symbols:
        korean, english = MARKET_NAMES.get(market, (market, market))
        row: dict[str, Any] = {"market": market, "korean_name": korean, "english_name": english}
        if details:
            row["market_event"] = {"warning": False, "caution": {}}
        rows.append(row)
    return quotation_response(rows)


async def minute_candles(request: web.Request) -> web.Response:
    """``GET /v1/candles/minutes/{unit}`` (§3.2): newest first; ``to`` exclusive; only ended candles."""
    sim = sim_of(request)
    params = params_of(request)
    try:
        unit = int(request.match_info["unit"])
    except ValueError:
        unit = 0
    if unit not in ALL_UNITS:
        raise quotation_error(400, "Invalid parameter. Check the given value!")
    [market] = _markets(sim, params, "market")[:1]
    to, count = _window(sim, params)
    if unit not in SERVED_UNITS:
        raise quotation_error(400, f"Invalid parameter. The simulator has no {unit}-minute data.")
    length = timedelta(minutes=unit)
    # Candles starting before `to` (exclusive) that have ended by the replay clock, whole.
    bound = min(_align(to, length, up=True), _align(sim.venue.clock.now(), length, up=False))
    halves = data.minute_candles_before(market, bound, count * unit // 30)
    groups = _grouped(halves, length)[-count:]
    return quotation_response([_candle(c, unit=unit) for c in reversed(groups)])


def _align(ts: datetime, length: timedelta, *, up: bool) -> datetime:
    midnight = UPBIT_DAY.start_of(UPBIT_DAY.date_of(ts))
    steps = -((midnight - ts) // length) if up else (ts - midnight) // length
    return midnight + steps * length


def _grouped(halves: Sequence[data.Candle], length: timedelta) -> list[data.Candle]:
    groups: dict[datetime, list[data.Candle]] = {}
    for candle in halves:
        day = UPBIT_DAY.start_of(candle.trading_date)
        groups.setdefault(day + ((candle.start - day) // length) * length, []).append(candle)
    return [
        data.Candle(
            market=parts[0].market,
            start=start,
            length=length,
            open=parts[0].open,
            high=max(c.high for c in parts),
            low=min(c.low for c in parts),
            close=parts[-1].close,
            volume=sum((c.volume for c in parts), Decimal(0)),
            value_krw=sum((c.value_krw for c in parts), Decimal(0)),
            last_trade_at=parts[-1].last_trade_at,
        )
        for start, parts in sorted(groups.items())
    ]


async def day_candles(request: web.Request) -> web.Response:
    """``GET /v1/candles/days`` (§3.2): days start 00:00 UTC; newest first; days before the replay's day."""
    sim = sim_of(request)
    params = params_of(request)
    [market] = _markets(sim, params, "market")[:1]
    to, count = _window(sim, params)
    day = UPBIT_DAY.date_of(to)
    first_excluded = day if UPBIT_DAY.start_of(day) == to else day + timedelta(days=1)  # `to` is exclusive
    first_excluded = min(first_excluded, UPBIT_DAY.date_of(sim.venue.clock.now()))  # no look-ahead
    days = data.days_before(market, first_excluded, count + 1)
    rows = [_candle(c, previous=p) for p, c in zip([None, *days[:-1]], days, strict=True)][-count:]
    for row in rows:
        row.setdefault("prev_closing_price", row["opening_price"])
    return quotation_response(list(reversed(rows)))


async def ticker(request: web.Request) -> web.Response:
    """``GET /v1/ticker?markets=`` (§3.4)."""
    sim = sim_of(request)
    now = sim.venue.clock.now()
    return quotation_response(
        [sim.market_view.ticker(m, sim.base_price(m), now) for m in _markets(sim, params_of(request), "markets")]
    )


async def trades(request: web.Request) -> web.Response:
    """``GET /v1/trades/ticks`` (§3.3): the latest trades played, newest first."""
    sim = sim_of(request)
    params = params_of(request)
    [market] = _markets(sim, params, "market")[:1]
    count = params.integer("count", 1, low=1, high=MAX_TRADES, quotation=True)
    base = sim.base_price(market)
    return quotation_response([MarketView.trade_tick(t, base) for t in sim.market_view.recent(market, count)])


async def orderbook(request: web.Request) -> web.Response:
    """``GET /v1/orderbook`` (§3.5): one synthetic level, the last price as the best bid and one unit above it as
    the best ask, sizes 0 (the replay has no book)."""
    sim = sim_of(request)
    rows = []
    for market in _markets(sim, params_of(request), "markets"):
        price = sim.last_price(market)
        unit = sim.instrument(market).tick_size(price)
        rows.append(
            {
                "market": market,
                "timestamp": epoch_ms(sim.venue.clock.now()),
                "total_ask_size": number(Decimal(0)),
                "total_bid_size": number(Decimal(0)),
                "orderbook_units": [
                    {
                        "ask_price": number(price + unit),
                        "bid_price": number(price),
                        "ask_size": number(Decimal(0)),
                        "bid_size": number(Decimal(0)),
                    }
                ],
                "level": 0,
            }
        )
    return quotation_response(rows)


async def instruments(request: web.Request) -> web.Response:
    """``GET /v1/orderbook/instruments`` (§3.6): the price unit at the last trade (a string), level 0 only."""
    sim = sim_of(request)
    rows = [
        {
            "market": m,
            "quote_currency": "KRW",
            "tick_size": format(sim.instrument(m).tick_size(sim.last_price(m)).normalize(), "f"),
            "supported_levels": ["0"],
        }
        for m in _markets(sim, params_of(request), "markets")
    ]
    return quotation_response(rows)
