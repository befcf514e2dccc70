"""``stockbot divergence``: what the daemon traded (sim or paper) against the backtest of the same days, trade by
trade; KRX's MA cross (`research.divergence_run`) or, with ``--venue upbit``, the Bitcoin strategies
(`research.divergence_upbit`, built by `research_upbit.divergence_plan`).

Thin like the rest of the CLI: read options, build the settings, call `stock_manager.research`, print. Bad input
(a bad date, a period without the venue's orders, an unknown strategy) is one line and exit 2
(`cli_app.guarded`).
"""

from pathlib import Path
from typing import Annotated

import typer

from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli_app import VenueOpt
from stock_manager.entrypoints.research_cli import DbUrl, JsonOut, Name, OutDir, Record, Symbols, _day


def divergence(
    date_from: Annotated[str, typer.Option("--from", help="First session the daemon traded, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last session, YYYY-MM-DD.")],
    symbols: Symbols = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="The daemon's account (default: the only one with orders in the period)."),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params-file",
            help="Parameters on days without an ACTIVE strategy_params row (default: the built-in defaults).",
        ),
    ] = None,
    out: OutDir = Path("divergence-out"),
    record: Record = False,
    name: Name = None,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
    venue: VenueOpt = None,
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies", help="--venue upbit: comma-separated strategies (default: those on the period's orders)."
        ),
    ] = None,
) -> None:
    """Compare what the daemon traded (sim or paper) with the backtest of the same days, trade by trade
    (--venue upbit: the Bitcoin strategies, per strategy and overall, on the bundled KRW-BTC candles)."""
    from stock_manager.entrypoints.cli_app import console, guarded
    from stock_manager.entrypoints.cli_app import settings as app_settings

    async def main() -> int:
        from stock_manager.config.settings import VenueName
        from stock_manager.entrypoints.bootstrap import open_storage, risk_limits
        from stock_manager.entrypoints.research_cli import read_params
        from stock_manager.research.divergence_run import divergence_report, render_divergence, write_divergence

        start, end = _day(date_from, "--from"), _day(date_to, "--to")
        assert start is not None and end is not None
        if start > end:
            raise ConfigurationError(f"--from {start} is after --to {end}")
        settings = app_settings(db_url=db_url, **({"venue": venue} if venue is not None else {}))
        upbit = settings.venue is VenueName.UPBIT
        if strategies and not upbit:
            raise ConfigurationError("--strategies is available with --venue upbit (KRX runs the MA cross)")
        wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else list(settings.sim_symbols)
        async with open_storage(settings, upgrade=False) as storage:
            if upbit:
                from stock_manager.entrypoints.research_upbit import upbit_divergence
                from stock_manager.research.divergence_upbit_view import render_upbit_divergence

                report = await upbit_divergence(
                    settings,
                    storage,
                    (start, end),
                    strategies=strategies,
                    symbols=symbols,
                    account=account,
                    params_file=params_file,
                )
                render = render_upbit_divergence
            else:
                report = await divergence_report(
                    storage,
                    start,
                    end,
                    wanted,
                    account=account,
                    settings=settings,
                    fallback=read_params(params_file),
                    limits=risk_limits(settings),
                )
                render = render_divergence
            paths = write_divergence(report, out)
            if record:
                from stock_manager.domain.strategies.ma_cross import STRATEGY_ID
                from stock_manager.research.store import record_run

                run_id = await record_run(
                    storage.engine,
                    name=name or f"divergence {start}..{end}",
                    ts_created=SystemClock().now(),
                    kind="DIVERGENCE",
                    period=(start, end),
                    symbols=report["symbols"],
                    params={"by_day": report["params_by_day"]},
                    config={"account": report["account"], **({"venue": "upbit"} if upbit else {})},
                    summary={k: v for k, v in report.items() if k != "params_by_day"},
                    strategy_id=",".join(report["strategies"])[:64] if upbit else STRATEGY_ID,
                )
                console.print(f"recorded as divergence run {run_id}")
        if as_json:
            from stock_manager.research.report import jsonable

            console.print_json(data=jsonable(report))
        else:
            render(report, console)
            console.print(f"outputs: {', '.join(str(p) for p in paths)}", style="dim")
        return 0

    guarded(main)
