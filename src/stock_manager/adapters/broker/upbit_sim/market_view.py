"""What the simulated market shows publicly: each market's day so far (from 00:00 UTC), its recent trades, and
the ticker and trade messages built from them (JSON numbers, §3.3, §3.4, §5.3).

The replay's prints are the market's trades. A print's taker side (``ask_bid``) is BID when it traded at or
above the previous print, else ASK (the data has no side). ``sequential_id`` is the print's epoch milliseconds
× 1000 plus a counter. The 24 h totals are the UTC day's totals (the replay keeps no rolling window).
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from stock_manager.adapters.broker.upbit_sim.wire import epoch_ms, number
from stock_manager.adapters.venues.upbit.replay import UpbitReplayMarket
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY
from stock_manager.domain.market import Tick
from stock_manager.localtime import KST

RECENT_TRADES: Final = 500


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade (a replayed print) with its side and id."""

    tick: Tick
    ask_bid: str
    sequential_id: int


@dataclass(slots=True)
class DayStats:
    """A market's UTC day so far."""

    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal = Decimal(0)
    value_krw: Decimal = Decimal(0)
    ask_volume: Decimal = Decimal(0)
    bid_volume: Decimal = Decimal(0)


@dataclass(slots=True)
class _Market:
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=RECENT_TRADES))
    stats: DayStats | None = None


class MarketView:
    """The public face of the replayed markets.

    Parameters
    ----------
    market : UpbitReplayMarket
        The replayed data (52-week extremes come from its day candles).
    """

    def __init__(self, market: UpbitReplayMarket) -> None:
        self._replay = market
        self._markets: dict[str, _Market] = {}
        self._counter = 0

    def observe(self, tick: Tick) -> Trade:
        """Record one print as the market's latest trade."""
        state = self._markets.setdefault(tick.symbol, _Market())
        previous = state.trades[-1].tick.price if state.trades else tick.price
        self._counter += 1
        trade = Trade(
            tick, "BID" if tick.price >= previous else "ASK", epoch_ms(tick.ts_event) * 1000 + self._counter % 1000
        )
        state.trades.append(trade)
        day = UPBIT_DAY.date_of(tick.ts_event)
        stats = state.stats
        if stats is None or stats.day != day:
            stats = state.stats = DayStats(day, tick.price, tick.price, tick.price)
        stats.high, stats.low = max(stats.high, tick.price), min(stats.low, tick.price)
        stats.volume += tick.volume
        stats.value_krw += tick.volume * tick.price
        if trade.ask_bid == "ASK":
            stats.ask_volume += tick.volume
        else:
            stats.bid_volume += tick.volume
        return trade

    def last_trade(self, symbol: str) -> Trade | None:
        """Return the latest trade of `symbol`, or None before any."""
        state = self._markets.get(symbol)
        return state.trades[-1] if state is not None and state.trades else None

    def recent(self, symbol: str, count: int) -> list[Trade]:
        """Return up to `count` latest trades of `symbol`, newest first."""
        state = self._markets.get(symbol)
        return list(reversed(state.trades))[:count] if state is not None else []

    def ticker(self, symbol: str, base_price: Decimal, now: datetime) -> dict[str, Any]:
        """Return the ``GET /v1/ticker`` element of `symbol` (§3.4) as of `now` (replay time); before the day's
        first trade its prices are the last known price (the base price when none)."""
        state = self._markets.get(symbol) or _Market()
        last = state.trades[-1] if state.trades else None
        today = UPBIT_DAY.date_of(now)
        stats = state.stats if state.stats is not None and state.stats.day == today else None
        price = last.tick.price if last is not None else base_price
        traded_at = last.tick.ts_event if last is not None else now
        change = price - base_price
        rate = (change / base_price).quantize(Decimal("1E-10")) if base_price else Decimal(0)
        year = self._replay.bars_before(symbol, today, 365)
        high52 = max(year, key=lambda b: b.high, default=None)
        low52 = min(year, key=lambda b: b.low, default=None)
        body: dict[str, Any] = {
            "market": symbol,
            "trade_date": f"{traded_at:%Y%m%d}",
            "trade_time": f"{traded_at:%H%M%S}",
            "trade_date_kst": f"{traded_at.astimezone(KST):%Y%m%d}",
            "trade_time_kst": f"{traded_at.astimezone(KST):%H%M%S}",
            "trade_timestamp": epoch_ms(traded_at),
            "opening_price": number(stats.open if stats else price),
            "high_price": number(stats.high if stats else price),
            "low_price": number(stats.low if stats else price),
            "trade_price": number(price),
            "prev_closing_price": number(base_price),
            "change": "RISE" if change > 0 else "FALL" if change < 0 else "EVEN",
            "change_price": number(abs(change)),
            "change_rate": number(abs(rate)),
            "signed_change_price": number(change),
            "signed_change_rate": number(rate),
            "trade_volume": number(last.tick.volume if last else Decimal(0)),
            "acc_trade_price": number(stats.value_krw if stats else Decimal(0)),
            "acc_trade_price_24h": number(stats.value_krw if stats else Decimal(0)),
            "acc_trade_volume": number(stats.volume if stats else Decimal(0)),
            "acc_trade_volume_24h": number(stats.volume if stats else Decimal(0)),
        }
        if high52 is not None and low52 is not None:
            body |= {
                "highest_52_week_price": number(high52.high),
                "highest_52_week_date": high52.trading_date.isoformat(),
                "lowest_52_week_price": number(low52.low),
                "lowest_52_week_date": low52.trading_date.isoformat(),
            }
        body["timestamp"] = epoch_ms(now)
        return body

    def ticker_event(self, symbol: str, base_price: Decimal, now: datetime, stream_type: str) -> dict[str, Any]:
        """Return a WebSocket ``ticker`` message (§5.3)."""
        body = self.ticker(symbol, base_price, now)
        market = body.pop("market")
        last = self.last_trade(symbol)
        stats = self._markets[symbol].stats if symbol in self._markets else None
        for key in ("trade_date_kst", "trade_time_kst"):
            body.pop(key)
        return {
            "type": "ticker",
            "code": market,
            **body,
            "ask_bid": last.ask_bid if last else "BID",
            "acc_ask_volume": number(stats.ask_volume if stats else Decimal(0)),
            "acc_bid_volume": number(stats.bid_volume if stats else Decimal(0)),
            "market_state": "ACTIVE",
            "market_warning": "NONE",
            "stream_type": stream_type,
        }

    @staticmethod
    def trade_tick(trade: Trade, base_price: Decimal) -> dict[str, Any]:
        """Return a ``GET /v1/trades/ticks`` element (§3.3)."""
        tick = trade.tick
        return {
            "market": tick.symbol,
            "trade_date_utc": f"{tick.ts_event:%Y-%m-%d}",
            "trade_time_utc": f"{tick.ts_event:%H:%M:%S}",
            "timestamp": epoch_ms(tick.ts_event),
            "trade_price": number(tick.price),
            "trade_volume": number(tick.volume),
            "prev_closing_price": number(base_price),
            "change_price": number(tick.price - base_price),
            "ask_bid": trade.ask_bid,
            "sequential_id": trade.sequential_id,
        }

    @staticmethod
    def trade_event(trade: Trade, base_price: Decimal, now: datetime, stream_type: str) -> dict[str, Any]:
        """Return a WebSocket ``trade`` message (§5.3; dates with dashes and colons, UTC)."""
        tick = trade.tick
        change = tick.price - base_price
        return {
            "type": "trade",
            "code": tick.symbol,
            "timestamp": epoch_ms(now),
            "trade_date": f"{tick.ts_event:%Y-%m-%d}",
            "trade_time": f"{tick.ts_event:%H:%M:%S}",
            "trade_timestamp": epoch_ms(tick.ts_event),
            "trade_price": number(tick.price),
            "trade_volume": number(tick.volume),
            "ask_bid": trade.ask_bid,
            "prev_closing_price": number(base_price),
            "change": "RISE" if change > 0 else "FALL" if change < 0 else "EVEN",
            "change_price": number(abs(change)),
            "sequential_id": trade.sequential_id,
            "stream_type": stream_type,
        }


def day_start(ts: datetime) -> datetime:
    """Return the start (00:00 UTC) of the Upbit day holding `ts`."""
    return UPBIT_DAY.start_of(UPBIT_DAY.date_of(ts))


__all__ = ["DayStats", "MarketView", "Trade", "day_start"]
