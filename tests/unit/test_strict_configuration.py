"""Strict configuration: every setting checked with a message naming it, and the `.env` file itself checked
(malformed lines, misspelt names, not UTF-8) before anything runs. Bad input is one line and exit 2."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.config.dotenv_check import check_sources, unknown_name_problem
from stock_manager.config.settings import known_setting_names, load_settings
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli import app

KNOWN = known_setting_names()
_PLATFORM_VARIABLES = ("PATH", "SYSTEMROOT", "HOME", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "TEMP", "TMP")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (where `.env` is read) and an environment without our settings."""
    monkeypatch.chdir(tmp_path)
    for name in ("MODE", "DB_URL", "DATA_DIR", "LOG_DIR", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def write_env(directory: Path, text: str | bytes) -> Path:
    path = directory / ".env"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- THE .env FILE ---------------------------------------------------------------------------------------


def test_dotenv_when_a_name_with_our_prefix_is_misspelt_then_refused_with_its_line_and_a_suggestion(tmp_path):
    path = write_env(tmp_path, "# stockbot\nMODE=sim\n\nKIS_APPKEY=abcdef123456\n")

    with pytest.raises(ConfigurationError) as raised:
        check_sources(path, KNOWN, {})

    assert str(raised.value) == f"{path} line 4: unknown setting KIS_APPKEY; did you mean KIS_APP_KEY?"


def test_dotenv_when_a_line_is_malformed_then_refused_with_its_line_and_never_its_value(tmp_path):
    path = write_env(tmp_path, 'MODE=sim\nKIS_APP_SECRET="s3cr3t-value\n')

    with pytest.raises(ConfigurationError, match=r"line 2 is not NAME=value") as raised:
        check_sources(path, KNOWN, {})

    assert "s3cr3t" not in str(raised.value)


def test_dotenv_when_not_utf8_then_the_byte_its_offset_and_line_are_named(tmp_path):
    path = write_env(tmp_path, "MODE=sim\nSIM_SYMBOLS=\xb1".encode("latin-1"))

    with pytest.raises(ConfigurationError) as raised:
        check_sources(path, KNOWN, {})

    assert str(raised.value) == f"{path} is not UTF-8 (byte 0xb1 at offset 21, line 2); save it as UTF-8"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("COMMISION_RATE=0.0001", "unknown setting COMMISION_RATE; did you mean COMMISSION_RATE?"),
        ("LOGLEVEL=INFO", "unknown setting LOGLEVEL; did you mean LOG_LEVEL?"),
        ("UPBIT_REGION=x", "unknown setting UPBIT_REGION (see .env.example for every setting)"),
        ("MODE", "MODE has no '=' (write MODE=value)"),
    ],
)
def test_dotenv_when_a_name_looks_like_ours_or_lacks_a_value_then_refused(tmp_path, line, problem):
    path = write_env(tmp_path, f"{line}\n")

    with pytest.raises(ConfigurationError) as raised:
        check_sources(path, KNOWN, {})

    assert str(raised.value) == f"{path} line 1: {problem}"


def test_dotenv_when_a_setting_is_set_twice_then_both_lines_are_named(tmp_path):
    path = write_env(tmp_path, "MODE=sim\nORDER_MODE=send\nmode=paper\n")

    with pytest.raises(ConfigurationError, match=r"line 3: MODE is set again \(first on line 1\)"):
        check_sources(path, KNOWN, {})


def test_dotenv_when_names_are_other_programs_or_lower_case_then_left_alone(tmp_path):
    path = write_env(tmp_path, "\ufeffmode=sim\nexport PATH_EXTRA=/opt/bin\nMY_TOOL_TOKEN=x\nDATABASE_URL=x\n")

    lines = check_sources(path, KNOWN, {"HOME": "/root", "STOCKBOT_TEST_PG_URL": "x", "MODE": "sim"})

    assert lines == {"MODE": 1, "PATH_EXTRA": 2, "MY_TOOL_TOKEN": 3, "DATABASE_URL": 4}


def test_environment_when_a_variable_has_our_prefix_but_is_unknown_then_refused_others_ignored():
    problem = unknown_name_problem("RISK_MAX_POSITIONS", KNOWN, prefixed_only=True)

    with pytest.raises(ConfigurationError, match="environment variable SLACK_TOKEN: unknown setting SLACK_TOKEN"):
        check_sources(None, KNOWN, {"SLACK_TOKEN": "xoxb-1", "LOGNAME": "me", "COMMISION_RATE": "1"})
    assert problem == "unknown setting RISK_MAX_POSITIONS; did you mean RISK_MAX_OPEN_POSITIONS?"


# -- VALUES ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("COMMISSION_RATE", "-0.01", "greater than or equal to 0"),
        ("COMMISSION_RATE", "0.02", "less than or equal to 0.01"),
        ("LOG_LEVEL", "LOUD", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("KILL_POLL_INTERVAL_SECS", "-1", "greater than 0"),
        ("HEARTBEAT_INTERVAL_SECS", "0", "greater than 0"),
        ("RECONCILE_INTERVAL_SECS", "0", "greater than 0"),
        ("CLOSE_CANCEL_LEAD_SECS", "-1", "greater than or equal to 0"),
        ("CLOSE_CANCEL_LEAD_SECS", "3600", "less than or equal to 1800"),
        ("FLATTEN_WAIT_SECS", "0", "greater than 0"),
        ("RISK_MAX_OPEN_POSITIONS", "0", "greater than 0"),
        ("RISK_MAX_OPEN_POSITIONS", "", None),  # empty: the default (as every empty setting)
        ("RISK_DAILY_LOSS_LIMIT_PCT", "150", "less than or equal to 100"),
        ("RISK_COOLDOWN_SECS", "-5", "greater than 0"),
        ("METRICS_PORT", "0", "greater than or equal to 1"),
        ("METRICS_PORT", "65536", "less than or equal to 65535"),
        ("SIM_PARTICIPATION_RATE", "1.5", "less than or equal to 1"),
        ("SIM_START_CASH_KRW", "0", "greater than 0"),
        ("SIM_SYMBOLS", ",", "needs at least one symbol"),
        ("SIM_SYMBOLS", "005930,5930", "5930 is not a six-character KRX code"),
        ("STRATEGY_PARAMS_FILE", "no-such-params.yaml", "no such file"),
        ("MODE", "production", "'sim', 'paper' or 'live'"),
    ],
)
def test_settings_when_a_value_is_out_of_range_then_refused_naming_the_setting(
    workdir, monkeypatch, name, value, problem
):
    monkeypatch.setenv(name, value)

    if problem is None:
        load_settings()
        return
    with pytest.raises(ConfigurationError, match=rf"{name}: .*{problem}"):
        load_settings()


def test_settings_when_a_directory_setting_names_a_file_then_refused(workdir, monkeypatch):
    (workdir / "a-file").write_text("x", encoding="utf-8")
    monkeypatch.setenv("LOG_DIR", str(workdir / "a-file"))

    with pytest.raises(ConfigurationError, match="LOG_DIR: is a file, not a directory"):
        load_settings()


def test_settings_when_the_bad_value_is_in_dotenv_then_its_line_is_named_and_secrets_never_echoed(workdir):
    write_env(workdir, "MODE=sim\nKIS_APP_KEY=appkey-123456789\nLOG_LEVEL=loud\nKIS_APP_SECRET=\n")

    with pytest.raises(ConfigurationError) as raised:
        load_settings(kis_app_secret="secret-value-123", metrics_port=70_000)

    message = str(raised.value)
    assert "LOG_LEVEL (.env line 3): must be one of" in message and "was 'loud'" in message
    assert "METRICS_PORT: " in message and "secret-value-123" not in message


def test_settings_when_values_are_valid_then_normalised(workdir, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("RISK_PRICE_COLLAR_PCT", "off")
    monkeypatch.setenv("COMMISSION_RATE", "0.00015")

    settings = load_settings()

    assert settings.log_level == "DEBUG" and settings.risk_price_collar_pct is None
    assert settings.commission_rate == Decimal("0.00015")


# -- AS THE USER SEES IT -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dotenv", "expected"),
    [
        ("MODE=sim\nKIS_APPKEY=x\n", ".env line 2: unknown setting KIS_APPKEY; did you mean KIS_APP_KEY?"),
        ("MODE=sim\nthis is not a setting\n", ".env line 2 is not NAME=value"),
        ("COMMISSION_RATE=-0.01\n", "COMMISSION_RATE (.env line 1): Input should be greater than or equal to 0"),
        ("LOG_LEVEL=[/]\n", "LOG_LEVEL (.env line 1): must be one of"),  # not read as console markup
    ],
)
def test_cli_when_dotenv_is_wrong_then_one_line_on_stderr_and_exit_2(workdir, dotenv, expected):
    write_env(workdir, dotenv)

    result = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 2, result.output
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_subprocess_when_dotenv_is_not_utf8_then_one_line_and_exit_2(tmp_path):
    # The real program, as a new user starts it: the 127-line traceback this used to print is gone.
    (tmp_path / ".env").write_bytes("MODE=sim\n# 모의투자\n".encode("cp949"))

    done = subprocess.run(
        [sys.executable, "-m", "stock_manager", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if k in _PLATFORM_VARIABLES},
            "DATA_DIR": str(tmp_path / "data"),
            "PYTHONIOENCODING": "utf-8",
        },
    )

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Configuration error: .env is not UTF-8 (byte 0xb8 at offset 11, line 2); save it as UTF-8"
    )


def test_dotenv_line_numbers_count_blank_lines_comments_and_windows_line_ends(tmp_path):
    path = write_env(tmp_path, "# a\r\n\r\n\r\nMODE=sim\r\n  \r\n# b\r\nKIS_APPKEY=x\r\n")

    with pytest.raises(ConfigurationError, match=r"\.env line 7: unknown setting KIS_APPKEY"):
        check_sources(path, KNOWN, {})


def test_env_example_when_copied_to_dotenv_then_accepted_and_it_lists_every_setting(workdir):
    example = Path(__file__).parents[2] / ".env.example"
    write_env(workdir, example.read_bytes())

    lines = check_sources(workdir / ".env", KNOWN, {})
    load_settings()

    assert set(lines) == KNOWN


def test_location_settings_read_only_where_the_database_is_from_a_broken_configuration(tmp_path):
    from stock_manager.config.fallback import location_settings

    path = write_env(tmp_path, "DB_URL=postgresql+psycopg://u@h/fromfile\nMODE=LIVE\nKIS_APPKEY=x\nLOG_LEVEL=LOUD\n")

    from_file = location_settings(None, path, {})
    from_env = location_settings(None, path, {"DB_URL": "postgresql+psycopg://u@h/fromenv", "MODE": "nonsense"})
    from_option = location_settings("sqlite+aiosqlite:///x.db", path, {"DB_URL": "postgresql+psycopg://u@h/e"})

    assert (from_file.database_url, str(from_file.mode)) == ("postgresql+psycopg://u@h/fromfile", "live")
    assert (from_env.database_url, str(from_env.mode)) == ("postgresql+psycopg://u@h/fromenv", "sim")
    assert from_option.database_url == "sqlite+aiosqlite:///x.db"
