"""Backtest ↔ paper: what the daemon did in a period against the backtest of the same days, trade by trade.

Orders are matched on (trading date, symbol, side, intent): the MA cross makes at most one decision per key
and session. Where several strategies trade many orders a day (the Bitcoin strategies on Upbit) the key also
holds the strategy and the order's rank among its side's orders of that key (by creation time), see
`side_orders`. For each pair the report gives the quantities filled, the average fill prices and the
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
    strategy_id: str = ""
    rank: int = 0

    @property
    def key(self) -> tuple[date, str, str, str, str, int]:
        """Return what orders are matched on: (trading date, strategy, symbol, side, intent, rank); strategy
        ``""`` and rank 0 where one decision per (date, symbol, side, intent) is made (the MA cross)."""
        return self.trading_date, self.strategy_id, self.symbol, self.side, self.intent, self.rank

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


def side_orders(
    orders: Sequence[Any], fills: Sequence[Fill], number_of: Any, *, per_strategy: bool = False, by_day: bool = True
) -> list[SideOrder]:
    """Return `orders` (anything with the order fields) with their fills, joined by `number_of(order)` and, with
    `by_day`, the trading date (venues whose numbers restart daily, KIS); order numbers are compared without
    leading zeros (an order may keep the number its acknowledgement gave, its fills the padded one of the
    notices). Without `by_day` (Upbit's uuids, GTC orders filled on a later day) the number alone joins.

    With `per_strategy` each order carries its ``strategy_id`` and its rank (0, 1, …) among the orders of its
    (trading date, strategy, symbol, side, intent) by creation time, so that a strategy's n-th buy of a day
    meets the other side's n-th buy."""
    by_number: dict[tuple[date | None, str], list[Fill]] = defaultdict(list)
    for f in fills:
        by_number[(f.trading_date if by_day else None, normalize_order_number(f.broker_order_number))].append(f)
    ranks: dict[tuple[Any, ...], int] = defaultdict(int)
    out = []
    for o in sorted(orders, key=lambda o: o.ts_created) if per_strategy else orders:
        number = number_of(o)
        number = normalize_order_number(number) if number else number  # "1" is "0000000001" at KIS
        strategy, rank = "", 0
        if per_strategy:
            strategy = o.strategy_id
            group = (o.trading_date, strategy, o.symbol, str(o.side), str(o.intent))
            rank, ranks[group] = ranks[group], ranks[group] + 1
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
                tuple(by_number.get((o.trading_date if by_day else None, number), [])) if number else (),
                strategy,
                rank,
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
    quantum: Decimal = _Q,
) -> dict[str, Any]:
    """Return the trade-by-trade comparison and the PnL decomposition (module docstring).

    Money (KRW) and prices are rounded to `quantum` (0.0001 KRW by default; Upbit's 1e-12 KRW keeps its
    8-decimal quantities times prices and its fees exact), without trailing zeros below 0.0001; bps to 0.0001.
    Each pair, missing and extra row names its ``strategy`` and ``rank`` when the orders carry them
    (`side_orders` with ``per_strategy``), and a pair the times of both sides' first fills
    (``first_fill_daemon``, ``first_fill_backtest``: aware UTC).
    """

    def _q(value: Decimal | None) -> Decimal | None:
        return None if value is None else _rounded(value, quantum)

    d_by, b_by = _merged(daemon), _merged(backtest)
    buckets = {k: Decimal(0) for k in ("slippage", "fees", "missed_fills", "extra_fills", "risk_denials")}
    pairs, missing, extra = [], [], []
    for key in sorted(set(d_by) | set(b_by)):
        d, b = d_by.get(key), b_by.get(key)
        day, strategy, symbol, side, intent, rank = key
        named = {"strategy": strategy, "rank": rank} if strategy else {}
        last = last_close[symbol]
        if d is not None and b is not None:
            m = min(d.filled, b.filled)
            row: dict[str, Any] = {
                "trading_date": day,
                **named,
                "symbol": symbol,
                "side": side,
                "intent": intent,
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
                row["slippage_bps"] = (per_share / b.vwap * _BPS).quantize(_Q)
            row["slippage_krw"] = _q(-slip)
            row["first_fill_daemon"], row["first_fill_backtest"] = d.first_fill, b.first_fill
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
                    **named,
                    "symbol": symbol,
                    "side": side,
                    "intent": intent,
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
                    **named,
                    "symbol": symbol,
                    "side": side,
                    "intent": intent,
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
        "slippage_mean_bps": (sum((p["slippage_bps"] for p in slipped), Decimal(0)) / len(slipped)).quantize(_Q)
        if slipped
        else None,
        "costs_daemon_krw": sum((o.costs for o in daemon), Decimal(0)),
        "costs_backtest_krw": sum((o.costs for o in backtest), Decimal(0)),
    }


def run_figures(
    orders: Sequence[Any], fills: Sequence[Any], denials: AbstractSet[Any], result: Any, settlements: Sequence[Any]
) -> dict[str, Any]:
    """Return the report's counts and equity curves of both sides: the daemon's `orders`, `fills`, risk
    `denials` and `settlements` (rows with ``trading_date`` and ``end_equity_krw``, KRW) against the backtest
    `result` (with ``orders``, ``fills``, ``denials`` and ``equity``: ``[(date, KRW)]``)."""
    return {
        "orders_daemon": len(orders),
        "orders_backtest": len(result.orders),
        "fills_daemon": len(fills),
        "fills_backtest": len(result.fills),
        "denials_daemon": len(denials),
        "denials_backtest": len(result.denials),
        "equity_daemon": [(s.trading_date, s.end_equity_krw) for s in settlements],
        "equity_backtest": result.equity,
    }


def _merged(orders: Sequence[SideOrder]) -> dict[tuple[date, str, str, str, str, int], SideOrder]:
    # One decision per key and session; should a side hold two orders of a key, their fills count together.
    out: dict[tuple[date, str, str, str, str, int], SideOrder] = {}
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
                o.strategy_id,
                o.rank,
            )
        )
    return out


def _pnl(orders: Sequence[SideOrder], last_close: Mapping[str, Decimal]) -> Decimal:
    total = Decimal(0)
    for o in orders:
        for f in o.fills:
            sign = _sign(o.side)  # the executed amount: exact where a venue stated it (Fill.amount_krw)
            total += sign * (f.quantity * last_close[o.symbol] - f.notional_krw) - f.commission_krw - f.tax_krw
    return total


def _rounded(value: Decimal, quantum: Decimal) -> Decimal:
    # `value` to `quantum`, its digits below 0.0001 only as far as they are not zeros ("12.3450", not
    # "12.345000000000"; "0.0000", not "0E-12").
    q = value.quantize(quantum)
    if quantum >= _Q:
        return q
    exponent = q.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return q.quantize(Decimal(1).scaleb(min(exponent, -4)))
