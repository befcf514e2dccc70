"""What ``stockbot service install`` registers, as pure functions: a Windows Task Scheduler task (XML) and a
systemd user unit (text). No operating-system call here; `entrypoints.service` registers them.

Both run ``stockbot run --mode <mode>`` in the directory holding ``.env`` and start it again when it stops
unexpectedly, but never in a loop after a refusal that needs the owner (exit code 2: configuration; 3: the
kill switch):

- **Windows**: started at logon (or at boot), then checked every `CHECK_INTERVAL` (a repetition of the
  trigger): a daemon that is still running is left alone (one instance at a time; the daemon lease refuses
  a second anyway), one that stopped is started again. Task Scheduler's restart-on-failure covers a start
  that fails. A refused start (exit 2 or 3) writes nothing and is tried again at the next check, so after
  ``stockbot resume`` the daemon comes back by itself. No time limit (the default would stop it after 72 h).
- **Linux**: ``Restart=on-failure`` after `RESTART_SECS`, except for exit codes 2 and 3
  (``RestartPreventExitStatus``); stopped with SIGINT, which the daemon handles as Ctrl+C.
"""

import subprocess  # nosec B404  # list2cmdline only: quoting the task's arguments
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET  # nosec B405  # builds the task's XML; parses none

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
#: How often Windows checks that the daemon runs (ISO 8601 duration).
CHECK_INTERVAL = "PT5M"
#: Task Scheduler's restart of a start that failed: every minute, at most this many times.
RESTART_COUNT = 3
#: systemd: wait before starting again after a failure, seconds.
RESTART_SECS = 30
#: Exit codes that need the owner (configuration; the kill switch): never restarted in a loop.
NO_RESTART_EXIT_CODES = (2, 3)


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """The daemon as a service.

    Attributes
    ----------
    name : str
        Task or unit name, e.g. ``stockbot-paper``.
    program : str
        The executable (the ``stockbot`` console script, or Python with ``-m stock_manager``).
    arguments : tuple[str, ...]
        Its arguments, ending with ``run --mode <mode>``.
    working_dir : Path
        Where it runs: the directory holding ``.env``.
    mode : str
        sim, paper or live.
    """

    name: str
    program: str
    arguments: tuple[str, ...]
    working_dir: Path
    mode: str

    @property
    def command_line(self) -> list[str]:
        """Return the program and its arguments."""
        return [self.program, *self.arguments]


def service_spec(
    mode: str, working_dir: Path, *, name: str | None = None, python: Path | None = None, windows: bool | None = None
) -> ServiceSpec:
    """Return the service of ``stockbot run --mode <mode>`` run from `working_dir`.

    The program is the ``stockbot`` console script installed next to `python` (this interpreter by default);
    without one, `python` itself with ``-m stock_manager``.
    """
    python = python or Path(sys.executable)
    windows = sys.platform == "win32" if windows is None else windows
    script = python.with_name("stockbot.exe" if windows else "stockbot")
    run = ("run", "--mode", mode)
    arguments: tuple[str, ...]
    if script.is_file():
        program, arguments = str(script), run
    else:
        program, arguments = str(python), ("-m", "stock_manager", *run)
    return ServiceSpec(
        name=name or f"stockbot-{mode}", program=program, arguments=arguments, working_dir=working_dir, mode=mode
    )


def task_xml(spec: ServiceSpec, user: str, *, at_boot: bool = False) -> str:
    """Return the Task Scheduler definition of `spec` (schema 1.2), to register with ``schtasks /XML``.

    Parameters
    ----------
    user : str
        The account it runs as, ``DOMAIN\\user``.
    at_boot : bool
        Start at boot whether or not `user` is logged on (no window; registering needs an elevated prompt),
        instead of at `user`'s logon (in a console window of the session).
    """
    ET.register_namespace("", TASK_NAMESPACE)
    task = ET.Element(_t("Task"), {"version": "1.2"})
    info = _sub(task, "RegistrationInfo")
    _sub(
        info,
        "Description",
        f"stockbot trading daemon ({spec.mode}): `stockbot run --mode {spec.mode}` in {spec.working_dir}",
    )
    _sub(info, "URI", f"\\{spec.name}")
    trigger = _sub(_sub(task, "Triggers"), "BootTrigger" if at_boot else "LogonTrigger")
    repetition = _sub(trigger, "Repetition")
    _sub(repetition, "Interval", CHECK_INTERVAL)
    _sub(repetition, "StopAtDurationEnd", "false")
    _sub(trigger, "Enabled", "true")
    if at_boot:
        _sub(trigger, "Delay", "PT1M")  # let the network come up
    else:
        _sub(trigger, "UserId", user)
    principal = _sub(_sub(task, "Principals"), "Principal", attributes={"id": "Author"})
    _sub(principal, "UserId", user)
    _sub(principal, "LogonType", "S4U" if at_boot else "InteractiveToken")
    _sub(principal, "RunLevel", "LeastPrivilege")
    settings = _sub(task, "Settings")
    for name, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("AllowHardTerminate", "true"),
        ("StartWhenAvailable", "true"),
        ("RunOnlyIfNetworkAvailable", "false"),
    ):
        _sub(settings, name, value)
    idle = _sub(settings, "IdleSettings")
    _sub(idle, "StopOnIdleEnd", "false")
    _sub(idle, "RestartOnIdle", "false")
    for name, value in (
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "false"),
        ("RunOnlyIfIdle", "false"),
        ("WakeToRun", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("Priority", "7"),
    ):
        _sub(settings, name, value)
    restart = _sub(settings, "RestartOnFailure")
    _sub(restart, "Interval", "PT1M")
    _sub(restart, "Count", str(RESTART_COUNT))
    action = _sub(_sub(task, "Actions", attributes={"Context": "Author"}), "Exec")
    _sub(action, "Command", spec.program)
    _sub(action, "Arguments", subprocess.list2cmdline(spec.arguments))  # the C runtime's quoting
    _sub(action, "WorkingDirectory", str(spec.working_dir))
    ET.indent(task)
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + ET.tostring(task, encoding="unicode") + "\n"


def systemd_unit(spec: ServiceSpec) -> str:
    """Return the systemd user unit of `spec` (for ``~/.config/systemd/user/<name>.service``)."""
    command = " ".join(_systemd_quote(part) for part in spec.command_line)
    return "\n".join(
        [
            "[Unit]",
            f"Description=stockbot trading daemon ({spec.mode})",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            f"WorkingDirectory={_systemd_quote(str(spec.working_dir))}",
            f"ExecStart={command}",
            "Environment=PYTHONUNBUFFERED=1 PYTHONIOENCODING=utf-8",
            "Restart=on-failure",
            f"RestartSec={RESTART_SECS}",
            f"RestartPreventExitStatus={' '.join(str(code) for code in NO_RESTART_EXIT_CODES)}",
            "# Stopped like Ctrl+C: the daemon stops in order and exits 130 (143 after a SIGTERM, also orderly).",
            "KillSignal=SIGINT",
            "SuccessExitStatus=130 143",
            "TimeoutStopSec=60",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


def _t(tag: str) -> str:
    return f"{{{TASK_NAMESPACE}}}{tag}"


def _sub(
    parent: ET.Element, tag: str, text: str | None = None, *, attributes: dict[str, str] | None = None
) -> ET.Element:
    element = ET.SubElement(parent, _t(tag), attributes or {})
    if text is not None:
        element.text = text
    return element


def _systemd_quote(argument: str) -> str:
    # systemd's command-line quoting: double quotes, backslash escapes, "%" doubled (specifier syntax).
    escaped = argument.replace("%", "%%")
    if escaped and not any(c in escaped for c in " \t\"'\\;$"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'
