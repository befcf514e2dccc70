"""Keys out of plaintext: secrets read from the OS credential store when neither the environment nor `.env`
sets them; `stockbot secrets list|set|rotate|delete` (values never printed, never taken from an argument);
every control action an audit event with the OS user and host; a `.env` holding secrets where others can
read it named in a warning. The credential store is the in-memory keyring of the root conftest."""

import asyncio
import getpass
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.broker.kis.token_cache import AccessToken, TokenCache
from stock_manager.adapters.secrets.keyring_store import KeyringStore
from stock_manager.adapters.secrets.sealing import KeyringSealer
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.secret_sources import SECRET_SETTINGS, exposed_dotenv_warning
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.cli import app
from tests.keyring_memory import BrokenKeyring

APP_SECRET = "Kq7secretVALUEfromKEYRING0123456789"
NEW_SECRET = "Zr4rotatedSECRETvalue9876543210abcd"
DOTENV_TOKEN = "xoxb-999-888-dotenvSLACKtoken"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, an environment without our settings, a SQLite database in `tmp_path`."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("KIS_", "SLACK_", "UPBIT_", "AI_", "KEYRING_")) or name in ("MODE", "DB_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    return tmp_path


def events(workdir: Path) -> list:
    async def read() -> list:
        engine = create_engine(f"sqlite+aiosqlite:///{(workdir / 'data' / 'stockbot.db').as_posix()}")
        try:
            async with SqlUnitOfWorkFactory(engine, mode="sim")() as uow:
                return await uow.events.recent(100)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def cli(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


# -- SETTINGS ---------------------------------------------------------------------------------------------


def test_settings_when_a_secret_is_only_in_the_keyring_then_read_from_there(workdir, memory_keyring):
    memory_keyring.set_password("stockbot", "KIS_APP_SECRET", APP_SECRET)
    memory_keyring.set_password("stockbot", "AI_API_KEY", "sk-ai-key-from-keyring")

    settings = load_settings()

    assert settings.kis_app_secret is not None and settings.kis_app_secret.get_secret_value() == APP_SECRET
    assert settings.ai_api_key is not None and settings.ai_api_key.get_secret_value() == "sk-ai-key-from-keyring"
    assert settings.kis_app_key is None and settings.upbit_access_key is None
    assert APP_SECRET not in repr(settings)


def test_settings_when_environment_or_dotenv_set_a_secret_then_they_win_over_the_keyring(
    workdir, memory_keyring, monkeypatch
):
    for name in ("KIS_APP_SECRET", "SLACK_BOT_TOKEN", "UPBIT_SECRET_KEY"):
        memory_keyring.set_password("stockbot", name, f"keyring-{name}")
    monkeypatch.setenv("KIS_APP_SECRET", "from-the-environment")
    (workdir / ".env").write_text(f"SLACK_BOT_TOKEN={DOTENV_TOKEN}\nUPBIT_SECRET_KEY=\n", encoding="utf-8")

    settings = load_settings()

    assert settings.kis_app_secret.get_secret_value() == "from-the-environment"
    assert settings.slack_bot_token.get_secret_value() == DOTENV_TOKEN
    assert settings.upbit_secret_key.get_secret_value() == "keyring-UPBIT_SECRET_KEY"  # an empty line sets nothing


def test_settings_when_a_second_keyring_service_is_named_then_its_keys_are_read(workdir, memory_keyring, monkeypatch):
    memory_keyring.set_password("stockbot", "KIS_APP_KEY", "paper-app-key")
    memory_keyring.set_password("stockbot-live", "KIS_APP_KEY", "live-app-key")
    monkeypatch.setenv("KEYRING_SERVICE", "stockbot-live")

    assert load_settings().kis_app_key.get_secret_value() == "live-app-key"


def test_settings_when_the_credential_store_fails_then_secrets_are_missing_and_nothing_raises(workdir):
    import keyring

    keyring.set_keyring(BrokenKeyring())

    settings = load_settings()

    assert [getattr(settings, name.lower()) for name in SECRET_SETTINGS] == [None] * len(SECRET_SETTINGS)


# -- stockbot secrets ---------------------------------------------------------------------------------------


def test_secrets_list_when_secrets_come_from_everywhere_then_names_and_places_and_no_value(
    workdir, memory_keyring, monkeypatch
):
    memory_keyring.set_password("stockbot", "KIS_APP_SECRET", APP_SECRET)
    memory_keyring.set_password("stockbot", "SLACK_BOT_TOKEN", "xoxb-1-2-shadowedKEYRINGtoken")
    monkeypatch.setenv("KIS_APP_KEY", "PSenvironmentAPPKEY123")
    (workdir / ".env").write_text(
        f"MODE=sim\nSLACK_BOT_TOKEN={DOTENV_TOKEN}\nSLACK_ALERTS_CHANNEL_ID=C0ALERTS01\n", encoding="utf-8"
    )

    result = cli("secrets", "list")

    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[1:])
    assert lines == {
        "KIS_APP_KEY": "environment",
        "KIS_APP_SECRET": "keyring",
        "UPBIT_ACCESS_KEY": "missing",
        "UPBIT_SECRET_KEY": "missing",
        "SLACK_BOT_TOKEN": ".env line 2 (the keyring also holds one, unused)",
        "AI_API_KEY": "missing",
    }
    assert "MemoryKeyring" in result.stdout and "'stockbot'" in result.stdout
    for value in (APP_SECRET, "PSenvironmentAPPKEY123", DOTENV_TOKEN, "shadowedKEYRINGtoken"):
        assert value not in result.stdout + result.stderr


def test_secrets_set_when_read_from_stdin_then_stored_and_audited_without_the_value(workdir, memory_keyring):
    result = cli("secrets", "set", "kis_app_secret", "--stdin", stdin=f"{APP_SECRET}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.values[("stockbot", "KIS_APP_SECRET")] == APP_SECRET
    assert APP_SECRET not in result.stdout + result.stderr
    [event] = [e for e in events(workdir) if e.kind == "secret_set"]
    assert event.payload["name"] == "KIS_APP_SECRET" and APP_SECRET not in f"{event.message} {event.payload}"
    assert event.payload["actor"] == {"user": getpass.getuser(), "host": socket.gethostname()}
    assert event.message.endswith(f"(by {getpass.getuser()}@{socket.gethostname()})")


def test_secrets_set_when_prompted_then_the_value_is_hidden_and_confirmed(workdir, memory_keyring):
    result = cli("secrets", "set", "SLACK_BOT_TOKEN", stdin=f"{DOTENV_TOKEN}\n{DOTENV_TOKEN}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.values[("stockbot", "SLACK_BOT_TOKEN")] == DOTENV_TOKEN
    assert "SLACK_BOT_TOKEN (hidden)" in result.stdout and DOTENV_TOKEN not in result.stdout


def test_secrets_set_when_the_value_is_an_argument_or_the_name_unknown_then_refused(workdir, memory_keyring):
    as_argument = cli("secrets", "set", "KIS_APP_SECRET", APP_SECRET)
    unknown = cli("secrets", "set", "KIS_APP_SECRETS", "--stdin", stdin="x" * 20)
    empty = cli("secrets", "set", "AI_API_KEY", "--stdin", stdin="\n")

    assert as_argument.exit_code == 2 and memory_keyring.values == {}
    assert unknown.exit_code == 2 and "did you mean KIS_APP_SECRET?" in unknown.stderr
    assert empty.exit_code == 2 and "no value was given for AI_API_KEY" in empty.stderr


def test_secrets_set_when_the_credential_store_fails_then_one_line_and_exit_1(workdir):
    import keyring

    keyring.set_keyring(BrokenKeyring())

    result = cli("secrets", "set", "KIS_APP_SECRET", "--stdin", stdin=APP_SECRET)

    assert result.exit_code == 1
    assert "cannot write KIS_APP_SECRET in the OS credential store" in result.stderr
    assert APP_SECRET not in result.stderr and "Traceback" not in result.stderr


def test_secrets_rotate_when_a_kis_key_changes_then_cached_tokens_are_dropped_and_audited(workdir, memory_keyring):
    from datetime import UTC, datetime, timedelta

    memory_keyring.set_password("stockbot", "KIS_APP_SECRET", APP_SECRET)
    settings = load_settings()
    cache = TokenCache(
        settings.kis_token_cache_path,
        app_key="PSsomeAPPkey",
        app_secret=APP_SECRET,
        mode="paper",
        sealer=KeyringSealer(KeyringStore()),
    )
    issued = datetime(2026, 3, 2, tzinfo=UTC)
    cache.save(AccessToken("eyJ-old-token-issued-with-the-old-secret", issued + timedelta(hours=24), issued), issued)
    assert cache.load()[0] is not None

    result = cli("secrets", "rotate", "KIS_APP_SECRET", "--stdin", stdin=NEW_SECRET)

    assert result.exit_code == 0, result.output
    assert "1 cached KIS access token(s) dropped" in result.stdout
    assert memory_keyring.values[("stockbot", "KIS_APP_SECRET")] == NEW_SECRET
    assert cache.load() == (None, issued)  # the issuance time stays: KIS's one-per-minute rule
    [event] = [e for e in events(workdir) if e.kind == "secret_rotated"]
    assert event.payload["tokens_dropped"] == 1 and event.payload["actor"]["host"] == socket.gethostname()
    assert NEW_SECRET not in result.stdout and APP_SECRET not in f"{event.message} {event.payload}"


def test_secrets_rotate_when_dotenv_sets_the_secret_then_refused_naming_the_line(workdir, memory_keyring):
    (workdir / ".env").write_text(f"KIS_APP_SECRET={APP_SECRET}\n", encoding="utf-8")

    result = cli("secrets", "rotate", "KIS_APP_SECRET", "--stdin", stdin=NEW_SECRET)

    assert result.exit_code == 2
    assert "KIS_APP_SECRET comes from .env line 1" in result.stderr
    assert memory_keyring.values == {} and APP_SECRET not in result.stderr and NEW_SECRET not in result.stderr


def test_secrets_delete_when_stored_then_removed_and_audited(workdir, memory_keyring):
    memory_keyring.set_password("stockbot", "UPBIT_ACCESS_KEY", "upbit-access-key-value-0123456789")

    deleted = cli("secrets", "delete", "UPBIT_ACCESS_KEY")
    again = cli("secrets", "delete", "UPBIT_ACCESS_KEY")

    assert deleted.exit_code == 0 and again.exit_code == 1, deleted.output
    assert memory_keyring.values == {}
    assert [e.payload["name"] for e in events(workdir) if e.kind == "secret_deleted"] == ["UPBIT_ACCESS_KEY"]


# -- AUDIT ------------------------------------------------------------------------------------------------


def test_control_actions_when_run_then_each_is_an_event_with_user_host_and_time(workdir, monkeypatch):
    from stock_manager.entrypoints import service

    monkeypatch.setattr(service, "run_steps", lambda steps, say: [])  # register nothing with the system
    monkeypatch.setenv("XDG_CONFIG_HOME", str(workdir / "config"))
    monkeypatch.setenv("MODE", "sim")

    results = [
        cli("kill", "--reason", "audit drill", "--wait", "0"),
        cli("resume", "--yes"),
        cli("risk", "set", "max_open_positions", "4", "--yes"),
        cli("secrets", "set", "AI_API_KEY", "--stdin", stdin="sk-audit-0123456789"),
        cli("secrets", "rotate", "AI_API_KEY", "--stdin", stdin="sk-audit-9876543210"),
        cli("secrets", "delete", "AI_API_KEY"),
        cli("service", "install"),
        cli("service", "uninstall"),
    ]

    assert [r.exit_code for r in results] == [0] * len(results), [r.output for r in results]
    actor = {"user": getpass.getuser(), "host": socket.gethostname()}
    recorded = {e.kind: e for e in events(workdir)}
    kinds = [
        "kill_switch_set",
        "kill_switch_cleared",
        "risk_limit_changed",
        "secret_set",
        "secret_rotated",
        "secret_deleted",
        "service_installed",
        "service_uninstalled",
    ]
    assert {kind: recorded[kind].payload["actor"] for kind in kinds if kind in recorded} == dict.fromkeys(kinds, actor)
    assert all(recorded[kind].ts_event.tzinfo is not None for kind in kinds)
    assert all(f"{actor['user']}@{actor['host']}" in recorded[kind].message for kind in kinds)


# -- .env WARNING -----------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_dotenv_warning_when_a_secret_is_readable_by_others_then_one_line_naming_the_file(workdir):
    path = workdir / ".env"
    path.write_text(f"MODE=sim\nSLACK_BOT_TOKEN={DOTENV_TOKEN}\n", encoding="utf-8")
    path.chmod(0o644)

    result = cli("secrets", "list")
    path.chmod(0o600)
    private = exposed_dotenv_warning(path)

    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: .env holds SLACK_BOT_TOKEN and is readable by other users (mode 644): move them "
        "to the OS credential store with `stockbot secrets set NAME` and delete the lines"
    ]
    assert private is None and DOTENV_TOKEN not in result.stderr


def test_dotenv_warning_when_inside_a_git_work_tree_then_named(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy").mkdir()
    path = tmp_path / "deploy" / ".env"
    path.write_text("KIS_APP_KEY=PSappkey0123456789\nKIS_APP_SECRET=\n", encoding="utf-8")
    path.chmod(0o600)

    warning = exposed_dotenv_warning(path)

    assert warning is not None and f"holds KIS_APP_KEY and is inside the git work tree {tmp_path}" in warning
    assert "KIS_APP_SECRET" not in warning  # empty: not a secret held there
