"""``stockbot service install|uninstall|status``: the daemon started at logon or boot, restarted after a failure.

Windows: a Task Scheduler task registered with ``schtasks /Create /XML``. Linux: a systemd user unit in
``~/.config/systemd/user``, enabled with ``systemctl --user enable --now``. What is registered is built by
`service_units` (pure); this module plans the steps (`install_steps`, `uninstall_steps`, `status_steps`, pure
too) and runs them. ``--print`` shows the plan and changes nothing. Every command runs without a shell, its
arguments as a list.
"""

import getpass
import os
import subprocess  # nosec B404  # fixed programs, list arguments, never a shell (run_steps)
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stock_manager.domain.errors import ConfigurationError, StockbotError
from stock_manager.entrypoints.service_units import ServiceSpec, service_spec, systemd_unit, task_xml

service_app = typer.Typer(
    help="Run the daemon on its own: started at logon/boot, restarted after a failure.", no_args_is_help=True
)
_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

ModeOption = Annotated[str | None, typer.Option("--mode", help="sim, paper or live (default: MODE).")]
NameOption = Annotated[str | None, typer.Option("--name", help="Task/unit name (default: stockbot-<mode>).")]
PrintOption = Annotated[bool, typer.Option("--print", help="Show what would be done; change nothing.")]


class ServiceCommandFailed(StockbotError):
    """A command of the operating system's service manager failed (its first line of output is kept)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do: write a file, remove one, or run a command (``args``, no shell)."""

    describe: str
    args: list[str] = field(default_factory=list)
    write: tuple[Path, str, str] | None = None  # path, text, encoding
    remove: Path | None = None
    may_fail: bool = False


def systemd_user_dir() -> Path:
    """Return the directory of systemd user units: ``$XDG_CONFIG_HOME/systemd/user`` (``~/.config`` default)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"


def windows_user() -> str:
    """Return the current Windows account as ``DOMAIN\\user`` (just ``user`` without a domain)."""
    domain = os.environ.get("USERDOMAIN", "")
    return f"{domain}\\{getpass.getuser()}" if domain else getpass.getuser()


def install_steps(
    spec: ServiceSpec, platform: str, *, task_file: Path, unit_dir: Path, user: str, at_boot: bool = False
) -> tuple[str, list[Step]]:
    """Return what is registered (task XML or unit text) and the steps that register and start it.

    Raises
    ------
    ConfigurationError
        On a platform other than Windows (``win32``) and Linux.
    """
    if platform == "win32":
        xml = task_xml(spec, user, at_boot=at_boot)
        return xml, [
            Step(f"write {task_file}", write=(task_file, xml, "utf-16")),
            Step(
                f"register the task {spec.name}",
                ["schtasks", "/Create", "/XML", str(task_file), "/TN", spec.name, "/F"],
            ),
            Step("start it now", ["schtasks", "/Run", "/TN", spec.name]),
        ]
    if platform.startswith("linux"):
        unit, path = systemd_unit(spec), unit_dir / f"{spec.name}.service"
        return unit, [
            Step(f"write {path}", write=(path, unit, "utf-8")),
            Step("reload systemd's user units", ["systemctl", "--user", "daemon-reload"]),
            Step(
                f"enable and start {spec.name}.service",
                ["systemctl", "--user", "enable", "--now", f"{spec.name}.service"],
            ),
        ]
    raise ConfigurationError(f"`stockbot service` supports Windows and Linux (systemd), not {platform}")


def uninstall_steps(name: str, platform: str, *, task_file: Path, unit_dir: Path) -> list[Step]:
    """Return the steps that stop (Linux) and unregister the service, and remove its file.

    On Windows a daemon already running is left running (stop it with ``stockbot kill``): ending the task
    would terminate it without its clean exit.
    """
    if platform == "win32":
        return [
            Step(f"unregister the task {name}", ["schtasks", "/Delete", "/TN", name, "/F"]),
            Step(f"remove {task_file}", remove=task_file),
        ]
    if platform.startswith("linux"):
        return [
            Step(
                f"stop and disable {name}.service",
                ["systemctl", "--user", "disable", "--now", f"{name}.service"],
                may_fail=True,
            ),
            Step(f"remove {unit_dir / f'{name}.service'}", remove=unit_dir / f"{name}.service"),
            Step("reload systemd's user units", ["systemctl", "--user", "daemon-reload"]),
        ]
    raise ConfigurationError(f"`stockbot service` supports Windows and Linux (systemd), not {platform}")


def status_steps(name: str, platform: str) -> list[Step]:
    """Return the command that shows the service's state (its exit code says whether it is installed)."""
    if platform == "win32":
        return [Step(f"query the task {name}", ["schtasks", "/Query", "/TN", name, "/V", "/FO", "LIST"])]
    if platform.startswith("linux"):
        return [
            Step(
                f"status of {name}.service",
                ["systemctl", "--user", "status", f"{name}.service", "--no-pager"],
                may_fail=True,
            )
        ]
    raise ConfigurationError(f"`stockbot service` supports Windows and Linux (systemd), not {platform}")


def run_steps(steps: list[Step], say: "Console") -> list[subprocess.CompletedProcess[str]]:
    """Do each step in order; stop at the first one that fails unless it `may_fail`.

    Raises
    ------
    ServiceCommandFailed
        Naming the step and the first line the command printed.
    """
    done = []
    for step in steps:
        if step.write is not None:
            path, text, encoding = step.write
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding=encoding)
        elif step.remove is not None:
            step.remove.unlink(missing_ok=True)
        else:
            try:
                result = subprocess.run(step.args, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603 - fixed program, list arguments, no shell  # nosec B603
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ServiceCommandFailed(f"{step.describe}: cannot run {step.args[0]}: {e}") from None
            done.append(result)
            if result.returncode != 0 and not step.may_fail:
                said = (result.stderr or result.stdout).strip().splitlines()
                raise ServiceCommandFailed(
                    f"{step.describe}: {' '.join(step.args)} exited with {result.returncode}"
                    + (f": {said[0]}" if said else "")
                )
        say.print(f"done: {step.describe}", markup=False)
    return done


def _show(steps: list[Step], say: Console) -> None:
    for step in steps:
        what = ("run: " + subprocess.list2cmdline(step.args)) if step.args else step.describe
        say.print(f"would {what}", markup=False)


def _spec(mode: str | None, name: str | None) -> ServiceSpec:
    # The service runs from here, with this directory's .env: check it as `run` would, before registering.
    from stock_manager.config.settings import load_settings
    from stock_manager.entrypoints.bootstrap import require_broker_mode_available
    from stock_manager.service_layer.params import read_params_file

    settings = load_settings(mode=mode)
    require_broker_mode_available(settings)
    if settings.strategy_params_file is not None:
        read_params_file(settings.strategy_params_file)
    return service_spec(str(settings.mode), Path.cwd(), name=name)


def _guard(action: Callable[[], int]) -> None:
    try:
        code = action()
    except ConfigurationError as e:
        _err.print(f"Configuration error: {e}", markup=False)
        code = 2
    except StockbotError as e:
        _err.print(f"Error: {e}", markup=False)
        code = 1
    raise typer.Exit(code)


def _task_file(name: str) -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("stockbot", appauthor=False)) / f"{name}.task.xml"


@service_app.command("install")
def install(
    mode: ModeOption = None,
    name: NameOption = None,
    print_only: PrintOption = False,
    at_boot: Annotated[
        bool, typer.Option("--at-boot", help="Windows: start at boot, logged on or not (run from an elevated prompt).")
    ] = False,
) -> None:
    """Register `stockbot run --mode <mode>` (from this directory, with its .env) and start it."""

    def action() -> int:
        spec = _spec(mode, name)
        text, steps = install_steps(
            spec,
            sys.platform,
            task_file=_task_file(spec.name),
            unit_dir=systemd_user_dir(),
            user=windows_user() if sys.platform == "win32" else "",
            at_boot=at_boot,
        )
        if print_only:
            _out.print(text, markup=False)
            _show(steps, _out)
            return 0
        run_steps(steps, _out)
        _out.print(
            f"{spec.name} runs `{subprocess.list2cmdline(spec.command_line)}` in {spec.working_dir}; "
            "`stockbot service status` shows it.",
            markup=False,
        )
        _audit(
            mode,
            "service_installed",
            f"service {spec.name} installed ({sys.platform}, "
            f"{'at boot' if at_boot else 'at logon'}) in {spec.working_dir}",
            {"name": spec.name},
        )
        return 0

    _guard(action)


@service_app.command("uninstall")
def uninstall(mode: ModeOption = None, name: NameOption = None, print_only: PrintOption = False) -> None:
    """Unregister the service (Linux: stop it first; Windows: a running daemon is left to `stockbot kill`)."""

    def action() -> int:
        task = name or f"stockbot-{mode or _default_mode()}"
        steps = uninstall_steps(task, sys.platform, task_file=_task_file(task), unit_dir=systemd_user_dir())
        if print_only:
            _show(steps, _out)
            return 0
        run_steps(steps, _out)
        _audit(mode, "service_uninstalled", f"service {task} uninstalled ({sys.platform})", {"name": task})
        return 0

    _guard(action)


@service_app.command("status")
def status(mode: ModeOption = None, name: NameOption = None, print_only: PrintOption = False) -> None:
    """Show whether the service is registered and running, as the operating system reports it."""

    def action() -> int:
        task = name or f"stockbot-{mode or _default_mode()}"
        steps = status_steps(task, sys.platform)
        if print_only:
            _show(steps, _out)
            return 0
        try:
            result = subprocess.run(steps[0].args, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603 - fixed program, list arguments, no shell  # nosec B603
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ServiceCommandFailed(f"{steps[0].describe}: cannot run {steps[0].args[0]}: {e}") from None
        _out.print((result.stdout or result.stderr).rstrip(), markup=False)
        return 0 if result.returncode == 0 else 1

    _guard(action)


def _audit(mode: str | None, kind: str, message: str, payload: dict[str, str]) -> None:
    # The audit event (who, when) of an install or uninstall, after it is done: a database that cannot take it
    # is said on stderr, the service stays as registered.
    from stock_manager.config.settings import load_settings
    from stock_manager.entrypoints.audit import record_control_action_now
    from stock_manager.entrypoints.bootstrap import open_storage
    from stock_manager.entrypoints.cli_app import run_async

    async def record() -> int:
        async with open_storage(load_settings(mode=mode), upgrade=False) as storage:
            await record_control_action_now(storage.uow_factory, kind=kind, message=message, payload=payload)
        return 0

    try:
        run_async(record)
    except Exception as e:  # the service is registered; only its record failed
        from stock_manager.adapters.observability.masking import mask

        _err.print(f"Warning: the {kind} event was not recorded: {mask(str(e)).splitlines()[0]}", markup=False)


def _default_mode() -> str:
    from stock_manager.config.settings import load_settings

    return str(load_settings().mode)
