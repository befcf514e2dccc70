"""The facts of one account's session, gathered from the database for its journal (and nothing else).

The shape (JSON-safe; money as decimal strings in KRW, times as ISO 8601 UTC)::

    trading_date, account_id, venue
    params        {strategy id: the parameters in force, from the session's market_open event}
    orders        [{time, strategy, symbol, side, type, intent, quantity, limit_price, signal_price, status,
                    filled, avg_price, reason, status_reason}]
    fills         [{time, symbol, side, quantity, price, signal_price, slippage_krw, slippage_bps,
                    commission_krw, tax_krw}]   slippage per share against the signal price, positive = worse
    risk          [{time, rule, decision, symbol, message}]   every risk decision of the day
    events        [{time, kind, message}]   stop mode, fallbacks, kill switch, parameters applied, recoveries
                                            that changed something
    settlement    {start_equity_krw, end_equity_krw, realized_gross_krw, commission_krw, tax_krw,
                   realized_net_krw, unrealized_krw, return_pct, drawdown_pct, max_drawdown_pct, stopped}
                  or None when the session was not settled
    positions     [{symbol, quantity, avg_price, close, unrealized_krw}]   held at the close
    backtest      the day against its backtest (`ParameterResearch.day_comparison`), or {unavailable: why}
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.domain.model import Side
from stock_manager.service_layer.ai.context import AiContext
from stock_manager.service_layer.events import jsonable_mapping

#: Event kinds a journal mentions besides orders, fills and risk decisions.
JOURNAL_EVENT_KINDS = (
    "stop_mode",
    "params_fallback",
    "params_applied",
    "kill_switch",
    "kill_switch_set",
    "recovery",
    "quote_unavailable",
)
_BPS = Decimal(10_000)
_Q = Decimal("0.01")


async def gather_facts(ctx: AiContext, account_id: str, day: date) -> dict[str, Any]:
    """Return the facts of `account_id`'s session `day` (module docstring), JSON-safe."""
    start, end = ctx.day_boundary.start_of(day), ctx.day_boundary.start_of(day + timedelta(days=1))
    async with ctx.uow_factory() as uow:
        orders = await uow.orders.list_for_date(account_id, day)
        stored = await uow.fills.list_for_date(account_id, day)
        settlement = await uow.settlements.get(account_id, day)
        snapshots = await uow.positions.list_snapshots(account_id, day)
        risk = [e for e in await uow.risk.list_events(account_id, since=start) if e.ts_event < end]
        events = [
            e
            for kind in ("market_open", *JOURNAL_EVENT_KINDS)
            for e in await uow.events.list_kind(kind, account_id)
            if start <= e.ts_event < end and not (e.kind == "recovery" and e.payload.get("clean") is True)
        ]
        venue = await uow.accounts.venue_of(account_id) or ctx.venue
    signal_of = {o.id: o.signal_price for o in orders}
    opens = [e for e in events if e.kind == "market_open"]
    params = dict(opens[-1].payload.get("params") or {}) if opens else {}
    if params and len(ctx.specs) == 1 and not all(isinstance(v, dict) for v in params.values()):
        params = {next(iter(ctx.specs)): params}
    facts: dict[str, Any] = {
        "trading_date": day,
        "account_id": account_id,
        "venue": venue,
        "params": params,
        "orders": [_order(o) for o in orders],
        "fills": [_fill(s.fill, signal_of.get(s.order_id)) for s in sorted(stored, key=lambda s: s.fill.ts_filled)],
        "risk": [
            {"time": e.ts_event, "rule": e.rule, "decision": e.decision, "symbol": e.symbol, "message": e.message}
            for e in risk
        ],
        "events": [
            {"time": e.ts_event, "kind": e.kind, "message": e.message}
            for e in sorted(events, key=lambda e: e.ts_event)
            if e.kind != "market_open"
        ],
        "settlement": None if settlement is None else _settlement(settlement),
        "positions": [
            {
                "symbol": s.symbol,
                "quantity": s.quantity,
                "avg_price": s.avg_price,
                "close": s.close_price,
                "unrealized_krw": s.unrealized_pnl_krw,
            }
            for s in snapshots
        ],
    }
    try:
        facts["backtest"] = dict(await ctx.research.day_comparison(account_id, day))
    except Exception as e:  # the comparison is a fact among others; its failure is one too
        facts["backtest"] = {"unavailable": f"{type(e).__name__}: {e}"}
    return jsonable_mapping(facts)


def _order(o: Any) -> dict[str, Any]:
    avg = (o.filled_amount_krw / o.filled_quantity) if o.filled_quantity else None
    return {
        "time": o.ts_created,
        "strategy": o.strategy_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.order_type.value,
        "intent": o.intent.value,
        "quantity": o.quantity,
        "limit_price": o.limit_price,
        "signal_price": o.signal_price,
        "status": o.status.value,
        "filled": o.filled_quantity,
        "avg_price": None if avg is None else avg.quantize(_Q),
        "reason": o.reason,
        "status_reason": o.status_reason,
    }


def _fill(f: Any, signal: Decimal | None) -> dict[str, Any]:
    slip = None if signal is None else (f.price - signal if f.side is Side.BUY else signal - f.price)
    return {
        "time": f.ts_filled,
        "symbol": f.symbol,
        "side": f.side.value,
        "quantity": f.quantity,
        "price": f.price,
        "signal_price": signal,
        "slippage_krw": slip,
        "slippage_bps": None if slip is None or not signal else (slip / signal * _BPS).quantize(_Q),
        "commission_krw": f.commission_krw,
        "tax_krw": f.tax_krw,
    }


def _settlement(s: Any) -> dict[str, Any]:
    return {
        "start_equity_krw": s.start_equity_krw,
        "end_equity_krw": s.end_equity_krw,
        "realized_gross_krw": s.realized_pnl_krw,
        "commission_krw": s.commission_krw,
        "tax_krw": s.tax_krw,
        "realized_net_krw": s.realized_pnl_krw - s.commission_krw - s.tax_krw,
        "unrealized_krw": s.unrealized_pnl_krw,
        "return_pct": s.return_pct,
        "drawdown_pct": s.summary.get("drawdown_pct"),
        "max_drawdown_pct": s.summary.get("max_drawdown_pct"),
        "stopped": s.summary.get("stopped") or "",
        "orders": s.orders_count,
        "fills": s.fills_count,
    }
