"""Rendering of ``stockbot risk show``: a rich table for people, JSON for scripts."""

from typing import Any

from rich.console import Console
from rich.table import Column, Table

from stock_manager.adapters.notifications.display import account
from stock_manager.entrypoints.views import kst
from stock_manager.service_layer.views.risk import LimitLine, RiskReport


def risk_data(report: RiskReport) -> dict[str, Any]:
    """Return the report as plain data (``risk show --json``)."""
    return {
        "account_id": account(report.account_id) if report.account_id else None,
        "trading_date": report.trading_date,
        "start_of_day_equity_krw": report.start_of_day_equity_krw,
        "kill_switch": {
            "active": report.kill_switch.active,
            "action": report.kill_switch.action,
            "reason": report.kill_switch.reason,
            "set_by": report.kill_switch.set_by,
            "ts_changed": report.kill_switch.ts_changed,
        },
        "limits": [
            {"name": line.name, "value": line.value, "source": _source(line), "usage": line.usage}
            for line in report.limits
        ],
        "denials_today": report.denials_today,
    }


def render_risk(report: RiskReport, console: Console) -> None:
    """Print the limits with their source and today's usage, the kill switch and today's denials."""
    switch = report.kill_switch
    console.print(
        f"Risk on {report.trading_date} · account {account(report.account_id)} · start-of-day equity "
        f"{f'{report.start_of_day_equity_krw:,.0f} KRW' if report.start_of_day_equity_krw else '-'}"
    )
    if switch.active:
        console.print(
            f"[bold red]Kill switch SET[/] ({switch.action}) by {switch.set_by or '-'} at "
            f"{kst(switch.ts_changed)} KST: {switch.reason}"
        )
    else:
        console.print("Kill switch clear")
    table = Table("value", "source", "today")
    table.columns.insert(0, Column("limit", no_wrap=True))
    for line in report.limits:
        table.add_row(line.name, line.value if line.value is not None else "off", _source(line), line.usage)
    console.print(table)
    if report.denials_today:
        console.print("Denied today: " + ", ".join(f"{rule} {n}" for rule, n in report.denials_today.items()))
    else:
        console.print("Denied today: none")


def _source(line: LimitLine) -> str:
    # Where a limit comes from, its change time shown in KST.
    if line.ts_changed is None:
        return line.source
    return f"{line.source.removesuffix(')')}, {kst(line.ts_changed)} KST)"
