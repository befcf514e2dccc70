"""The ``stockbot`` command line: thin commands that build what they need and call the service layer.

The trading commands are here (run, status, kill, resume, recover, report); the administrative ones (risk,
db, exchange-sim) in `cli_admin`, the service ones in `service`, the credential store's in `cli_secrets`.
Exit codes: see `cli_app`.
"""

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from stock_manager.config.settings import Mode, OrderMode, VenueName
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints import research_cli, research_divergence
from stock_manager.entrypoints.cli_app import DbUrl, JsonOut, VenueOpt, app, console, err, guarded, say, venue_filter
from stock_manager.entrypoints.cli_app import settings as _settings


@app.command()
def run(
    mode: Annotated[Mode | None, typer.Option("--mode", help="sim (replayed real data), paper or live.")] = None,
    venue: VenueOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Sim: first day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Sim: last day, YYYY-MM-DD.")] = None,
    symbols: Annotated[
        str | None,
        typer.Option("--symbols", help="Sim: comma-separated KRX codes (Upbit: KRW markets such as KRW-BTC)."),
    ] = None,
    speed: Annotated[str | None, typer.Option("--speed", help="Sim: 'fastest' or a multiple of real time.")] = None,
    db_url: DbUrl = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="Fallback strategy parameters (YAML/JSON).")
    ] = None,
    json_logs: Annotated[
        bool,
        typer.Option("--json-logs", help="Log JSON lines to stderr (they always go to the daily file in LOG_DIR)."),
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Sim: start the period again on a new simulated account instead of resuming the journaled replay; "
            "Upbit paper: archive the paper account and open a new one.",
        ),
    ] = False,
    order_mode: Annotated[
        OrderMode | None,
        typer.Option(
            "--order-mode",
            help="send; observe (record would-be orders, send nothing); stop (send nothing new, keep monitoring).",
        ),
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard", help="Also serve the web dashboard (DASHBOARD_HOST, DASHBOARD_PORT) while the daemon runs."
        ),
    ] = False,
) -> None:
    """Run the daemon: each session's open sequence, intraday trading and close."""

    def overrides() -> dict[str, Any]:
        try:
            return {
                "mode": mode,
                "venue": venue,
                "sim_from": date.fromisoformat(date_from) if date_from else None,
                "sim_to": date.fromisoformat(date_to) if date_to else None,
                "sim_symbols": symbols,
                "sim_speed": speed,
                "db_url": db_url,
                "strategy_params_file": params_file,
                "order_mode": order_mode,
            }
        except ValueError as e:
            raise ConfigurationError(f"--from/--to must be YYYY-MM-DD: {e}") from None

    async def main() -> int:
        from stock_manager.adapters.observability.logging import configure_logging
        from stock_manager.entrypoints.bootstrap import (
            build_daemon,
            open_observability,
            open_storage,
            open_venue,
            require_broker_mode_available,
            safe_url,
        )
        from stock_manager.entrypoints.views import render_period

        settings = _settings(**overrides())
        if settings.sim_from > settings.sim_to:
            raise ConfigurationError(f"--from {settings.sim_from} is after --to {settings.sim_to}")
        from stock_manager.entrypoints.preflight import check_before_run
        from stock_manager.entrypoints.run_lease import holding_run_lease
        from stock_manager.entrypoints.stop_signals import StopRequest, StopSignals, flush_logs

        check_before_run(
            settings,
            fresh=fresh,
            say=lambda text: console.print(text, markup=False),
            warn=lambda text: err.print(f"Warning: {text}", markup=False, style="yellow"),
        )
        # The console shows the trading story (ConsoleNotifier) and errors the events do not already show;
        # every line at LOG_LEVEL goes to the day's JSON file. JSON lines on stderr are opt-in.
        log_file = configure_logging(
            settings.log_level,
            json_lines=json_logs,
            log_dir=settings.log_dir,
            console_level=settings.log_level if json_logs else "ERROR",
            hide_events_on_console=not json_logs,
        )
        require_broker_mode_available(settings)  # before anything is opened: name every missing setting
        from stock_manager.entrypoints.dashboard.server import serving_with_daemon

        if settings.ai_journal_after_close or settings.ai_propose_nightly:
            from stock_manager.entrypoints.ai_jobs import require_ai_settings

            require_ai_settings(settings)
        stop = StopRequest()
        stop_signals = StopSignals(stop, lambda text: err.print(text, markup=False, style="yellow"))
        with stop_signals.installed(asyncio.get_running_loop()):
            async with (
                holding_run_lease(settings),
                open_storage(settings, upgrade=False) as storage,
                serving_with_daemon(settings, enabled=dashboard, say=console.print),
                open_observability(settings) as obs,
                open_venue(settings, fresh=fresh) as venue,
            ):
                daemon = build_daemon(settings, storage, venue, notifier=obs.notifier, metrics=obs.metrics)
                stop.bind(daemon.request_stop)  # a signal heard while starting applies now
                period = (
                    f"{settings.sim_from} → {settings.sim_to}, speed {settings.sim_speed}, "
                    f"via {settings.sim_protocol if settings.venue is VenueName.KIS else settings.venue}"
                    if settings.mode is Mode.SIM
                    else "sessions by the venue's calendar"
                )
                console.print(
                    f"stockbot {settings.venue} {settings.mode}: {', '.join(settings.sim_symbols)} {period}, "
                    f"orders {settings.order_mode}, database {safe_url(settings.database_url)}"
                )
                extras = [
                    f"log {log_file}",
                    f"Slack {'on' if obs.slack else 'off'}",
                    f"metrics {obs.metrics_url or 'off'}",
                    _ai_jobs_said(settings),
                ]
                console.print(", ".join(extras), style="dim")
                result = await daemon.run()
        flush_logs()
        if result.settlements or result.killed or result.stopped:
            render_period(result.settlements, console)
            jobs = daemon.after_close
            if jobs is not None:
                console.print(
                    f"AI jobs: {len(getattr(jobs, 'journals', []))} journal(s), "
                    f"{len(getattr(jobs, 'draft_ids', []))} parameter draft(s) "
                    "(`stockbot ai journal show`, `stockbot params drafts`)"
                )
        else:
            from stock_manager.adapters.notifications.display import account

            console.print(
                f"Nothing left to trade: this replay was already traded to its end (account "
                f"{account(result.account_id)}; see `stockbot status`). `stockbot run --fresh` starts it "
                "again on a new simulated account."
            )
        if result.stopped:
            left = f" {result.open_orders_left} order(s) left working at the broker." if result.open_orders_left else ""
            err.print(
                f"Stopped in order: {result.stopped}; nothing was sent after it.{left} `stockbot run` resumes "
                f"(recovery reconciles with the broker first). Exit code {stop_signals.code}."
            )
            return stop_signals.code
        if result.killed:
            left = f" {result.open_orders_left} order(s) left working at the broker." if result.open_orders_left else ""
            flattened = f" {result.flatten_orders} flatten order(s) sent." if result.flatten_orders else ""
            err.print(
                f"[bold red]Stopped by the kill switch:[/] {result.kill_reason}. "
                f"{result.open_orders_cancelled} open order(s) cancelled.{flattened}{left} "
                "Run `stockbot resume` to clear it."
            )
            return 3
        return 0

    guarded(main)


def _ai_jobs_said(settings: Any) -> str:
    jobs = [
        name
        for name, on in (
            ("journal after each close", settings.ai_journal_after_close),
            (f"proposals every {settings.ai_propose_every_sessions} session(s)", settings.ai_propose_nightly),
        )
        if on
    ]
    return f"AI jobs {' and '.join(jobs)} ({settings.ai_provider})" if jobs else "AI jobs off"


@app.command()
def status(db_url: DbUrl = None, as_json: JsonOut = False, venue: VenueOpt = None) -> None:
    """Show mode, positions, open orders, today's PnL and the last events (of the latest daemon; of the
    venue's with --venue)."""

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.views import print_json, render_status, status_data
        from stock_manager.service_layer.views.status import status_report

        settings = _settings(db_url=db_url, venue=venue)
        async with open_storage(settings, upgrade=False) as storage:
            report = await status_report(storage.uow_factory, venue=venue_filter(settings))
        if as_json:
            print_json(status_data(report))
        else:
            render_status(report, console)
        return 0

    guarded(main)


@app.command()
def kill(
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and shown.")] = "stockbot kill",
    cancel_open: Annotated[bool, typer.Option("--cancel-open", help="Also cancel every working order.")] = False,
    flatten: Annotated[
        bool,
        typer.Option(
            "--flatten",
            help="Also cancel working orders and sell every position at market (only while the session takes orders).",
        ),
    ] = False,
    wait_secs: Annotated[float, typer.Option("--wait", help="Seconds to wait for a running daemon to exit.")] = 5.0,
    db_url: DbUrl = None,
    venue: Annotated[
        VenueName | None,
        typer.Option("--venue", help="Stop only this venue's daemon (kis or upbit); without it, every daemon."),
    ] = None,
) -> None:
    """Set the kill switch: a running daemon sends nothing new (and, if asked, cancels open orders or
    flattens), then exits. The switch stays set until `stockbot resume`."""
    action = "flatten" if flatten else "cancel_open" if cancel_open else "halt"

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage, safe_url, venue_scope
        from stock_manager.entrypoints.control import daemon_running, set_kill_switch, wait_for_exit

        scope = venue_scope(venue) if venue is not None else "*"
        whose = "every daemon" if venue is None else f"the {venue} daemon"

        try:
            settings = _settings(db_url=db_url)
        except ConfigurationError as e:  # a mistake in .env must not keep the switch from being set
            from stock_manager.config.fallback import location_settings

            settings = location_settings(db_url)
            err.print(
                f"Warning: {say(e)}; setting the kill switch on {safe_url(settings.database_url)} anyway",
                style="yellow",
            )
        async with open_storage(settings, upgrade=False) as storage:
            running = await daemon_running(storage.uow_factory, scope)
            await set_kill_switch(storage.uow_factory, active=True, reason=reason, action=action, scope=scope)
            console.print(
                f"[bold red]Kill switch set[/] for {whose} ({reason}; {action}). It stays set until `stockbot resume`."
            )
            exited = await wait_for_exit(storage.uow_factory, wait_secs, was_running=running, scope=scope)
        if exited is None:
            console.print("No running daemon was found.")
        elif exited:
            console.print(
                "The running daemon has stopped." if venue is not None else "Every running daemon has stopped."
            )
        else:
            console.print(f"[yellow]A daemon has not reported its exit within {wait_secs:g} s.[/]")
        return 0

    guarded(main)


@app.command()
def resume(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db_url: DbUrl = None,
    venue: Annotated[
        VenueName | None, typer.Option("--venue", help="Clear only this venue's switch; without it, every switch.")
    ] = None,
) -> None:
    """Clear the kill switch so that the daemon may start again (asks for confirmation)."""
    if not yes and not typer.confirm("Clear the kill switch and allow trading again?", default=False):
        console.print("Kill switch left set.")
        raise typer.Exit(1)

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage, venue_scope
        from stock_manager.entrypoints.control import set_kill_switch

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage:
            scopes = await set_kill_switch(
                storage.uow_factory,
                active=False,
                reason="stockbot resume",
                scope=venue_scope(venue) if venue is not None else "*",
            )
        named = [s for s in scopes if s != "*"]
        console.print("Kill switch cleared" + (f" ({', '.join(named)})." if named else "."))
        return 0

    guarded(main)


@app.command()
def recover(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what a restart would change.")] = False,
    as_json: JsonOut = False,
    db_url: DbUrl = None,
    venue: VenueOpt = None,
) -> None:
    """Compare the database with the broker (of --venue): open orders, fills, positions; apply unless --dry-run."""

    async def main() -> int:
        from stock_manager.entrypoints.control import run_recovery

        return await run_recovery(
            _settings(db_url=db_url, venue=venue), dry_run=dry_run, as_json=as_json, console=console
        )

    guarded(main)


@app.command()
def report(
    day: Annotated[str | None, typer.Option("--date", help="Session, YYYY-MM-DD (default: the last settled).")] = None,
    as_json: JsonOut = False,
    png: Annotated[Path | None, typer.Option("--png", help="Also write the equity curve to this PNG file.")] = None,
    db_url: DbUrl = None,
    venue: VenueOpt = None,
) -> None:
    """Show a session's daily report: realized and unrealized PnL, costs, trades, return, drawdown."""

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.views import print_json, render_report, report_data
        from stock_manager.service_layer.views.reports import load_daily_report

        try:
            trading_date = date.fromisoformat(day) if day else None
        except ValueError:
            raise ConfigurationError(f"--date must be YYYY-MM-DD, got {day!r}") from None
        settings = _settings(db_url=db_url, venue=venue)
        async with open_storage(settings, upgrade=False) as storage:
            found = await load_daily_report(storage.uow_factory, trading_date, venue=venue_filter(settings))
        if found.report is None:
            if found.account_id is None:
                console.print("No daemon has run against this database yet: there is nothing to report.")
            else:
                span = f"{found.settled[0]} → {found.settled[-1]}" if found.settled else "none yet"
                console.print(
                    f"No daily settlement for {trading_date or 'any session'} on account "
                    f"{found.account_id} (settled sessions: {span})."
                )
            return 1
        if png is not None:
            from stock_manager.adapters.notifications.charts import equity_curve_png

            png.write_bytes(equity_curve_png(found.report.equity_curve))
        if as_json:
            print_json(report_data(found.report))
        else:
            render_report(found.report, console)
            if png is not None:
                console.print(f"Equity curve written to {png}.")
        return 0

    guarded(main)


# Research (backtest → optimize → paper → divergence): the commands live in research_cli and research_divergence,
# which import nothing heavy until one runs.
app.command()(research_cli.backtest)
app.command()(research_cli.optimize)
app.command()(research_divergence.divergence)


def main() -> None:
    """Console-script entry point."""
    app()


# Registered by importing them: the administrative, dashboard and credential-store commands, and `stockbot ai` /
# `stockbot params`.
from stock_manager.entrypoints import cli_admin, cli_ai, cli_dashboard, cli_secrets  # noqa: E402, F401
