"""No secret appears in any log line, stored event, console line, Slack message or error message: known
secrets are fed through every path, then every output is searched for them."""

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from rich.console import Console

from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.notifications.fanout import FanoutNotifier
from stock_manager.adapters.notifications.slack import SlackChannels, SlackNotifier
from stock_manager.adapters.notifications.slack_client import SlackPoster
from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.observability.masking import clear_secrets, register_secret
from stock_manager.config.settings import load_settings
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import StockbotError
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.modes import Mode
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.signals import Signal
from stock_manager.entrypoints import cli
from stock_manager.entrypoints.bootstrap import register_secrets
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from tests.fake_slack import TOKEN, FakeSlack
from tests.fakes import FakeBroker, Fatal, krx_venue
from tests.integration.test_execution import HOURS

APP_KEY = "PSkq3Fz0appkeyVALUE9mXr2"
APP_SECRET = "Wc8+secretVALUE/Zq1nR0tY4uIo=="
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0b2tlbiJ9.c2lnbmF0dXJl"  # KIS-style JWT
APPROVAL_KEY = "a1b2c3d4-approval-5e6f-7a8b-9c0d1e2f3a4b"
ACCOUNT = "50123456-01"
SECRETS = [APP_KEY, APP_SECRET, ACCESS_TOKEN, APPROVAL_KEY, TOKEN, "50123456", "5012345601"]
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_registry_and_logging() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()
    configure_logging("CRITICAL")


def leaking(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def test_secrets_when_fed_through_every_path_then_no_output_contains_one(tmp_path: Path, uow_factory, capfd):
    # Arrange: secrets from settings and from run time, registered the way the daemon does.
    settings = load_settings(
        kis_app_key=APP_KEY,
        kis_app_secret=APP_SECRET,
        kis_account=ACCOUNT,
        slack_bot_token=TOKEN,
        slack_alerts_channel_id="C0ALERTS01",
        data_dir=tmp_path,
    )
    register_secrets(settings)
    register_secret(ACCESS_TOKEN)  # what the KIS adapter does on receiving a token
    register_secret(APPROVAL_KEY)
    log_dir = tmp_path / "logs"
    configure_logging("DEBUG", json_lines=True, log_dir=log_dir)
    screen = io.StringIO()
    clock = FixedClock(T0)
    with FakeSlack() as fake:
        slack = SlackNotifier(
            SlackPoster(TOKEN, base_url=fake.base_url, timeout_secs=5, retries=0),
            SlackChannels("C0ALERTS01", "C0TRADES01"),
            clock=clock,
            label="live",
            poll_interval_secs=0.02,
        )
        slack.start()
        notifier = FanoutNotifier(ConsoleNotifier(Console(file=screen, width=300)), slack)
        broker = FakeBroker(clock, ACCOUNT)
        execution = Execution(
            config=ExecutionConfig(ACCOUNT, Mode.LIVE, RiskLimits(5, Decimal(1_000), Decimal(2))),
            uow_factory=uow_factory,
            broker=broker,
            clock=clock,
            notifier=notifier,
            venue=krx_venue(),
        )
        execution.load({}, [])
        execution.begin_session(date(2024, 3, 4), Decimal(10_000_000), session=HOURS)
        for symbol, price in (("005930", 70_000), ("000660", 90_000)):  # in session, quotes at the orders' prices
            execution.note_quote(symbol, Decimal(price), T0, Decimal(1), Decimal(10_000_000))
        log = structlog.get_logger("stockbot.kis")

        # Act: a secret in a decision's reason, in a broker error that stops trading, in an event's text and
        # payload, in structured and free-text log lines and in a logged exception.
        await execution.submit(
            Signal(
                strategy_id="ma_cross",
                symbol="005930",
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.LIMIT,
                reference_price=Decimal(70_000),
                ts_signal=T0,
                quantity=Decimal(1),
                limit_price=Decimal(70_000),
                reason=f"golden cross for {ACCOUNT} (appkey={APP_KEY})",
            )
        )
        broker.script_place(Fatal(f"EGW00123 token {ACCESS_TOKEN} expired for account {ACCOUNT}"))
        await execution.submit(
            Signal(
                strategy_id="ma_cross",
                symbol="000660",
                side=Side.BUY,
                intent=Intent.ENTRY,
                order_type=OrderType.LIMIT,
                reference_price=Decimal(90_000),
                ts_signal=T0,
                quantity=Decimal(1),
                limit_price=Decimal(90_000),
                reason="golden cross",
            )
        )
        async with uow_factory() as uow:
            await record_event(
                uow,
                notifier,
                ts=T0,
                kind="broker_login_failed",
                severity="ERROR",
                message=f"login refused: appsecret {APP_SECRET} / approval {APPROVAL_KEY}",
                payload={
                    "appsecret": APP_SECRET,
                    "headers": {"authorization": f"Bearer {ACCESS_TOKEN}"},
                    "note": f"account {ACCOUNT} token {TOKEN}",
                },
                account_id=ACCOUNT,
            )
            await uow.commit()
        log.info(
            "kis_request",
            headers={"appkey": APP_KEY, "appsecret": APP_SECRET, "authorization": f"Bearer {ACCESS_TOKEN}"},
            url=f"ws://ops.koreainvestment.com:21000?approval_key={APPROVAL_KEY}",
            cano="50123456",
        )
        log.warning(f"free text with {APP_KEY} and {APPROVAL_KEY} for {ACCOUNT}")
        try:
            raise StockbotError(f"token refresh failed for {APP_SECRET}")
        except StockbotError:
            log.exception("kis_token_refresh_failed")
        with pytest.raises(cli.typer.Exit):  # the CLI's one place that prints errors (run outside this loop)
            await asyncio.to_thread(
                cli.guarded, lambda: _raise(StockbotError(f"could not log in with {APP_KEY} / {ACCESS_TOKEN}"))
            )
        assert slack.close(timeout_secs=10)
        slack_text = fake.all_text()

    # Assert: gather every output.
    async with uow_factory() as uow:
        events = await uow.events.recent(1000)
    stored = "\n".join(f"{e.kind} {e.message} {json.dumps(e.payload, ensure_ascii=False)}" for e in events)
    log_files = "\n".join(p.read_text(encoding="utf-8") for p in log_dir.glob("*.jsonl"))
    captured = capfd.readouterr()
    outputs = {
        "events": stored,
        "log file": log_files,
        "stdout": captured.out,
        "stderr": captured.err,
        "console": screen.getvalue(),
        "slack": slack_text,
    }
    assert {name: leaking(text) for name, text in outputs.items()} == {name: [] for name in outputs}
    # Every path was exercised, and the account still shows partly where it is useful.
    assert "stop_mode" in stored and "broker_login_failed" in stored and "5012****-01" in stored
    assert "kis_request" in log_files and "kis_token_refresh_failed" in log_files and "Traceback" in log_files
    assert "5012****-01" in slack_text and "stop mode" in slack_text and "login refused" in slack_text
    assert "could not log in with ***" in captured.err
    assert "golden cross for 5012****-01" in screen.getvalue()


def _raise(error: BaseException):
    async def fail() -> int:
        raise error

    return fail()


KEYRING_CANARIES = {
    "KIS_APP_KEY": "PScanaryKEYRINGappkey0001",
    "KIS_APP_SECRET": "canarySECRETfromKEYRING/0002==",
    "UPBIT_ACCESS_KEY": "canaryUPBITaccess0003",
    "UPBIT_SECRET_KEY": "canaryUPBITsecret0004",
    "SLACK_BOT_TOKEN": "xoxb-5-6-canarySLACKkeyring0005",
    "AI_API_KEY": "sk-canaryAIkey0006",
}
ROTATED_CANARY = "canaryROTATEDsecret0007=="


def test_secrets_when_kept_in_the_keyring_then_no_command_event_or_log_shows_one(tmp_path: Path, monkeypatch):
    # Arrange: the secrets commands on a database of their own; the secrets only ever in stdin and the keyring.
    import os

    from typer.testing import CliRunner

    from stock_manager.entrypoints.bootstrap import open_storage

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("KIS_", "SLACK_", "UPBIT_", "AI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MODE", "sim")
    runner = CliRunner()

    # Act: store each, list, rotate one, delete one; then run with them as the daemon does (settings read from
    # the keyring, registered for masking) and let them reach a log line, an event and an error.
    said = [
        runner.invoke(cli.app, ["secrets", "set", name, "--stdin"], input=f"{value}\n")
        for name, value in KEYRING_CANARIES.items()
    ]
    said += [
        runner.invoke(cli.app, ["secrets", "list"]),
        runner.invoke(cli.app, ["secrets", "rotate", "KIS_APP_SECRET", "--stdin"], input=ROTATED_CANARY),
        runner.invoke(cli.app, ["secrets", "delete", "AI_API_KEY"]),
        runner.invoke(cli.app, ["secrets", "set", "AI_API_KEY", "--stdin"], input="two words"),
    ]
    settings = load_settings()
    register_secrets(settings)
    log_dir = tmp_path / "logs"
    configure_logging("DEBUG", json_lines=True, log_dir=log_dir)
    everything = " ".join([*KEYRING_CANARIES.values(), ROTATED_CANARY])
    structlog.get_logger("stockbot.canary").error("every secret", text=everything)

    async def record_and_read() -> list:
        async with open_storage(settings, upgrade=False) as storage:
            async with storage.uow_factory() as uow:
                from stock_manager.service_layer.ports.notifications import NullNotifier

                await record_event(
                    uow,
                    NullNotifier(),
                    ts=T0,
                    kind="canary",
                    severity="ERROR",
                    message=everything,
                    payload={"text": everything},
                )
                await uow.commit()
            async with storage.uow_factory() as uow:
                return await uow.events.recent(100)

    events = asyncio.run(record_and_read())

    # Assert
    assert [r.exit_code for r in said] == [0] * 9 + [2], [r.output for r in said]
    assert settings.kis_app_secret is not None and settings.kis_app_secret.get_secret_value() == ROTATED_CANARY
    outputs = {
        "commands": "\n".join(r.stdout + r.stderr for r in said),
        "events": "\n".join(f"{e.kind} {e.message} {json.dumps(e.payload)}" for e in events),
        "log file": "\n".join(p.read_text(encoding="utf-8") for p in log_dir.glob("*.jsonl")),
    }
    canaries = [*KEYRING_CANARIES.values(), ROTATED_CANARY]
    assert {name: [c for c in canaries if c in text] for name, text in outputs.items()} == {key: [] for key in outputs}
    assert {"secret_set", "secret_rotated", "secret_deleted", "canary"} <= {e.kind for e in events}
    assert "every secret" in outputs["log file"] and "keyring" in outputs["commands"]
