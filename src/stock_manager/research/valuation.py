"""What a backtest's account is worth: last closes, the start-of-day equity and the equity curve.

All amounts are KRW ``Decimal``: cash from the fills (notional, commission and the dated sell tax the
matching engine charged), holdings at the last daily close on or before the day (KRX daily bars, ``DailyBar``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.domain.positions import Position
from stock_manager.research.data import MarketData


def last_close(data: MarketData, symbol: str, day: date) -> Decimal:
    """The close of `symbol`'s last bar on or before `day`, in KRW; 0 before its first bar."""
    bs = data.series[symbol]
    i = bisect.bisect_right(bs.dates, day)
    return bs.bars[i - 1].close if i else Decimal(0)


def equity_before(data: MarketData, cash_krw: Decimal, positions: Mapping[str, Position], day: date) -> Decimal:
    """The previous session's end equity: `cash_krw` plus holdings at their last close before `day`, in KRW."""
    equity = cash_krw
    for s, p in positions.items():
        if p.quantity:
            bs = data.series[s]
            i = bs.index_before(day)
            if i > 0:
                equity += p.quantity * bs.bars[i - 1].close
    return equity


def equity_curve(
    data: MarketData, days: Iterable[date], fills: Iterable[Fill], start_cash_krw: Decimal
) -> list[tuple[date, Decimal]]:
    """Each session's end equity, ``[(day, KRW)]``: cash after its fills plus holdings at their last close."""
    curve: list[tuple[date, Decimal]] = []
    cash = start_cash_krw
    held: dict[str, Decimal] = {}
    ordered = sorted(fills, key=lambda f: (f.trading_date, f.ts_filled))
    k = 0
    for day in days:
        while k < len(ordered) and ordered[k].trading_date <= day:
            f = ordered[k]
            if f.side is Side.BUY:
                cash -= f.notional_krw + f.commission_krw
                held[f.symbol] = held.get(f.symbol, Decimal(0)) + f.quantity
            else:
                cash += f.notional_krw - f.commission_krw - f.tax_krw
                held[f.symbol] = held.get(f.symbol, Decimal(0)) - f.quantity
            k += 1
        value = cash
        for s, q in held.items():
            if q:
                value += q * last_close(data, s, day)
        curve.append((day, value))
    return curve
