"""The ``stockbot`` command line's application object and what every command shares: the typer apps, the
consoles, settings loading with secrets registered first, and the one outer handler that maps errors to exit
codes (0 done; 1 error; 2 bad configuration or arguments; 3 stopped by, or refused because of, the kill
switch; 128 + the signal's number when a signal stopped ``run`` in order: 130 SIGINT, 143 SIGTERM, 149
SIGBREAK, see `stop_signals`; never a traceback).
"""

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from stock_manager.config.settings import Settings, VenueName, load_settings
from stock_manager.domain.errors import ConfigurationError, StockbotError
from stock_manager.entrypoints.service import service_app

app = typer.Typer(
    name="stockbot",
    help="Automated trading daemon: KRX stocks (KIS Open API) and Bitcoin (Upbit).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
risk_app = typer.Typer(help="Risk limits: show them with today's usage, change one.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")
app.add_typer(service_app, name="service")
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbUrl = Annotated[str | None, typer.Option("--db-url", help="SQLAlchemy URL (default: DB_URL, else embedded SQLite).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
VenueOpt = Annotated[
    VenueName | None, typer.Option("--venue", help="kis (KRX stocks; the default, or VENUE) or upbit (Bitcoin).")
]


@app.callback()
def _quiet_logs() -> None:
    # Commands print for people; structured log lines are opt-in (`run --json-logs`). The events a command
    # records (`kill` records a CRITICAL one) are its own output, said in words: never a raw log line.
    from stock_manager.adapters.observability.logging import configure_logging

    configure_logging("CRITICAL", hide_events_on_console=True)


def settings(**overrides: Any) -> Settings:
    from stock_manager.entrypoints.bootstrap import register_secrets

    settings = load_settings(**overrides)
    register_secrets(settings)  # before anything can print or log them
    _warn_exposed_dotenv()
    return settings


def _warn_exposed_dotenv() -> None:
    # One line on stderr when .env holds a secret others can read (file mode, a git work tree).
    from pathlib import Path

    from stock_manager.config.secret_sources import exposed_dotenv_warning

    env_file = Settings.model_config.get("env_file")
    if warning := exposed_dotenv_warning(Path(env_file) if isinstance(env_file, str) else None):
        err.print(f"Warning: {warning}", markup=False, style="yellow")


def say(error: BaseException) -> str:
    # One line, secrets hidden, printed as it is (never read as console markup).
    from rich.markup import escape

    from stock_manager.adapters.observability.masking import mask

    return escape(mask(str(error)))


def run_async(make: Callable[[], Coroutine[Any, Any, int]]) -> int:
    # psycopg's async driver needs the selector event loop on Windows.
    if sys.platform == "win32":
        return asyncio.run(make(), loop_factory=asyncio.SelectorEventLoop)
    return asyncio.run(make())


def guarded(make: Callable[[], Coroutine[Any, Any, int]]) -> None:
    from stock_manager.service_layer.daemon import KillSwitchActive
    from stock_manager.service_layer.ports.lease import LeaseHeld

    try:
        code = run_async(make)
    except KillSwitchActive as e:
        err.print(f"[bold red]Refused:[/] {say(e)}")
        code = 3
    except LeaseHeld as e:
        err.print(f"[bold red]Refused:[/] {say(e)}")
        code = 2
    except ConfigurationError as e:
        err.print(f"[bold red]Configuration error:[/] {say(e)}", markup=True)
        code = 2
    except StockbotError as e:
        err.print(f"[bold red]Error:[/] {type(e).__name__}: {say(e)}")
        code = 1
    except KeyboardInterrupt:
        err.print("Interrupted.")
        code = 130
    except (SQLAlchemyError, OSError) as e:
        # A failure the adapters did not translate: say what, without a traceback or a URL.
        err.print(f"[bold red]Error:[/] {type(e).__name__}: {say(getattr(e, 'orig', None) or e).splitlines()[0]}")
        code = 1
    raise typer.Exit(code)


def venue_filter(settings: Settings) -> str | None:
    """Return the market (``krx``, ``upbit``) a reading command is limited to: the venue given by ``--venue`` or
    ``VENUE``; None (the latest daemon of any venue) when neither was given."""
    from stock_manager.entrypoints.bootstrap import venue_scope

    return venue_scope(settings.venue) if "venue" in settings.model_fields_set else None
