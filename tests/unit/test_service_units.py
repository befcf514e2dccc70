"""`stockbot service`: the Windows task and the systemd user unit it registers (pure, on every platform), the
steps that register them (lists of arguments, never a shell), and the real thing where a user systemd runs."""

import io
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.service import (
    ServiceCommandFailed,
    Step,
    install_steps,
    run_steps,
    status_steps,
    uninstall_steps,
)
from stock_manager.entrypoints.service_units import TASK_NAMESPACE, ServiceSpec, service_spec, systemd_unit, task_xml

NS = {"t": TASK_NAMESPACE}
SPEC = ServiceSpec(
    name="stockbot-paper",
    program=r"C:\Users\Kim\stockbot\.venv\Scripts\stockbot.exe",
    arguments=("run", "--mode", "paper"),
    working_dir=Path(r"C:\Users\Kim\stockbot"),
    mode="paper",
)


def parse(xml: str) -> ET.Element:
    # As schtasks reads it: the file is written in UTF-16, as its declaration says.
    return ET.fromstring(xml.encode("utf-16"))


def test_task_xml_starts_at_logon_checks_every_5_minutes_restarts_on_failure_and_runs_the_daemon():
    task = parse(task_xml(SPEC, r"DESKTOP-1\Kim"))

    trigger = task.find("t:Triggers/t:LogonTrigger", NS)
    assert trigger is not None and trigger.findtext("t:UserId", namespaces=NS) == r"DESKTOP-1\Kim"
    assert trigger.findtext("t:Repetition/t:Interval", namespaces=NS) == "PT5M"
    assert trigger.findtext("t:Enabled", namespaces=NS) == "true"
    settings = task.find("t:Settings", NS)
    assert settings is not None
    assert settings.findtext("t:RestartOnFailure/t:Interval", namespaces=NS) == "PT1M"
    assert settings.findtext("t:RestartOnFailure/t:Count", namespaces=NS) == "3"
    assert settings.findtext("t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    assert settings.findtext("t:ExecutionTimeLimit", namespaces=NS) == "PT0S"  # never stopped after 72 h
    assert settings.findtext("t:DisallowStartIfOnBatteries", namespaces=NS) == "false"
    exec_ = task.find("t:Actions/t:Exec", NS)
    assert exec_ is not None
    assert exec_.findtext("t:Command", namespaces=NS) == SPEC.program
    assert exec_.findtext("t:Arguments", namespaces=NS) == "run --mode paper"
    assert exec_.findtext("t:WorkingDirectory", namespaces=NS) == r"C:\Users\Kim\stockbot"
    assert task.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "InteractiveToken"


def test_task_xml_at_boot_runs_logged_on_or_not():
    task = parse(task_xml(SPEC, r"DESKTOP-1\Kim", at_boot=True))

    assert task.find("t:Triggers/t:BootTrigger", NS) is not None and task.find("t:Triggers/t:LogonTrigger", NS) is None
    assert task.findtext("t:Triggers/t:BootTrigger/t:Repetition/t:Interval", namespaces=NS) == "PT5M"
    assert task.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "S4U"


def test_systemd_unit_restarts_on_failure_but_not_after_a_refusal_and_is_wanted_by_default_target():
    spec = ServiceSpec(
        name="stockbot-live",
        program="/home/kim/my bots/.venv/bin/stockbot",
        arguments=("run", "--mode", "live"),
        working_dir=Path("/home/kim/my bots"),
        mode="live",
    )

    unit = systemd_unit(spec).splitlines()

    assert 'ExecStart="/home/kim/my bots/.venv/bin/stockbot" run --mode live' in unit
    assert 'WorkingDirectory="/home/kim/my bots"' in unit
    for line in (
        "Restart=on-failure",
        "RestartPreventExitStatus=2 3",
        "KillSignal=SIGINT",
        "SuccessExitStatus=130 143",
        "WantedBy=default.target",
        "[Install]",
    ):
        assert line in unit


def test_service_spec_uses_the_console_script_next_to_python_else_python_m(tmp_path: Path):
    python = tmp_path / "python"
    python.write_text("", encoding="utf-8")

    fallback = service_spec("paper", tmp_path, python=python, windows=False)
    (tmp_path / "stockbot").write_text("", encoding="utf-8")
    script = service_spec("paper", tmp_path, python=python, windows=False)

    assert fallback.command_line == [str(python), "-m", "stock_manager", "run", "--mode", "paper"]
    assert script.command_line == [str(tmp_path / "stockbot"), "run", "--mode", "paper"]
    assert script.name == "stockbot-paper" and script.working_dir == tmp_path


def test_install_steps_register_with_schtasks_xml_on_windows_and_systemctl_user_on_linux(tmp_path: Path):
    text, windows = install_steps(SPEC, "win32", task_file=tmp_path / "t.xml", unit_dir=tmp_path, user="Kim")
    unit, linux = install_steps(SPEC, "linux", task_file=tmp_path / "t.xml", unit_dir=tmp_path / "user", user="")

    assert text.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    assert windows[0].write == (tmp_path / "t.xml", text, "utf-16")
    assert [s.args for s in windows[1:]] == [
        ["schtasks", "/Create", "/XML", str(tmp_path / "t.xml"), "/TN", "stockbot-paper", "/F"],
        ["schtasks", "/Run", "/TN", "stockbot-paper"],
    ]
    assert linux[0].write == (tmp_path / "user" / "stockbot-paper.service", unit, "utf-8")
    assert [s.args for s in linux[1:]] == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "stockbot-paper.service"],
    ]
    assert uninstall_steps("stockbot-paper", "win32", task_file=tmp_path / "t.xml", unit_dir=tmp_path)[0].args == [
        "schtasks",
        "/Delete",
        "/TN",
        "stockbot-paper",
        "/F",
    ]
    assert status_steps("stockbot-paper", "linux")[0].args == [
        "systemctl",
        "--user",
        "status",
        "stockbot-paper.service",
        "--no-pager",
    ]
    with pytest.raises(ConfigurationError, match="supports Windows and Linux"):
        install_steps(SPEC, "darwin", task_file=tmp_path / "t.xml", unit_dir=tmp_path, user="")


def test_run_steps_when_a_command_fails_then_one_line_naming_it_and_later_steps_not_run(tmp_path: Path):
    from rich.console import Console

    steps = [
        Step("say no", [sys.executable, "-c", "import sys; print('ERROR: Access is denied.'); sys.exit(1)"]),
        Step("write", write=(tmp_path / "after", "x", "utf-8")),
    ]

    with pytest.raises(ServiceCommandFailed, match=r"say no: .* exited with 1: ERROR: Access is denied\."):
        run_steps(steps, Console(file=io.StringIO()))
    assert not (tmp_path / "after").exists()


def test_cli_install_print_shows_what_it_would_register_and_changes_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(
        app,
        ["service", "install", "--print"],
        env={"XDG_CONFIG_HOME": str(tmp_path / "config"), "MODE": "sim", "DATA_DIR": str(tmp_path / "data")},
    )

    assert result.exit_code == 0, result.output
    assert ("<Task" in result.stdout) if sys.platform == "win32" else ("Restart=on-failure" in result.stdout)
    assert "would run: " in result.stdout and "run --mode sim" in result.stdout
    assert not (tmp_path / "config").exists()


def test_cli_install_when_the_configuration_is_not_runnable_then_refused_before_registering(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MODE=paper\nKIS_APPKEY=x\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["service", "install"], env={"XDG_CONFIG_HOME": str(tmp_path / "config")})

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Configuration error: .env line 2: unknown setting KIS_APPKEY; did you mean KIS_APP_KEY?"
    )
    assert not (tmp_path / "config").exists()


def _user_systemd_problem() -> str | None:
    if not sys.platform.startswith("linux"):
        return "not Linux"
    try:
        probe = subprocess.run(
            ["systemctl", "--user", "show-environment"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"systemctl cannot run: {e}"
    if probe.returncode != 0:
        return f"no user systemd: {(probe.stderr or probe.stdout).strip() or probe.returncode}"
    return None


def test_linux_unit_for_real_install_status_uninstall(tmp_path: Path, monkeypatch):
    if problem := _user_systemd_problem():
        pytest.skip(f"the real systemd user unit needs a running user manager: {problem}")
    # A short replay in its own data directory, so the started daemon harms nothing.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        f"MODE=sim\nDATA_DIR={tmp_path / 'data'}\nLOG_DIR={tmp_path / 'logs'}\n"
        "SIM_FROM=2023-02-13\nSIM_TO=2023-02-14\nSIM_SYMBOLS=005930\n",
        encoding="utf-8",
    )
    name = f"stockbot-test-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    try:
        installed = runner.invoke(app, ["service", "install", "--name", name])
        shown = runner.invoke(app, ["service", "status", "--name", name])
        assert installed.exit_code == 0, installed.output
        assert f"{name}.service" in shown.stdout
    finally:
        removed = runner.invoke(app, ["service", "uninstall", "--name", name])
    assert removed.exit_code == 0, removed.output
    gone = subprocess.run(
        ["systemctl", "--user", "status", f"{name}.service"], capture_output=True, text=True, timeout=10, check=False
    )
    assert gone.returncode != 0
