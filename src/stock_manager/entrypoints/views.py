"""Rendering for the CLI: rich tables for people, JSON for scripts. Times shown in KST."""

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from stock_manager.adapters.notifications.display import account, order_number, shown
from stock_manager.adapters.observability.masking import register_account
from stock_manager.localtime import KST
from stock_manager.service_layer.events import jsonable, plain
from stock_manager.service_layer.ports.storage import DailySettlement
from stock_manager.service_layer.reconciliation import RecoveryPlan
from stock_manager.service_layer.recovery import action_rows, plan_summary
from stock_manager.service_layer.views.reports import DailyReport
from stock_manager.service_layer.views.status import StatusReport


def kst(ts: datetime | None) -> str:
    """Return `ts` as ``YYYY-MM-DD HH:MM:SS`` KST, or "-"."""
    return ts.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def print_json(data: Any) -> None:
    """Print `data` as indented JSON (Decimals and times as strings)."""
    print(json.dumps(jsonable(data), ensure_ascii=False, indent=2))


def status_data(report: StatusReport) -> dict[str, Any]:
    """Return the status report as plain data (``status --json``)."""
    d = report.daemon
    register_account(d.account_id if d is not None else None)  # masked in every message below too
    return {
        "daemon": None
        if d is None
        else {
            "account_id": account(d.account_id) if d.account_id else None,
            "mode": d.mode,
            "trading_state": d.trading_state,
            "stop_reason": d.stop_reason,
            "trading_date": d.trading_date,
            "pid": d.pid,
            "ts_started": d.ts_started,
            "ts_heartbeat": d.ts_heartbeat,
            "ts_next_session": d.ts_next_session,
        },
        "kill_switch": {
            "active": report.kill_switch.active,
            "action": report.kill_switch.action,
            "reason": report.kill_switch.reason,
            "ts_changed": report.kill_switch.ts_changed,
        },
        "positions": [
            {
                "symbol": p.symbol,
                "quantity": p.quantity,
                "avg_price": p.avg_price,
                "realized_pnl_krw": p.net_realized_pnl_krw,
            }
            for p in report.positions
        ],
        "open_orders": [
            {
                "id": o.id,
                "symbol": o.symbol,
                "side": o.side,
                "quantity": o.quantity,
                "limit_price": o.limit_price,
                "status": o.status,
                "filled": o.filled_quantity,
                "broker_order_number": order_number(o.broker_order_number) if o.broker_order_number else None,
            }
            for o in report.open_orders
        ],
        "trading_date": report.trading_date,
        "realized_pnl_today_krw": report.realized_pnl_today_krw,
        "last_settlement": None if report.last_settlement is None else settlement_data(report.last_settlement),
        "events": [
            {"ts": e.ts_event, "kind": e.kind, "severity": e.severity, "message": shown(e.message)}
            for e in report.events
        ],
    }


def settlement_data(s: DailySettlement) -> dict[str, Any]:
    """Return one settlement as plain data."""
    return {
        "trading_date": s.trading_date,
        "orders": s.orders_count,
        "fills": s.fills_count,
        "realized_pnl_krw": s.realized_pnl_krw,
        "commission_krw": s.commission_krw,
        "tax_krw": s.tax_krw,
        "unrealized_pnl_krw": s.unrealized_pnl_krw,
        "end_equity_krw": s.end_equity_krw,
        "return_pct": s.return_pct,
    }


def render_status(report: StatusReport, console: Console) -> None:
    """Print mode, positions, open orders, today's PnL and the last events."""
    d = report.daemon
    register_account(d.account_id if d is not None else None)  # masked in every message below too
    if d is None:
        console.print("No daemon has run against this database yet. Start one with `stockbot run --mode sim`.")
    else:
        waiting = f" for {kst(d.ts_next_session)} KST" if d.ts_next_session else ""
        console.print(
            f"Mode [bold]{d.mode}[/]  account {account(d.account_id)}  state [bold]{d.trading_state}{waiting}[/]"
            f"{f' ({d.stop_reason})' if d.stop_reason else ''}  session {d.trading_date or '-'}  "
            f"heartbeat {kst(d.ts_heartbeat)} KST"
        )
        console.print(
            f"Realized PnL on {report.trading_date or '-'}: {report.realized_pnl_today_krw:,.0f} KRW "
            "(after commission and tax)"
        )
    ks = report.kill_switch
    console.print(f"Kill switch: {'[bold red]SET[/] — ' + ks.reason if ks.active else 'clear'}")
    table = Table(title="Positions")
    for col in ("symbol", "quantity", "avg price KRW", "realized KRW (net)"):
        table.add_column(col, justify="right" if col != "symbol" else "left")
    for p in report.positions:
        table.add_row(p.symbol, f"{p.quantity:,.0f}", f"{p.avg_price:,.2f}", f"{p.net_realized_pnl_krw:,.0f}")
    console.print(table)
    orders = Table(title="Open orders")
    for col in ("id", "symbol", "side", "qty", "limit KRW", "status", "filled", "broker no."):
        orders.add_column(col)
    for o in report.open_orders:
        orders.add_row(
            str(o.id),
            o.symbol,
            o.side.value,
            f"{o.quantity:,.0f}",
            f"{o.limit_price:,.0f}" if o.limit_price else "market",
            o.status.value,
            f"{o.filled_quantity:,.0f}",
            order_number(o.broker_order_number),
        )
    console.print(orders)
    events = Table(title="Last events")
    for col in ("time KST", "severity", "kind", "message"):
        events.add_column(col)
    for e in report.events:
        events.add_row(kst(e.ts_event), e.severity, e.kind, shown(e.message))
    console.print(events)


def plan_data(plan: RecoveryPlan) -> dict[str, Any]:
    """Return the plan as plain data (``recover --json``): order numbers unpadded, accounts masked."""
    data: dict[str, Any] = plan_summary(plan)
    data["actions"] = [
        {
            **row,
            "detail": shown(row["detail"]),
            **{key: shown(row[key]) for key in ("order_key", "broker_fill_id") if row[key]},
            "broker_order_number": order_number(row["broker_order_number"]) if row["broker_order_number"] else None,
        }
        for row in data["actions"]
    ]
    return data


def render_plan(plan: RecoveryPlan, console: Console, *, dry_run: bool) -> None:
    """Print a recovery plan as a table: what would change, and why."""
    verb = "would" if dry_run else "will"
    if plan.is_clean:
        console.print("Database and broker agree: a restart would change nothing.")
        return
    table = Table(title=f"Recovery: what a restart {verb} change")
    for col in ("action", "order / fill", "why", "before", "after"):
        table.add_column(col)
    for row in action_rows(plan):
        ref = row["order_key"] or row["broker_fill_id"] or row["broker_order_number"] or "-"
        table.add_row(row["kind"], shown(str(ref)), shown(row["detail"]), shown(row["before"]), shown(row["after"]))
    for diff in plan.position_differences:
        table.add_row(
            "position_mismatch",
            diff.symbol,
            "our fills and the broker's holding differ",
            f"ours {plain(diff.ours_quantity)}",
            f"broker {plain(diff.broker_quantity)}",
        )
    console.print(table)
    if plan.stop_reasons or plan.position_differences:
        console.print(f"[bold red]A restart {verb} enter stop mode:[/] unresolvable differences above.")


def render_period(settlements: Sequence[DailySettlement], console: Console) -> None:
    """Print the replayed period's summary: sessions, orders, fills, PnL and return."""
    if not settlements:
        console.print("No session was closed in this run.")
        return
    first, last = settlements[0], settlements[-1]
    net = sum((s.realized_pnl_krw - s.commission_krw - s.tax_krw for s in settlements), Decimal(0))
    table = Table(title=f"Period {first.trading_date} → {last.trading_date}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("sessions", f"{len(settlements)}"),
        ("orders", f"{sum(s.orders_count for s in settlements)}"),
        ("fills", f"{sum(s.fills_count for s in settlements)}"),
        ("realized PnL, net KRW", f"{net:,.0f}"),
        ("commission KRW", f"{sum((s.commission_krw for s in settlements), Decimal(0)):,.0f}"),
        ("tax KRW", f"{sum((s.tax_krw for s in settlements), Decimal(0)):,.0f}"),
        ("unrealized PnL at end KRW", f"{last.unrealized_pnl_krw:,.0f}"),
        ("equity start → end KRW", f"{first.start_equity_krw:,.0f} → {last.end_equity_krw:,.0f}"),
        (
            "return",
            f"{(last.end_equity_krw / first.start_equity_krw - 1) * 100:+.3f}%" if first.start_equity_krw else "-",
        ),
    ]
    for measure, value in rows:
        table.add_row(measure, value)
    console.print(table)


def report_data(report: DailyReport) -> dict[str, Any]:
    """Return the daily report as plain data (``report --json``); amounts in KRW as strings."""
    s, dd = report.settlement, report.drawdown
    register_account(s.account_id)  # masked in the fill ids below too
    return {
        "account_id": account(s.account_id),
        "trading_date": s.trading_date,
        "mode": s.mode,
        "realized_pnl_krw": s.realized_pnl_krw,
        "commission_krw": s.commission_krw,
        "tax_krw": s.tax_krw,
        "net_realized_pnl_krw": report.net_realized_pnl_krw,
        "unrealized_pnl_krw": s.unrealized_pnl_krw,
        "orders": s.orders_count,
        "trades": s.fills_count,
        "start_equity_krw": s.start_equity_krw,
        "end_equity_krw": s.end_equity_krw,
        "cash_krw": s.cash_krw,
        "return_pct": s.return_pct,
        "cumulative_return_pct": report.cumulative_return_pct,
        "drawdown_pct": dd.current_pct,
        "max_drawdown_pct": dd.max_pct,
        "max_drawdown_krw": dd.max_krw,
        "peak_equity_krw": dd.peak_equity_krw,
        "stopped": s.summary.get("stopped") or "",
        "fills": [
            {
                "ts": f.ts_filled,
                "symbol": f.symbol,
                "side": f.side,
                "quantity": f.quantity,
                "price": f.price,
                "commission_krw": f.commission_krw,
                "tax_krw": f.tax_krw,
                "broker_fill_id": shown(f.broker_fill_id),
            }
            for f in report.fills
        ],
        "equity_curve": [{"trading_date": d, "end_equity_krw": e} for d, e in report.equity_curve],
    }


def render_report(report: DailyReport, console: Console) -> None:
    """Print the daily report: PnL, costs, trades, return and drawdown, then the day's fills."""
    s, dd = report.settlement, report.drawdown
    table = Table(title=f"Daily report {s.trading_date} ({s.mode}, account {account(s.account_id)})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("realized PnL, gross KRW", f"{s.realized_pnl_krw:,.0f}"),
        ("commission KRW", f"{s.commission_krw:,.0f}"),
        ("tax KRW", f"{s.tax_krw:,.0f}"),
        ("realized PnL, net KRW", f"{report.net_realized_pnl_krw:,.0f}"),
        ("unrealized PnL KRW", f"{s.unrealized_pnl_krw:,.0f}"),
        ("trades (fills) / orders", f"{s.fills_count} / {s.orders_count}"),
        ("equity start → end KRW", f"{s.start_equity_krw:,.0f} → {s.end_equity_krw:,.0f}"),
        ("return today", f"{s.return_pct:+.3f}%"),
        (f"return since {report.equity_curve[0][0]}", f"{report.cumulative_return_pct:+.3f}%"),
        ("drawdown now / max", f"{dd.current_pct:.3f}% / {dd.max_pct:.3f}% ({dd.max_krw:,.0f} KRW)"),
    ]
    if stopped := s.summary.get("stopped"):
        rows.append(("stop mode", str(stopped)))
    for measure, value in rows:
        table.add_row(measure, value)
    console.print(table)
    fills = Table(title="Trades")
    for col in ("time KST", "side", "symbol", "qty", "price KRW", "commission KRW", "tax KRW"):
        fills.add_column(col, justify="left" if col in ("time KST", "side", "symbol") else "right")
    for f in report.fills:
        fills.add_row(
            kst(f.ts_filled),
            f.side.value,
            f.symbol,
            f"{f.quantity:,.0f}",
            f"{f.price:,.0f}",
            f"{f.commission_krw:,.0f}",
            f"{f.tax_krw:,.0f}",
        )
    console.print(fills if report.fills else "No trades this session.")
