"""The console view of ``stockbot divergence --venue upbit`` (`divergence_upbit.upbit_divergence_report`): the
trade-by-trade table with each fill's time in KST and UTC (spec 004 §1: Upbit's reports show both), the missing
and extra trades, the figures per strategy and the PnL decomposition overall. The JSON and the chart are
`divergence_run.write_divergence`'s."""

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from stock_manager.localtime import show_kst_utc
from stock_manager.research.divergence_run import number_text, print_pnl_difference, print_unmatched

__all__ = ["render_upbit_divergence"]

_SATOSHI = Decimal("0.00000001")


def render_upbit_divergence(report: dict[str, Any], console: Console) -> None:
    """Print `report` (the shape `upbit_divergence_report` returns): amounts in KRW, BTC quantities as stored
    (8 decimals), slippage in KRW and bps of the backtest's price (positive: the daemon did worse)."""
    if not console.is_terminal and console.width < 230:
        console = Console(width=240, highlight=False)
    console.print(
        f"upbit account {report['account']} ({report['mode']}), {report['period']} (days from 09:00 KST = 00:00 "
        f"UTC), {', '.join(report['symbols'])}, strategies {', '.join(report['strategies'])}: daemon "
        f"{report['orders_daemon']} orders / {report['fills_daemon']} fills, backtest "
        f"{report['orders_backtest']} / {report['fills_backtest']}"
    )
    if report["held_at_start"]:
        console.print(f"[yellow]the account held {report['held_at_start']} at the start; the backtest starts flat[/]")
    table = Table(title="Trade by trade (first fill: KST (UTC))", title_justify="left")
    columns: tuple[str, ...] = ("date", "strategy", "#", "side", "intent", "qty daemon", "qty backtest")
    columns += ("price daemon", "price backtest", "slippage KRW", "bps", "first fill daemon", "delay s")
    columns += ("fee daemon", "fee backtest")
    for column in columns:
        left = column in ("date", "strategy", "side", "intent", "first fill daemon")
        table.add_column(column, justify="left" if left else "right", no_wrap=column == "first fill daemon")
    for p in report["pairs"]:
        first = p.get("first_fill_daemon")
        table.add_row(
            str(p["trading_date"]),
            p["strategy"],
            str(p["rank"]),
            p["side"],
            p["intent"],
            _btc(p["quantity_daemon"]),
            _btc(p["quantity_backtest"]),
            number_text(p["price_daemon"]),
            number_text(p["price_backtest"]),
            number_text(p["slippage_krw"]),
            number_text(p.get("slippage_bps")),
            show_kst_utc(first) if first is not None else "-",
            number_text(p["delay_secs"]),
            number_text(p["costs_daemon"]),
            number_text(p["costs_backtest"]),
        )
    console.print(table)
    print_unmatched(
        report,
        console,
        lambda r: (
            f"{r['trading_date']} {r['strategy']} #{r['rank']} {r['side']} {_btc(r['quantity'])} @ "
            f"{number_text(r['price'])}"
        ),
    )
    per = Table(title="By strategy (KRW; open positions at the last close)", title_justify="left")
    for column in ("strategy", "pairs", "missing", "extra", "PnL daemon", "PnL backtest", "difference"):
        per.add_column(column, justify="left" if column == "strategy" else "right")
    for column in ("slippage KRW", "mean bps", "fees daemon", "fees backtest"):
        per.add_column(column, justify="right")
    for strategy_id, s in report["by_strategy"].items():
        per.add_row(
            strategy_id,
            str(s["pairs"]),
            str(s["missing"]),
            str(s["extra"]),
            number_text(s["pnl_daemon_krw"]),
            number_text(s["pnl_backtest_krw"]),
            number_text(s["pnl_difference_krw"]),
            number_text(s["slippage_total_krw"]),
            number_text(s["slippage_mean_bps"]),
            number_text(s["costs_daemon_krw"]),
            number_text(s["costs_backtest_krw"]),
        )
    console.print(per)
    print_pnl_difference(report, console, note="", costs="fees")


def _btc(quantity: Decimal) -> str:
    # A quantity as Upbit states it: 8 decimals (1e-8 of the coin).
    return f"{quantity.quantize(_SATOSHI):f}"
