"""Administrative commands of the ``stockbot`` command line: risk limits, the database schema, the standalone
exchange simulator."""

from datetime import date
from typing import Annotated

import typer

from stock_manager.config.settings import VenueName
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli_app import (
    DbUrl,
    JsonOut,
    VenueOpt,
    app,
    console,
    db_app,
    guarded,
    risk_app,
    venue_filter,
)
from stock_manager.entrypoints.cli_app import settings as _settings


@risk_app.command("show")
def risk_show(db_url: DbUrl = None, as_json: JsonOut = False, venue: VenueOpt = None) -> None:
    """Print the risk limits in force, where each comes from, and today's usage of each (the latest daemon's
    account; the venue's with --venue)."""

    async def main() -> int:
        from stock_manager.adapters.clock import SystemClock
        from stock_manager.entrypoints.bootstrap import open_storage, risk_limits, venue_profile
        from stock_manager.entrypoints.risk_views import render_risk, risk_data
        from stock_manager.entrypoints.views import print_json
        from stock_manager.service_layer.views.risk import risk_report

        settings = _settings(db_url=db_url, venue=venue)
        async with open_storage(settings, upgrade=False) as storage:
            report = await risk_report(
                storage.uow_factory,
                risk_limits(settings),
                SystemClock().now(),
                venue_profile(settings).trading_day,
                venue=venue_filter(settings),
            )
        if as_json:
            print_json(risk_data(report))
        else:
            render_risk(report, console)
        return 0

    guarded(main)


@risk_app.command("set")
def risk_set(
    name: Annotated[str, typer.Argument(help="The limit, as `stockbot risk show` names it.")],
    value: Annotated[str, typer.Argument(help="A number, true/false, or 'off'.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the limit's history.")] = "stockbot risk set",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db_url: DbUrl = None,
) -> None:
    """Change one risk limit in the database (kept with its history); it applies from the next session."""
    if not yes and not typer.confirm(f"Set risk limit {name} to {value}?", default=False):
        console.print("Risk limit left unchanged.")
        raise typer.Exit(1)

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.control import change_risk_limit

        settings = _settings(db_url=db_url)
        async with open_storage(settings, upgrade=False) as storage:
            change = await change_risk_limit(storage.uow_factory, settings, name, value, reason)
        console.print(
            f"Risk limit {name}: {change.old_value or 'off'} → {change.new_value or 'off'}; it applies "
            "from the next session."
        )
        return 0

    guarded(main)


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

    guarded(main)


@app.command("exchange-sim")
def exchange_sim(
    venue: Annotated[
        VenueName,
        typer.Option("--venue", help="kis (a KIS Open API-compatible exchange) or upbit (an Upbit-compatible one)."),
    ] = VenueName.KIS,
    mode: Annotated[str, typer.Option("--mode", help="KIS environment to play: paper (VTS) or real.")] = "paper",
    rest_port: Annotated[int, typer.Option("--rest-port", help="REST port on 127.0.0.1 (0: any free).")] = 0,
    ws_port: Annotated[int, typer.Option("--ws-port", help="WebSocket port on 127.0.0.1 (0: any free).")] = 0,
    date_from: Annotated[str | None, typer.Option("--from", help="First replayed day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last replayed day, YYYY-MM-DD.")] = None,
    symbols: Annotated[str | None, typer.Option("--symbols", help="Comma-separated KRX codes.")] = None,
    speed: Annotated[str, typer.Option("--speed", help="'fastest' or market seconds per second.")] = "60",
    fresh: Annotated[bool, typer.Option("--fresh", help="Start the period again on a new account.")] = False,
) -> None:
    """Serve a KIS Open API- or Upbit-compatible exchange on 127.0.0.1 replaying real data (Ctrl+C stops it).

    Upbit serves REST and both WebSockets on one port (--rest-port)."""

    async def main() -> int:
        from stock_manager.adapters.broker.kis_sim.standalone import ExchangeSimOptions, check_options, run_exchange_sim

        if mode not in ("paper", "real"):
            raise ConfigurationError(f"--mode must be paper or real, was {mode!r}")
        check_options(rest_port=rest_port, ws_port=ws_port, speed=speed)
        try:
            overrides = {
                "sim_from": date.fromisoformat(date_from) if date_from else None,
                "sim_to": date.fromisoformat(date_to) if date_to else None,
                "sim_symbols": symbols,
                "sim_speed": speed,
            }
        except ValueError as e:
            raise ConfigurationError(f"--from/--to must be YYYY-MM-DD: {e}") from None
        settings = _settings(**overrides, venue=venue)
        if settings.sim_from > settings.sim_to:
            raise ConfigurationError(f"--from {settings.sim_from} is after --to {settings.sim_to}")
        if venue is VenueName.UPBIT:
            from stock_manager.adapters.broker.upbit_sim.standalone import UpbitSimOptions, run_upbit_exchange_sim

            if ws_port:
                raise ConfigurationError(
                    "--ws-port is KIS's: the Upbit simulator serves REST and WebSockets on one port (--rest-port)"
                )
            return await run_upbit_exchange_sim(
                UpbitSimOptions(
                    port=rest_port,
                    date_from=settings.sim_from,
                    date_to=settings.sim_to,
                    symbols=settings.sim_symbols,
                    speed=settings.sim_speed_factor,
                    state_dir=settings.data_dir / "upbit-exchange-sim",
                    fresh=fresh,
                    start_cash_krw=settings.sim_start_cash_krw,
                ),
                console.print,
            )
        options = ExchangeSimOptions(
            mode="real" if mode == "real" else "paper",
            rest_port=rest_port,
            ws_port=ws_port,
            date_from=settings.sim_from,
            date_to=settings.sim_to,
            symbols=settings.sim_symbols,
            speed=settings.sim_speed_factor,
            state_dir=settings.data_dir / "kis-exchange-sim",
            fresh=fresh,
        )
        return await run_exchange_sim(options, console.print)

    guarded(main)
