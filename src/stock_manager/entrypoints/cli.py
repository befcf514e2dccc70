"""The ``stockbot`` command line: thin commands that build what they need and call the service layer.

Exit codes: 0 done; 1 error; 2 bad configuration or arguments; 3 stopped by (or refused because of) the
kill switch.
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from stock_manager.config.settings import Mode, Settings, load_settings
from stock_manager.domain.errors import ConfigurationError, StockbotError

app = typer.Typer(name="stockbot", help="Automated trading daemon for KRX stocks (KIS Open API).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbUrl = Annotated[str | None, typer.Option("--db-url", help="SQLAlchemy URL (default: DB_URL, else embedded SQLite).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@app.callback()
def _quiet_logs() -> None:
    # Commands print for people; structured log lines are opt-in (`run --json-logs`).
    from stock_manager.adapters.observability.logging import configure_logging

    configure_logging("CRITICAL")


def _settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)


def _run_async(make: Callable[[], Awaitable[int]]) -> int:
    # psycopg's async driver needs the selector event loop on Windows.
    if sys.platform == "win32":
        return asyncio.run(make(), loop_factory=asyncio.SelectorEventLoop)  # type: ignore[arg-type,unused-ignore]
    return asyncio.run(make())


def _guarded(make: Callable[[], Awaitable[int]]) -> None:
    from stock_manager.service_layer.daemon import KillSwitchActive

    try:
        code = _run_async(make)
    except KillSwitchActive as e:
        err.print(f"[bold red]Refused:[/] {e}")
        code = 3
    except ConfigurationError as e:
        err.print(f"[bold red]Configuration error:[/] {e}", markup=True)
        code = 2
    except StockbotError as e:
        err.print(f"[bold red]Error:[/] {type(e).__name__}: {e}")
        code = 1
    except KeyboardInterrupt:
        err.print("Interrupted.")
        code = 130
    except (SQLAlchemyError, OSError) as e:
        # A failure the adapters did not translate: say what, without a traceback or a URL.
        err.print(f"[bold red]Error:[/] {type(e).__name__}: {str(getattr(e, 'orig', None) or e).splitlines()[0]}")
        code = 1
    raise typer.Exit(code)


@app.command()
def run(
    mode: Annotated[Mode | None, typer.Option("--mode", help="sim (replayed real data), paper or live.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Sim: first day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Sim: last day, YYYY-MM-DD.")] = None,
    symbols: Annotated[str | None, typer.Option("--symbols", help="Sim: comma-separated KRX codes.")] = None,
    speed: Annotated[str | None, typer.Option("--speed", help="Sim: 'fastest' or a multiple of real time.")] = None,
    db_url: DbUrl = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="Fallback strategy parameters (YAML/JSON).")] = None,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="Log JSON lines to stderr.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Sim: start the period again on a new simulated account "
                                        "instead of resuming the journaled replay.")] = False,
) -> None:
    """Run the daemon: each session's open sequence, intraday trading and close."""
    def overrides() -> dict[str, Any]:
        try:
            return {"mode": mode, "sim_from": date.fromisoformat(date_from) if date_from else None,
                    "sim_to": date.fromisoformat(date_to) if date_to else None, "sim_symbols": symbols,
                    "sim_speed": speed, "db_url": db_url, "strategy_params_file": params_file}
        except ValueError as e:
            raise ConfigurationError(f"--from/--to must be YYYY-MM-DD: {e}") from None

    async def main() -> int:
        from stock_manager.adapters.observability.logging import configure_logging
        from stock_manager.entrypoints.bootstrap import build_daemon, open_storage, safe_url
        from stock_manager.entrypoints.views import render_period

        settings = _settings(**overrides())
        if settings.sim_from > settings.sim_to:
            raise ConfigurationError(f"--from {settings.sim_from} is after --to {settings.sim_to}")
        # The console shows the trading story (ConsoleNotifier); JSON lines on stderr are opt-in.
        configure_logging(settings.log_level if json_logs else "CRITICAL", json_lines=json_logs)
        async with open_storage(settings, upgrade=False) as storage:
            daemon = build_daemon(settings, storage, fresh=fresh)
            console.print(f"stockbot {settings.mode}: {', '.join(settings.sim_symbols)} "
                          f"{settings.sim_from} → {settings.sim_to}, speed {settings.sim_speed}, "
                          f"database {safe_url(settings.database_url)}")
            result = await daemon.run()
        if result.settlements or result.killed:
            render_period(result.settlements, console)
        else:
            console.print(f"Nothing left to trade: this replay was already traded to its end (account "
                          f"{result.account_id}; see `stockbot status`). `stockbot run --fresh` starts it again "
                          "on a new simulated account.")
        if result.killed:
            err.print(f"[bold red]Stopped by the kill switch:[/] {result.kill_reason}. "
                      f"{result.open_orders_cancelled} open order(s) cancelled. Run `stockbot resume` to clear it.")
            return 3
        return 0

    _guarded(main)


@app.command()
def status(db_url: DbUrl = None, as_json: JsonOut = False) -> None:
    """Show mode, positions, open orders, today's PnL and the last events."""
    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.views import print_json, render_status, status_data
        from stock_manager.service_layer.queries import status_report

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage:
            report = await status_report(storage.uow_factory)
        if as_json:
            print_json(status_data(report))
        else:
            render_status(report, console)
        return 0

    _guarded(main)


@app.command()
def kill(
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and shown.")] = "stockbot kill",
    wait_secs: Annotated[float, typer.Option("--wait", help="Seconds to wait for a running daemon to exit.")] = 5.0,
    db_url: DbUrl = None,
) -> None:
    """Set the kill switch: a running daemon sends nothing new, cancels open orders and exits."""
    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.control import set_kill_switch, wait_for_exit

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage:
            await set_kill_switch(storage.uow_factory, active=True, reason=reason)
            console.print(f"[bold red]Kill switch set[/] ({reason}). It stays set until `stockbot resume`.")
            exited = await wait_for_exit(storage.uow_factory, wait_secs)
        if exited is None:
            console.print("No running daemon was found.")
        elif exited:
            console.print("The running daemon has stopped.")
        else:
            console.print(f"[yellow]The daemon has not reported its exit within {wait_secs:g} s.[/]")
        return 0

    _guarded(main)


@app.command()
def resume(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db_url: DbUrl = None,
) -> None:
    """Clear the kill switch so that the daemon may start again (asks for confirmation)."""
    if not yes and not typer.confirm("Clear the kill switch and allow trading again?", default=False):
        console.print("Kill switch left set.")
        raise typer.Exit(1)

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.control import set_kill_switch

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage:
            await set_kill_switch(storage.uow_factory, active=False, reason="stockbot resume")
        console.print("Kill switch cleared.")
        return 0

    _guarded(main)


@app.command()
def recover(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what a restart would change.")] = False,
    as_json: JsonOut = False,
    db_url: DbUrl = None,
) -> None:
    """Compare the database with the broker: open orders, fills, positions; apply unless --dry-run."""
    async def main() -> int:
        from stock_manager.entrypoints.control import run_recovery

        return await run_recovery(_settings(db_url=db_url), dry_run=dry_run, as_json=as_json, console=console)

    _guarded(main)


@db_app.command("upgrade")
def db_upgrade(db_url: DbUrl = None) -> None:
    """Upgrade the database schema to the newest migration (``alembic upgrade head``)."""
    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage, safe_url

        settings = _settings(db_url=db_url)
        async with open_storage(settings, upgrade=True):
            pass
        console.print(f"Schema of {safe_url(settings.database_url)} is at the newest version.")
        return 0

    _guarded(main)


def main() -> None:
    """Console-script entry point."""
    app()
