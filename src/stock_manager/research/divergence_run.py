"""``stockbot divergence``: read a traded period from the database, backtest it with the parameters ACTIVE each
day, compare (`divergence.compare`), and write the table, the JSON and the chart."""

import json
from collections.abc import Callable
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.localtime import kst_date, kst_datetime
from stock_manager.research.data import MarketData, bundled
from stock_manager.research.divergence import compare, run_figures, side_orders
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.report import jsonable
from stock_manager.research.store import active_params_rows, params_on


async def divergence_report(
    storage: Any,
    start: date,
    end: date,
    symbols: list[str],
    *,
    account: str | None,
    settings: Any,
    fallback: MaCrossParams,
    limits: RiskLimits,
    market: MarketData | None = None,
) -> dict[str, Any]:
    """Return the divergence report of `account` over [start, end] (see `divergence`).

    `market` gives the bars (default: the bundled data of `symbols`); a caller asking again and again (the
    nightly journal) passes the same data, so its screening arrays and replayed paths are built once.

    `settings` gives the simulated account's defaults (cash, participation, commission); `limits` the risk
    limits of the settings, which the database's newest changes override as the daemon's open does.

    Raises
    ------
    ConfigurationError
        If no account (or more than one, without `account`) traded in the period.
    """
    from stock_manager.adapters.venues.krx.rules import krx_cost_model
    from stock_manager.service_layer.risk_config import effective_limits

    engine = storage.engine
    if account is None:
        statement = (
            select(tables.orders.c.account_id)
            .distinct()
            .where(tables.orders.c.trading_date >= start, tables.orders.c.trading_date <= end)
        )
        async with engine.connect() as conn:
            accounts = sorted(r[0] for r in await conn.execute(statement))
        if len(accounts) != 1:
            raise ConfigurationError(
                f"{len(accounts)} accounts have orders in {start}..{end}"
                f"{': ' + ', '.join(accounts) if accounts else ''}; name one with --account"
            )
        account = accounts[0]
    async with storage.uow_factory() as uow:
        orders, fills_all, settlements = await period_rows(uow, account, start, end)
        events = await uow.risk.list_events(account, since=kst_datetime(start, time(0, 0)))
        limits = await effective_limits(uow, limits)  # the settings' limits, then the database's changes
    fills = [f for f in fills_all if start <= f.trading_date <= end]
    held_before = {
        s: p.quantity
        for s, p in positions_from_fills(account, [f for f in fills_all if f.trading_date < start]).items()
        if p.quantity
    }
    rows = await active_params_rows(engine)
    start_cash = settlements[0].start_equity_krw if settlements else settings.sim_start_cash_krw

    def params_for(day: date) -> MaCrossParams:
        raw = params_on(rows, day)
        return MaCrossParams.from_mapping(raw) if raw is not None else fallback

    market = market.subset(symbols) if market is not None else bundled(symbols)
    config = BacktestConfig(
        start,
        end,
        params=params_for(start),
        limits=limits,
        start_cash_krw=start_cash,
        participation_rate=settings.sim_participation_rate,
        cost_model=krx_cost_model(settings.commission_rate),
        params_by_day=params_for,
    )
    result = run_backtest(market, config)
    last_close = {s: _last_close(market, s, end) for s in symbols}
    for f in fills:
        last_close.setdefault(f.symbol, f.price)
    daemon_denials = set()
    for e in events:
        if e.decision != "DENY" or e.symbol is None:
            continue
        side = (e.snapshot.get("proposal") or {}).get("side")
        if side and start <= kst_date(e.ts_event) <= end:
            daemon_denials.add((kst_date(e.ts_event), e.symbol, str(side)))
    bt_denials = {(d.trading_date, d.symbol, str(d.side)) for d in result.denials}
    d_orders = side_orders([o for o in orders if o.symbol in last_close], fills, lambda o: o.broker_order_number)
    b_orders = side_orders(result.orders, result.fills, lambda o: o.broker_order_number)
    report = compare(d_orders, b_orders, last_close, daemon_denials, bt_denials)
    changes, previous = [], None
    for d in result.days:
        mapping = params_for(d).to_mapping()
        if mapping != previous:
            changes.append({"from": d, "params": mapping})
            previous = mapping
    report.update(
        {
            "account": account,
            "period": f"{start}..{end}",
            "symbols": symbols,
            "start_cash_krw": start_cash,
            "held_at_start": held_before,
            "params_by_day": changes,
            **run_figures(orders, fills, daemon_denials, result, settlements),
        }
    )
    return report


def _last_close(market: Any, symbol: str, end: date) -> Decimal:
    bs = market.series[symbol]
    i = bs.index_before(end + timedelta(days=1))
    return bs.bars[i - 1].close if i else Decimal(0)


def render_divergence(report: dict[str, Any], console: Console) -> None:
    """Print the trade-by-trade table, the missing and extra trades and the decomposition."""
    if not console.is_terminal and console.width < 140:
        console = Console(width=150, highlight=False)
    console.print(
        f"account {report['account']}, {report['period']}, {', '.join(report['symbols'])}: daemon "
        f"{report['orders_daemon']} orders / {report['fills_daemon']} fills, backtest "
        f"{report['orders_backtest']} / {report['fills_backtest']}"
    )
    if report["held_at_start"]:
        console.print(f"[yellow]the account held {report['held_at_start']} at the start; the backtest starts flat[/]")
    table = Table(title="Trade by trade", title_justify="left")
    for column in (
        "date",
        "symbol",
        "side",
        "qty daemon",
        "qty backtest",
        "price daemon",
        "price backtest",
        "slippage KRW",
        "bps",
        "delay s",
        "costs daemon",
        "costs backtest",
    ):
        table.add_column(column, justify="left" if column in ("date", "symbol", "side") else "right")
    for p in report["pairs"]:
        table.add_row(
            str(p["trading_date"]),
            p["symbol"],
            p["side"],
            _n(p["quantity_daemon"]),
            _n(p["quantity_backtest"]),
            _n(p["price_daemon"]),
            _n(p["price_backtest"]),
            _n(p["slippage_krw"]),
            _n(p.get("slippage_bps")),
            _n(p["delay_secs"]),
            _n(p["costs_daemon"]),
            _n(p["costs_backtest"]),
        )
    console.print(table)
    print_unmatched(
        report, console, lambda r: f"{r['trading_date']} {r['symbol']} {r['side']} {r['quantity']} @ {_n(r['price'])}"
    )
    print_pnl_difference(report, console, note="; open positions at the last close", costs="costs")


def print_unmatched(report: dict[str, Any], console: Console, describe: Callable[[dict[str, Any]], str]) -> None:
    """Print `report`'s missing and extra trades, one line per kind (none when empty); `describe` words a trade,
    and a trade the risk rules denied in the daemon says so."""
    for title, rows in (
        ("Missing (backtest traded, daemon did not)", report["missing"]),
        ("Extra (daemon traded, backtest did not)", report["extra"]),
    ):
        if rows:
            console.print(
                f"[bold]{title}[/]: "
                + "; ".join(f"{describe(r)}{' (risk denied)' if r['risk_denied'] else ''}" for r in rows)
            )


def print_pnl_difference(report: dict[str, Any], console: Console, *, note: str, costs: str) -> None:
    """Print the PnL difference daemon − backtest with both PnLs (`note` follows them), its decomposition by
    cause, and the slippage and `costs` totals (KRW; mean slippage in bps)."""
    console.print(
        f"[bold]PnL difference daemon − backtest: {_n(report['pnl_difference_krw'])} KRW[/] (daemon "
        f"{_n(report['pnl_daemon_krw'])}, backtest {_n(report['pnl_backtest_krw'])}{note}), by cause:"
    )
    d = Table(show_header=False)
    d.add_column("bucket")
    d.add_column("KRW", justify="right")
    for k, v in report["decomposition_krw"].items():
        d.add_row(k.replace("_", " "), _n(v))
    console.print(d)
    console.print(
        f"slippage total {_n(report['slippage_total_krw'])} KRW, mean {_n(report['slippage_mean_bps'])} "
        f"bps; {costs} daemon {_n(report['costs_daemon_krw'])} KRW, backtest "
        f"{_n(report['costs_backtest_krw'])} KRW"
    )


def number_text(value: Any) -> str:
    """Return a number as the report prints it: all its digits, thousands separated, no exponent, no ``-0``;
    ``-`` for None; other values as `str`."""
    if value is None:
        return "-"
    if isinstance(value, Decimal | float | int):
        return f"{(Decimal(str(value)) + 0).normalize():,f}"  # + 0: no "-0"
    return str(value)


_n = number_text


def write_divergence(report: dict[str, Any], out: Path) -> list[Path]:
    """Write ``divergence.json`` and ``divergence.png`` (equity of both sides and the decomposition)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "divergence.json", out / "divergence.png"]
    paths[0].write_text(json.dumps(jsonable(report), indent=2), encoding="utf-8")
    fig, (top, bottom) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, series in (("daemon", report["equity_daemon"]), ("backtest", report["equity_backtest"])):
        if series:
            top.plot([d for d, _ in series], [float(v) for _, v in series], label=label, lw=1.2)
    top.set_title(f"equity, KRW ({report['period']})")
    top.legend()
    top.grid(alpha=0.3)
    top.tick_params(axis="x", rotation=30)
    items = list(report["decomposition_krw"].items())
    bottom.barh(
        [k.replace("_", " ") for k, _ in items],
        [float(v) for _, v in items],
        color=["#d62728" if v < 0 else "#2ca02c" for _, v in items],
    )
    bottom.set_title(f"PnL daemon − backtest: {float(report['pnl_difference_krw']):,.0f} KRW")
    bottom.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


async def period_rows(uow: Any, account: str, start: date, end: date) -> tuple[list[Any], list[Any], list[Any]]:
    """Return `account`'s orders of each day in [start, end], all its fills (`Fill`; earlier ones give the
    holdings at the start) and its settlements in [start, end], read in the unit of work `uow`."""
    orders = []
    day = start
    while day <= end:
        orders += await uow.orders.list_for_date(account, day)
        day += timedelta(days=1)
    fills_all = [s.fill for s in await uow.fills.list_for_account(account)]
    settlements = [
        s for s in await uow.settlements.list_all(account, with_summary=False) if start <= s.trading_date <= end
    ]
    return orders, fills_all, settlements
