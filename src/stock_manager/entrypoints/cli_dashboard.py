"""The ``stockbot dashboard`` command: serve the web dashboard, or set its password."""

from pathlib import Path
from typing import Annotated

import typer

from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli_app import DbUrl, app, console, guarded
from stock_manager.entrypoints.cli_app import settings as _settings

#: The ``.env`` line holding the password's hash.
PASSWORD_SETTING = "DASHBOARD_PASSWORD_HASH"  # noqa: S105 - a setting's name, not a password  # nosec B105


@app.command()
def dashboard(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to bind (default DASHBOARD_HOST, 127.0.0.1); 0.0.0.0 serves the LAN and needs a password.",
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port (default DASHBOARD_PORT, 8765).")
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Pages only: hide and refuse the kill and resume controls.")
    ] = False,
    set_password: Annotated[
        bool,
        typer.Option(
            "--set-password",
            help="Ask for a new password and store its argon2 hash in ./.env (DASHBOARD_PASSWORD_HASH); serve nothing.",
        ),
    ] = False,
    db_url: DbUrl = None,
) -> None:
    """Serve the dashboard: overview, orders, events, risk, reports, parameters and the kill switch."""
    if set_password:
        _set_password(Path(".env"))
        return

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage, safe_url
        from stock_manager.entrypoints.dashboard.app import dashboard_config
        from stock_manager.entrypoints.dashboard.server import bind, check_binding, serve, url_of

        settings = _settings(db_url=db_url)
        config = dashboard_config(settings, host=host, port=port, read_only=read_only or None)
        check_binding(config)
        async with open_storage(settings, upgrade=False):
            pass  # the embedded database is created or upgraded; PostgreSQL must be current
        sock = bind(config)
        login = "password required" if config.password_hash else "no password (this computer only)"
        console.print(
            f"Dashboard on {url_of(config, sock.getsockname()[1])} · database "
            f"{safe_url(settings.database_url)} · {login}"
            f"{' · read-only' if config.read_only else ''}. Ctrl+C stops it."
        )
        await serve(config, sock)
        return 0

    guarded(main)


def _set_password(env_file: Path) -> None:
    from stock_manager.entrypoints.dashboard.security import hash_password

    password = typer.prompt("New dashboard password (at least 8 characters)", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except ValueError as e:
        console.print(f"[bold red]Refused:[/] {e}")
        raise typer.Exit(2) from None
    write_setting(env_file, PASSWORD_SETTING, hashed)
    console.print(
        f"The password's argon2 hash is stored in {env_file.resolve()} ({PASSWORD_SETTING}); restart the "
        "dashboard to use it."
    )


def write_setting(env_file: Path, name: str, value: str) -> None:
    """Set `name` to `value` in `env_file`: replace its line, or append one; the value single-quoted (no
    ``$`` expansion).

    Raises
    ------
    ConfigurationError
        If `value` holds a single quote or a line break.
    """
    if "'" in value or "\n" in value:
        raise ConfigurationError(f"{name}: the value cannot hold a quote or a line break")
    line = f"{name}='{value}'"
    lines = env_file.read_text(encoding="utf-8").splitlines() if env_file.exists() else []
    replaced = [line if existing.split("=", 1)[0].strip() == name else existing for existing in lines]
    if line not in replaced:
        replaced.append(line)
    env_file.write_text("\n".join(replaced) + "\n", encoding="utf-8")
