"""Backtest output: console tables, CSV/JSON files, the equity/drawdown chart as a PNG and a self-contained
HTML page (the chart inlined as SVG, with the summary and the trades)."""

import csv
import html
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stock_manager.research.engine import BacktestResult
from stock_manager.research.metrics import Trade, summarize, trades_of

SUMMARY_ROWS = (
    ("period", "period"),
    ("sessions", "sessions (played)"),
    ("return_pct", "return %"),
    ("cagr_pct", "CAGR %"),
    ("max_drawdown_pct", "max drawdown %"),
    ("sharpe", "Sharpe"),
    ("trades", "trades (closed)"),
    ("win_rate_pct", "win rate %"),
    ("profit_factor", "profit factor"),
    ("exposure_pct", "exposure %"),
    ("turnover", "turnover ×"),
    ("costs_krw", "costs KRW (commission + tax)"),
    ("end_equity_krw", "end equity KRW"),
    ("risk_denials", "risk denials"),
    ("kill_switch", "kill switch"),
)


def jsonable(value: Any) -> Any:
    """Return `value` with Decimals as plain strings (``"0.00000001"``, never ``"1E-8"``) and dates as ISO text,
    recursively."""
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _cell(summary: dict[str, Any], key: str) -> str:
    if key == "sessions":
        return f"{summary['sessions']} ({summary['sessions_played']})"
    if key == "trades":
        return f"{summary['trades']} ({summary['closed_trades']})"
    if key == "costs_krw":
        # whole won (the KRX costs are whole; Upbit's 0.05 % fee has fractions of a won)
        return f"{summary['costs_krw']:,.0f} ({summary['commission_krw']:,.0f} + {summary['tax_krw']:,.0f})"
    value = summary.get(key)
    if value is None:
        return "-"
    if isinstance(value, Decimal) and key.endswith("_krw"):
        return f"{value:,.0f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def render(result: BacktestResult, console: Console, *, max_trades: int = 40) -> dict[str, Any]:
    """Print the trades and the summary; return the summary."""
    if not console.is_terminal and console.width < 120:
        console = Console(width=120, highlight=False)  # piped output: keep the tables' columns whole
    summary = summarize(result)
    trades = trades_of(result)
    table = Table(title=f"Trades ({len(trades)})", title_justify="left")
    for name in ("symbol", "entry", "exit", "qty", "entry price", "exit price", "PnL KRW (net)", "costs KRW"):
        table.add_column(name, justify="right" if name not in ("symbol", "entry", "exit") else "left")
    for t in trades[:max_trades]:
        table.add_row(
            t.symbol,
            str(t.entry_date),
            str(t.exit_date or "open"),
            f"{t.quantity:,}",
            f"{t.entry_price:,.2f}",
            f"{t.exit_price:,.2f}" if t.exit_price is not None else "-",
            f"{t.pnl_krw:,.0f}",
            f"{t.costs_krw:,.0f}",
        )
    if len(trades) > max_trades:
        table.add_row("…", f"{len(trades) - max_trades} more in trades.csv", "", "", "", "", "", "")
    console.print(table)
    s = Table(title="Summary", title_justify="left", show_header=False)
    s.add_column("figure")
    s.add_column("value", justify="right")
    for key, label in SUMMARY_ROWS:
        s.add_row(label, _cell(summary, key))
    console.print(s)
    return summary


def write_outputs(result: BacktestResult, out_dir: Path, *, title: str = "stockbot backtest") -> list[Path]:
    """Write ``summary.json``, ``trades.csv``, ``orders.csv``, ``fills.csv``, ``equity.csv``, ``equity.png`` and
    ``report.html`` into `out_dir` (created); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(result)
    trades = trades_of(result)
    paths = [
        out_dir / n
        for n in ("summary.json", "trades.csv", "orders.csv", "fills.csv", "equity.csv", "equity.png", "report.html")
    ]
    paths[0].write_text(json.dumps(jsonable(summary), indent=2), encoding="utf-8")
    _csv(
        paths[1],
        ["symbol", "entry_date", "exit_date", "quantity", "entry_price", "exit_price", "pnl_krw", "costs_krw"],
        [
            [
                t.symbol,
                t.entry_date,
                t.exit_date or "",
                t.quantity,
                t.entry_price,
                t.exit_price or "",
                t.pnl_krw,
                t.costs_krw,
            ]
            for t in trades
        ],
    )
    _csv(
        paths[2],
        [
            "trading_date",
            "ts_created",
            "symbol",
            "side",
            "intent",
            "order_type",
            "quantity",
            "limit_price",
            "status",
            "filled_quantity",
            "avg_fill_price",
            "reason",
            "note",
        ],
        [
            [
                o.trading_date,
                o.ts_created.isoformat(),
                o.symbol,
                o.side,
                o.intent,
                o.order_type,
                o.quantity,
                o.limit_price or "",
                o.status,
                o.filled_quantity,
                o.avg_fill_price or "",
                o.reason,
                o.note,
            ]
            for o in result.orders
        ],
    )
    _csv(
        paths[3],
        [
            "trading_date",
            "ts_filled",
            "symbol",
            "side",
            "quantity",
            "price",
            "commission_krw",
            "tax_krw",
            "order_number",
        ],
        [
            [
                f.trading_date,
                f.ts_filled.isoformat(),
                f.symbol,
                f.side,
                f.quantity,
                f.price,
                f.commission_krw,
                f.tax_krw,
                f.broker_order_number,
            ]
            for f in result.fills
        ],
    )
    _csv(paths[4], ["date", "equity_krw"], [[d, e] for d, e in result.equity])
    png, svg = equity_charts(result.equity, result.config.start_cash_krw, title)
    paths[5].write_bytes(png)
    paths[6].write_text(_html(title, summary, trades, svg), encoding="utf-8")
    return paths


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def equity_charts(equity: Sequence[tuple[date, Decimal]], start_cash: Decimal, title: str) -> tuple[bytes, str]:
    """Return the equity and drawdown chart as PNG bytes and as SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    days = [d for d, _ in equity]
    x: list[date] | list[int] = days if days else [0]  # one point at 0 for an empty curve
    values = np.array([float(e) for _, e in equity]) if equity else np.array([float(start_cash)])
    peak = np.maximum.accumulate(np.concatenate(([float(start_cash)], values)))[1:]
    dd = (values / peak - 1) * 100
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(3, 1))
    top.plot(x, values, color="#1f77b4", lw=1.2)
    top.axhline(float(start_cash), color="grey", lw=0.6, ls="--")
    top.set_ylabel("equity, KRW")
    top.set_title(title)
    top.grid(alpha=0.3)
    bottom.fill_between(x, dd, 0, color="#d62728", alpha=0.4)
    bottom.set_ylabel("drawdown, %")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    png, svg = io.BytesIO(), io.StringIO()
    fig.savefig(png, format="png", dpi=100)
    fig.savefig(svg, format="svg")
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def _html(title: str, summary: dict[str, Any], trades: list[Trade], svg: str) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(_cell(summary, key))}</td></tr>"
        for key, label in SUMMARY_ROWS
    )
    trade_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                t.symbol,
                t.entry_date,
                t.exit_date or "open",
                t.quantity,
                t.entry_price,
                t.exit_price or "-",
                f"{t.pnl_krw:,.0f}",
                f"{t.costs_krw:,.0f}",
            )
        )
        + "</tr>"
        for t in trades
    )
    svg_body = svg[svg.find("<svg") :]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{text-align:left}}</style></head>
<body><h1>{html.escape(title)}</h1>{svg_body}
<h2>Summary</h2><table>{rows}</table>
<h2>Trades</h2><table><tr><th>symbol</th><th>entry</th><th>exit</th><th>qty</th><th>entry price</th>
<th>exit price</th><th>PnL KRW (net)</th><th>costs KRW</th></tr>{trade_rows}</table></body></html>
"""
