"""Summary figures of a backtest: return, CAGR, drawdown, Sharpe, trades, exposure, turnover and costs.

Money figures are exact (`Decimal`, KRW). Ratios computed from the daily equity series (Sharpe, volatility)
are computed with numpy floats and handed back as `Decimal` rounded to 6 places.

Definitions
-----------
* return: end equity / start cash - 1; CAGR: (end / start) ^ (365.25 / calendar days of the period) - 1.
* max drawdown: the largest fall of end-of-session equity from its running peak (start cash included).
* Sharpe: mean / standard deviation (ddof 1) of daily equity returns × sqrt(sessions a year: 252 on KRX, 365
  on a market that trades every day), risk-free rate 0.
* a trade: one position from flat to flat (or to the period's end, then open); its PnL is net of the
  commission and tax of its fills; win rate = winning closed trades / closed trades; profit factor = sum of
  winning PnL / |sum of losing PnL| (None without a losing trade).
* exposure: share of sessions that ended holding something; turnover: traded notional / mean equity.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.research.engine import BacktestResult

_Q = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip of one symbol (KRW)."""

    symbol: str
    entry_date: date
    exit_date: date | None
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    pnl_krw: Decimal
    costs_krw: Decimal

    @property
    def closed(self) -> bool:
        """Return True when the position went back to flat."""
        return self.exit_date is not None


def trades_of(result: BacktestResult) -> list[Trade]:
    """Return the round trips of `result`: per symbol, or per symbol and strategy where several strategies
    traded (each its own flat to flat; the trade's `symbol` then reads ``"KRW-BTC grid"``)."""
    strategy = {o.broker_order_number: o.strategy_id for o in result.orders if o.broker_order_number}
    if len(set(strategy.values())) <= 1:
        return round_trips(result.fills)
    return round_trips(result.fills, lambda f: f"{f.symbol} {strategy[f.broker_order_number]}")


def round_trips(fills: list[Fill], label: Callable[[Fill], str] | None = None) -> list[Trade]:
    """Return the round trips of `fills` (time order), flat to flat per symbol (per `label(fill)` if given)."""
    trades: list[Trade] = []
    open_: dict[str, dict[str, Any]] = {}
    for f in sorted(fills, key=lambda f: (f.ts_filled, f.broker_fill_id)):
        key = label(f) if label is not None else f.symbol
        t = open_.setdefault(
            key,
            {
                "qty": Decimal(0),
                "bought": Decimal(0),
                "bqty": Decimal(0),
                "sold": Decimal(0),
                "sqty": Decimal(0),
                "costs": Decimal(0),
                "entry": f.trading_date,
            },
        )
        if t["qty"] == 0:
            t["entry"] = f.trading_date
        signed = f.quantity if f.side is Side.BUY else -f.quantity
        t["qty"] += signed
        t["costs"] += f.commission_krw + f.tax_krw
        if f.side is Side.BUY:
            t["bought"] += f.notional_krw
            t["bqty"] += f.quantity
        else:
            t["sold"] += f.notional_krw
            t["sqty"] += f.quantity
        if t["qty"] == 0:
            trades.append(_trade(key, t, f.trading_date))
            del open_[key]
    trades.extend(_trade(symbol, t, None) for symbol, t in open_.items())
    return trades


def _trade(symbol: str, t: dict[str, Any], exit_date: date | None) -> Trade:
    entry_price = t["bought"] / t["bqty"] if t["bqty"] else Decimal(0)
    exit_price = t["sold"] / t["sqty"] if t["sqty"] else None
    pnl = t["sold"] - t["bought"] - t["costs"] if exit_date is not None else Decimal(0) - t["costs"]
    return Trade(
        symbol,
        t["entry"],
        exit_date,
        t["bqty"],
        entry_price.quantize(Decimal("0.01")),
        exit_price.quantize(Decimal("0.01")) if exit_price is not None else None,
        pnl,
        t["costs"],
    )


def summarize(result: BacktestResult) -> dict[str, Any]:
    """Return the summary figures of `result` (module docstring), JSON-safe apart from Decimals and dates."""
    start_cash = result.config.start_cash_krw
    curve = [e for _, e in result.equity]
    end_equity = curve[-1] if curve else start_cash
    days = result.days
    trades = trades_of(result)
    closed = [t for t in trades if t.closed]
    wins = [t.pnl_krw for t in closed if t.pnl_krw > 0]
    losses = [t.pnl_krw for t in closed if t.pnl_krw <= 0]
    commission = sum((f.commission_krw for f in result.fills), Decimal(0))
    tax = sum((f.tax_krw for f in result.fills), Decimal(0))
    notional = sum((f.notional_krw for f in result.fills), Decimal(0))
    eq = np.array([float(x) for x in [start_cash, *curve]])
    peak = np.maximum.accumulate(eq)
    max_dd = float(np.max((peak - eq) / peak)) if len(eq) else 0.0
    rets = eq[1:] / eq[:-1] - 1 if len(eq) > 1 else np.array([])
    sharpe = (
        float(rets.mean() / rets.std(ddof=1) * np.sqrt(result.config.sessions_per_year))
        if len(rets) > 1 and rets.std(ddof=1) > 0
        else None
    )
    span_days = (days[-1] - days[0]).days if days else 0
    total = end_equity / start_cash - 1 if start_cash else Decimal(0)
    cagr = (float(end_equity / start_cash) ** (365.25 / span_days) - 1) if span_days > 0 and end_equity > 0 else None
    held = _held_sessions(result)
    mean_equity = Decimal(str(float(np.mean(eq)))) if len(eq) else start_cash
    return {
        "period": f"{days[0]}..{days[-1]}" if days else "",
        "sessions": len(days),
        "sessions_played": result.played_days,
        "bars": result.bars,
        "symbols": result.symbols,
        "fill_model": str(result.config.fill_model),
        "start_cash_krw": start_cash,
        "end_equity_krw": end_equity,
        "return_pct": (total * 100).quantize(_Q),
        "cagr_pct": _dec(cagr, 100),
        "max_drawdown_pct": _dec(max_dd, 100),
        "sharpe": _dec(sharpe),
        "trades": len(trades),
        "closed_trades": len(closed),
        "win_rate_pct": _dec(len(wins) / len(closed) if closed else None, 100),
        "profit_factor": (sum(wins, Decimal(0)) / -sum(losses, Decimal(0))).quantize(_Q)
        if losses and sum(losses, Decimal(0)) < 0
        else None,
        "exposure_pct": _dec(held / len(days) if days else None, 100),
        "turnover": (notional / mean_equity).quantize(_Q) if mean_equity else None,
        "traded_notional_krw": notional,
        "commission_krw": commission,
        "tax_krw": tax,
        "costs_krw": commission + tax,
        "orders": len(result.orders),
        "fills": len(result.fills),
        "risk_denials": len(result.denials),
        "kill_switch": result.kill_reason,
    }


def _held_sessions(result: BacktestResult) -> int:
    held: dict[str, Decimal] = {}
    fills = sorted(result.fills, key=lambda f: (f.trading_date, f.ts_filled))
    k = count = 0
    for day in result.days:
        while k < len(fills) and fills[k].trading_date <= day:
            f = fills[k]
            held[f.symbol] = held.get(f.symbol, Decimal(0)) + (f.quantity if f.side is Side.BUY else -f.quantity)
            k += 1
        count += any(q for q in held.values())
    return count


def _dec(value: float | None, scale: float = 1) -> Decimal | None:
    if value is None or not np.isfinite(value):
        return None
    return Decimal(str(value * scale)).quantize(_Q)
