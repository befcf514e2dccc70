"""``stockbot secrets list|set|rotate|delete``: the keys in the OS credential store instead of ``.env``.

Values are read from a hidden prompt (or standard input with ``--stdin``), never from an argument, and are
never printed: ``list`` shows names and where each comes from.
"""

import sys
from typing import Annotated

import typer

from stock_manager.entrypoints.cli_app import app, console, err, guarded
from stock_manager.entrypoints.cli_app import settings as _settings

secrets_app = typer.Typer(
    help="Keys and tokens in the OS credential store (never in .env): list, set, rotate, delete.", no_args_is_help=True
)
app.add_typer(secrets_app, name="secrets")

Name = Annotated[
    str,
    typer.Argument(
        help="KIS_APP_KEY, KIS_APP_SECRET, UPBIT_ACCESS_KEY, UPBIT_SECRET_KEY, SLACK_BOT_TOKEN or AI_API_KEY."
    ),
]
Stdin = Annotated[bool, typer.Option("--stdin", help="Read the value from standard input instead of a hidden prompt.")]


def _read_value(name: str, from_stdin: bool) -> str:
    from stock_manager.entrypoints.credentials import checked_value

    if from_stdin:
        return checked_value(name, sys.stdin.read())
    return checked_value(
        name,
        typer.prompt(f"{name} (hidden)", hide_input=True, confirmation_prompt=True, default="", show_default=False),
    )


@secrets_app.command("list")
def secrets_list() -> None:
    """Show each secret's name and where it comes from (environment, .env line, keyring, missing); no value."""

    async def main() -> int:
        from stock_manager.entrypoints.credentials import describe_store, origins

        settings = _settings()
        found, problem = origins(settings)
        console.print(f"Credential store: {describe_store(settings)}", markup=False)
        width = max(len(o.name) for o in found)
        for origin in found:
            note = " (the keyring also holds one, unused)" if origin.shadows_keyring else ""
            console.print(f"{origin.name:<{width}}  {origin.source}{note}", markup=False)
        if problem:
            err.print(f"Warning: {problem}", markup=False, style="yellow")
        return 0

    guarded(main)


def _store(name: str, from_stdin: bool, *, rotate: bool) -> None:
    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.credentials import secret_name, store_secret

        settings = _settings()
        checked = secret_name(name)
        value = _read_value(checked, from_stdin)
        async with open_storage(settings, upgrade=False) as storage:
            change = await store_secret(settings, storage.uow_factory, checked, value, rotate=rotate)
        done = "rotated" if rotate else "stored"
        console.print(f"{checked} {done} in the OS credential store (service {change.service!r}).", markup=False)
        if change.tokens_dropped:
            console.print(
                f"{change.tokens_dropped} cached KIS access token(s) dropped: the daemon logs in with the "
                "new key at its next start.",
                markup=False,
            )
        elif rotate:
            console.print("The daemon uses the new value from its next start.", markup=False)
        if change.shadowed_by:
            err.print(
                f"Warning: {checked} is also set in {change.shadowed_by}, which wins over the credential "
                "store: delete it there.",
                markup=False,
                style="yellow",
            )
        return 0

    guarded(main)


@secrets_app.command("set")
def secrets_set(name: Name, from_stdin: Stdin = False) -> None:
    """Store a secret in the OS credential store (asked for with a hidden prompt)."""
    _store(name, from_stdin, rotate=False)


@secrets_app.command("rotate")
def secrets_rotate(name: Name, from_stdin: Stdin = False) -> None:
    """Replace a secret (hidden prompt); a KIS key also drops the cached access tokens issued with the old one."""
    _store(name, from_stdin, rotate=True)


@secrets_app.command("delete")
def secrets_delete(name: Name) -> None:
    """Remove a secret from the OS credential store."""

    async def main() -> int:
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.credentials import delete_secret, secret_name

        settings = _settings()
        checked = secret_name(name)
        async with open_storage(settings, upgrade=False) as storage:
            deleted = await delete_secret(settings, storage.uow_factory, checked)
        console.print(
            f"{checked} deleted from the OS credential store."
            if deleted
            else f"{checked} is not in the OS credential store.",
            markup=False,
        )
        return 0 if deleted else 1

    guarded(main)
