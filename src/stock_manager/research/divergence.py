"""Backtest ↔ paper: what the daemon did in a period against the backtest of the same days, trade by trade.

Orders are matched on (trading date, symbol, side, intent): the strategy makes at most one decision per key
and session. For each pair the report gives the quantities filled, the average fill prices and the
slippage between them (KRW per share and bps of the backtest's price, positive when the daemon did worse),
the time between their first fills, and their costs. Orders of one side only are *missing* (the backtest
traded, the daemon did not) or *extra* (the daemon traded, the backtest did not).

The PnL difference (daemon − backtest, over the period, open positions valued at the last close) is split
exactly into buckets. Each fill contributes ``side × quantity × (last close − price) − costs`` to a PnL; on a
matched pair with m = the smaller filled quantity:

* slippage: ``side × m × (backtest price − daemon price)``;
* fees: backtest costs − daemon costs of the pair;
* missed fills: what the backtest earned on quantity the daemon did not fill (a missing order, or the part of
  a pair it did not fill), without costs on pairs (already in fees);
* extra fills: what the daemon earned on quantity the backtest did not fill;
* risk denials: the missed or extra amounts whose (day, symbol, side) one side's risk gate denied;
* residual: whatever is left (0 when both started flat with the same cash).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.fills import Fill

_BPS = Decimal(10_000)
_Q = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class SideOrder:
    """One side's order with its fills (KRW)."""

    trading_date: date
    symbol: str
    side: str
    intent: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    ts_created: datetime
    fills: tuple[Fill, ...]

    @property
    def key(self) -> tuple[date, str, str, str]:
        """Return what orders are matched on."""
        return self.trading_date, self.symbol, self.side, self.intent

    @property
    def filled(self) -> Decimal:
        """Return the quantity filled."""
        return sum((f.quantity for f in self.fills), Decimal(0))

    @property
    def vwap(self) -> Decimal | None:
        """Return the average fill price, or None without a fill."""
        q = self.filled
        return sum((f.notional_krw for f in self.fills), Decimal(0)) / q if q else None

    @property
    def costs(self) -> Decimal:
        """Return commission plus tax of its fills."""
        return sum((f.commission_krw + f.tax_krw for f in self.fills), Decimal(0))

    @property
    def first_fill(self) -> datetime | None:
        """Return the time of its first fill."""
        return min((f.ts_filled for f in self.fills), default=None)


def side_orders(orders: Sequence[Any], fills: Sequence[Fill], number_of: Any) -> list[SideOrder]:
    """Return `orders` (anything with the order fields) with their fills, joined by `number_of(order)` and the
    trading date; order numbers are compared without leading zeros (an order may keep the number its
    acknowledgement gave, its fills the padded one of the notices)."""
    by_number: dict[tuple[date, str], list[Fill]] = defaultdict(list)
    for f in fills:
        by_number[(f.trading_date, normalize_order_number(f.broker_order_number))].append(f)
    out = []
    for o in orders:
        number = number_of(o)
        number = normalize_order_number(number) if number else number  # "1" is "0000000001" at KIS
        out.append(
            SideOrder(
                o.trading_date,
                o.symbol,
                str(o.side),
                str(o.intent),
                str(o.order_type),
                o.quantity,
                o.limit_price,
                o.ts_created,
                tuple(by_number.get((o.trading_date, number), [])) if number else (),
            )
        )
    return out


def _sign(side: str) -> int:
    return 1 if side == "BUY" else -1


def _contribution(side: str, quantity: Decimal, price: Decimal, last: Decimal) -> Decimal:
    return _sign(side) * quantity * (last - price)


def compare(
    daemon: Sequence[SideOrder],
    backtest: Sequence[SideOrder],
    last_close: Mapping[str, Decimal],
    daemon_denials: AbstractSet[tuple[date, str, str]] = frozenset(),
    backtest_denials: AbstractSet[tuple[date, str, str]] = frozenset(),
) -> dict[str, Any]:
    """Return the trade-by-trade comparison and the PnL decomposition (module docstring)."""
    d_by, b_by = _merged(daemon), _merged(backtest)
    buckets = {k: Decimal(0) for k in ("slippage", "fees", "missed_fills", "extra_fills", "risk_denials")}
    pairs, missing, extra = [], [], []
    for key in sorted(set(d_by) | set(b_by)):
        d, b = d_by.get(key), b_by.get(key)
        day, symbol, side, _ = key
        last = last_close[symbol]
        if d is not None and b is not None:
            m = min(d.filled, b.filled)
            row: dict[str, Any] = {
                "trading_date": day,
                "symbol": symbol,
                "side": side,
                "intent": key[3],
                "quantity_daemon": d.filled,
                "quantity_backtest": b.filled,
                "price_daemon": _q(d.vwap),
                "price_backtest": _q(b.vwap),
                "costs_daemon": d.costs,
                "costs_backtest": b.costs,
            }
            slip = Decimal(0)
            if m and d.vwap is not None and b.vwap is not None:
                slip = _sign(side) * m * (b.vwap - d.vwap)
                per_share = (d.vwap - b.vwap) * _sign(side)
                row["slippage_krw_per_share"] = _q(per_share)
                row["slippage_bps"] = _q(per_share / b.vwap * _BPS)
            row["slippage_krw"] = _q(-slip)
            row["delay_secs"] = (d.first_fill - b.first_fill).total_seconds() if d.first_fill and b.first_fill else None
            buckets["slippage"] += slip
            buckets["fees"] += b.costs - d.costs
            if b.filled > m and b.vwap is not None:
                bucket = "risk_denials" if (day, symbol, side) in daemon_denials else "missed_fills"
                buckets[bucket] -= _contribution(side, b.filled - m, b.vwap, last)
            if d.filled > m and d.vwap is not None:
                bucket = "risk_denials" if (day, symbol, side) in backtest_denials else "extra_fills"
                buckets[bucket] += _contribution(side, d.filled - m, d.vwap, last)
            pairs.append(row)
        elif b is not None:
            pnl = _contribution(side, b.filled, b.vwap, last) - b.costs if b.vwap is not None else Decimal(0)
            denied = (day, symbol, side) in daemon_denials
            buckets["risk_denials" if denied else "missed_fills"] -= pnl
            missing.append(
                {
                    "trading_date": day,
                    "symbol": symbol,
                    "side": side,
                    "intent": key[3],
                    "quantity": b.filled,
                    "price": _q(b.vwap),
                    "pnl_krw": _q(pnl),
                    "risk_denied": denied,
                }
            )
        else:
            assert d is not None
            pnl = _contribution(side, d.filled, d.vwap, last) - d.costs if d.vwap is not None else Decimal(0)
            denied = (day, symbol, side) in backtest_denials
            buckets["risk_denials" if denied else "extra_fills"] += pnl
            extra.append(
                {
                    "trading_date": day,
                    "symbol": symbol,
                    "side": side,
                    "intent": key[3],
                    "quantity": d.filled,
                    "price": _q(d.vwap),
                    "pnl_krw": _q(pnl),
                    "risk_denied": denied,
                }
            )
    pnl_d = _pnl(daemon, last_close)
    pnl_b = _pnl(backtest, last_close)
    total = pnl_d - pnl_b
    buckets_q = {k: _q(v) for k, v in buckets.items()}
    residual = total - sum(buckets.values(), Decimal(0))
    slipped = [p for p in pairs if p.get("slippage_bps") is not None]
    return {
        "pairs": pairs,
        "missing": missing,
        "extra": extra,
        "pnl_daemon_krw": _q(pnl_d),
        "pnl_backtest_krw": _q(pnl_b),
        "pnl_difference_krw": _q(total),
        "decomposition_krw": {**buckets_q, "residual": _q(residual)},
        "slippage_total_krw": _q(sum((p["slippage_krw"] for p in pairs), Decimal(0))),
        "slippage_mean_bps": _q(sum((p["slippage_bps"] for p in slipped), Decimal(0)) / len(slipped))
        if slipped
        else None,
        "costs_daemon_krw": sum((o.costs for o in daemon), Decimal(0)),
        "costs_backtest_krw": sum((o.costs for o in backtest), Decimal(0)),
    }


def _merged(orders: Sequence[SideOrder]) -> dict[tuple[date, str, str, str], SideOrder]:
    # One decision per key and session; should a side hold two orders of a key, their fills count together.
    out: dict[tuple[date, str, str, str], SideOrder] = {}
    for o in orders:
        known = out.get(o.key)
        out[o.key] = (
            o
            if known is None
            else SideOrder(
                o.trading_date,
                o.symbol,
                o.side,
                o.intent,
                o.order_type,
                known.quantity + o.quantity,
                o.limit_price,
                min(known.ts_created, o.ts_created),
                known.fills + o.fills,
            )
        )
    return out


def _pnl(orders: Sequence[SideOrder], last_close: Mapping[str, Decimal]) -> Decimal:
    total = Decimal(0)
    for o in orders:
        for f in o.fills:
            total += _contribution(o.side, f.quantity, f.price, last_close[o.symbol]) - f.commission_krw - f.tax_krw
    return total


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_Q)
