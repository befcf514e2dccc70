"""How the dashboard shows values to people: KST times, won amounts, masked accounts and messages, and the JSON
shapes of its endpoints (the CLI's own ``--json`` shapes where the CLI has one)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from stock_manager.adapters.notifications.display import account, order_number, shown
from stock_manager.adapters.observability.masking import register_account
from stock_manager.domain.orders import Order
from stock_manager.entrypoints.views import status_data
from stock_manager.localtime import KST
from stock_manager.service_layer.ports.history import ResearchRun
from stock_manager.service_layer.ports.records import EventRecord
from stock_manager.service_layer.views.orders import OrderTimeline
from stock_manager.service_layer.views.overview import EquityPoint, Overview


def kst(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Return `ts` as KST wall time, or "-"."""
    return ts.astimezone(KST).strftime(fmt) if ts else "-"


def kst_utc(ts: datetime | None) -> str:
    """Return `ts` in KST and UTC, as the CLI shows Upbit's events: ``2024-03-01 09:00:00 KST (2024-03-01
    00:00:00 UTC)``, or "-"."""
    return f"{kst(ts)} KST ({ts.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)" if ts else "-"


def quantity(value: Decimal | None, places: int | None = None) -> str:
    """Return a quantity with `places` decimals (Bitcoin's 8: ``0.00231527``), else as `number` does."""
    if value is None or places is None:
        return number(value)
    return f"{value:,.{places}f}"


def _venue_of(ctx: Context, venue: Any) -> Any:
    return venue if venue is not None else ctx.get("shown_venue")


@pass_context
def when(ctx: Context, ts: datetime | None, venue: Any = None) -> str:
    """Template helper: `ts` in KST, and in UTC too where the page's venue (or `venue`) says so (Upbit)."""
    shown = _venue_of(ctx, venue)
    return kst_utc(ts) if shown is not None and shown.utc_too else kst(ts)


@pass_context
def qty(ctx: Context, value: Decimal | None, venue: Any = None) -> str:
    """Template helper: a quantity with the page's venue's decimals (or `venue`'s)."""
    shown = _venue_of(ctx, venue)
    return quantity(value, shown.quantity_places if shown is not None else None)


def krw(value: Decimal | int | None, signed: bool = False) -> str:
    """Return a won amount rounded to the won with thousands separators (``-1,234``), or "-"."""
    if value is None:
        return "-"
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def number(value: Decimal | None) -> str:
    """Return a quantity or price without trailing zeros, with thousands separators, or "-"."""
    if value is None:
        return "-"
    text = f"{value.normalize():,f}"
    return text


def pct(value: Decimal | None, signed: bool = False) -> str:
    """Return a percentage with two decimals, or "-"."""
    if value is None:
        return "-"
    return f"{value:+.2f}%" if signed else f"{value:.2f}%"


def run_result(run: ResearchRun) -> str:
    """Return a recorded research run's headline: a backtest's return, drawdown, Sharpe and trades; an
    optimisation's verdict; a divergence's PnL difference (from its recorded summary)."""
    s = run.summary
    if run.kind == "BACKTEST":
        return (
            f"return {s.get('return_pct', '-')}%, max drawdown {s.get('max_drawdown_pct', '-')}%, "
            f"Sharpe {s.get('sharpe', '-')}, {s.get('trades', 0)} trades"
        )
    if run.kind == "OPTIMIZE":
        return shown(str(s.get("verdict", "-")))
    difference = s.get("pnl_difference_krw")
    return "-" if difference is None else f"PnL difference {krw(Decimal(str(difference)), True)} KRW"


def template_helpers() -> dict[str, Any]:
    """Return the helpers every template may call."""
    return {
        "kst": kst,
        "when": when,
        "qty": qty,
        "krw": krw,
        "number": number,
        "pct": pct,
        "shown": shown,
        "account": account,
        "order_number": order_number,
        "run_result": run_result,
    }


def order_data(o: Order) -> dict[str, Any]:
    """Return one order as plain data: account masked, broker number unpadded."""
    return {
        "id": o.id,
        "trading_date": o.trading_date,
        "strategy_id": o.strategy_id,
        "symbol": o.symbol,
        "side": o.side,
        "order_type": o.order_type,
        "intent": o.intent,
        "quantity": o.quantity,
        "limit_price": o.limit_price,
        "signal_price": o.signal_price,
        "status": o.status,
        "status_reason": shown(o.status_reason),
        "reason": shown(o.reason),
        "filled": o.filled_quantity,
        "filled_amount_krw": o.filled_amount_krw,
        "broker_order_number": order_number(o.broker_order_number) if o.broker_order_number else None,
        "ts_created": o.ts_created,
        "ts_sent": o.ts_sent,
        "ts_partial": o.ts_partial,
        "ts_filled": o.ts_filled,
        "ts_canceled": o.ts_canceled,
        "ts_rejected": o.ts_rejected,
    }


def event_data(e: EventRecord) -> dict[str, Any]:
    """Return one event as plain data (the message masked; payloads are masked when stored)."""
    return {
        "id": e.id,
        "ts": e.ts_event,
        "kind": e.kind,
        "severity": e.severity,
        "message": shown(e.message),
        "correlation_id": e.correlation_id,
    }


def timeline_data(t: OrderTimeline) -> dict[str, Any]:
    """Return an order with its timeline as plain data."""
    return {
        "order": order_data(t.order),
        "timeline": [
            {
                "ts": s.ts,
                "step": s.label,
                "severity": s.severity,
                "detail": shown(s.detail),
                "is_status": s.status is not None,
            }
            for s in t.steps
        ],
    }


def overview_data(o: Overview) -> dict[str, Any]:
    """Return the overview as plain data: ``status --json``'s shape under ``status``, plus the marked positions,
    unrealized PnL, equity, drawdown and the latest fills."""
    register_account(o.status.daemon.account_id if o.status.daemon else None)
    dd = o.drawdown
    return {
        "status": status_data(o.status),
        "positions": [
            {
                "symbol": m.position.symbol,
                "quantity": m.position.quantity,
                "avg_price": m.position.avg_price,
                "mark_price": m.mark_price,
                "mark_source": m.mark_source,
                "ts_mark": m.ts_mark,
                "unrealized_pnl_krw": m.unrealized_pnl_krw,
                "realized_pnl_krw": m.position.net_realized_pnl_krw,
            }
            for m in o.positions
        ],
        "unrealized_pnl_krw": o.unrealized_pnl_krw,
        "last_equity_krw": o.last_equity_krw,
        "drawdown": None
        if dd is None
        else {
            "current_pct": dd.current_pct,
            "max_pct": dd.max_pct,
            "max_krw": dd.max_krw,
            "peak_equity_krw": dd.peak_equity_krw,
        },
        "recent_fills": [
            {
                "ts": f.ts_filled,
                "symbol": f.symbol,
                "side": f.side,
                "quantity": f.quantity,
                "price": f.price,
                "commission_krw": f.commission_krw,
                "tax_krw": f.tax_krw,
            }
            for f in o.recent_fills
        ],
    }


def equity_data(points: list[EquityPoint]) -> dict[str, Any]:
    """Return the equity curve as columns (what the chart plots): dates, end equity KRW, drawdown percent."""
    return {
        "dates": [p.trading_date for p in points],
        "equity_krw": [p.end_equity_krw for p in points],
        "drawdown_pct": [p.drawdown_pct for p in points],
    }


def parse_day(text: str | None) -> date | None:
    """Return the date of a ``YYYY-MM-DD`` query value, None when empty.

    Raises
    ------
    ValueError
        If the text is not a date.
    """
    return date.fromisoformat(text) if text else None
