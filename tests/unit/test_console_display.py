"""What the owner reads: account numbers masked as promised (5012****-01), times in KST, one format for order
numbers (no leading zeros), no raw log line from `kill`, and one-line refusals of bad CLI input."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from stock_manager.adapters.notifications.console import ConsoleNotifier
from stock_manager.adapters.notifications.display import order_numbers
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.migrate import upgrade_to_head
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.entrypoints import cli_app
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.views import render_status, status_data
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.records import DaemonState, EventRecord, KillSwitchState
from stock_manager.service_layer.views.status import StatusReport

ACCOUNT = "50000000-01"
T0 = datetime(2026, 3, 2, 15, 5, tzinfo=UTC)  # 00:05 KST on 3 March: another day in UTC


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str | None]]:
    """The CLI's environment: an SQLite database in a fresh data directory, no `.env`, and a console wide enough
    that no table wraps a message (the CLI's console is made at import, when COLUMNS may not be set)."""
    monkeypatch.chdir(tmp_path)
    before = cli_app.console._width
    cli_app.console.width = 300
    yield {"DATA_DIR": str(tmp_path / "data"), "DB_URL": None, "MODE": None, "KIS_ACCOUNT": None, "COLUMNS": "300"}
    cli_app.console._width = before


def seed(data_dir: Path) -> None:
    """A daemon that ran on `ACCOUNT` and left an event naming an order with a zero-padded number."""
    data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        url = f"sqlite+aiosqlite:///{(data_dir / 'stockbot.db').as_posix()}"
        await upgrade_to_head(url)
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine, mode="sim")() as uow:
                await uow.control.put_daemon_state(
                    DaemonState(ACCOUNT, "sim", "EXITED", "", date(2026, 3, 2), None, 1, T0, T0)
                )
                await record_event(
                    uow,
                    NullNotifier(),
                    ts=T0,
                    kind="fill",
                    severity="INFO",
                    account_id=ACCOUNT,
                    message=f"BUY 31 005930 @ 62900 (order 0000000003) on {ACCOUNT}",
                )
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


def invoke(env: dict[str, str | None], *args: str):
    return CliRunner().invoke(app, list(args), env=env)


# -- ACCOUNT NUMBERS, ORDER NUMBERS -------------------------------------------------------------------------


def test_status_when_a_daemon_ran_then_its_account_is_masked_and_order_numbers_unpadded(env):
    seed(Path(env["DATA_DIR"]))

    shown = invoke(env, "status")
    data = json.loads(invoke(env, "status", "--json").stdout)

    assert shown.exit_code == 0, shown.output
    assert ACCOUNT not in shown.output and "account 5000****-01" in shown.output
    assert "(order 3) on 5000****-01" in shown.output and "0000000003" not in shown.output
    assert data["daemon"]["account_id"] == "5000****-01"
    assert data["events"][0]["message"] == "BUY 31 005930 @ 62900 (order 3) on 5000****-01"


def test_risk_show_when_a_limit_was_changed_then_account_masked_and_the_time_in_kst(env):
    seed(Path(env["DATA_DIR"]))
    assert invoke(env, "risk", "set", "max_open_positions", "4", "--yes").exit_code == 0

    shown = invoke(env, "risk", "show")

    assert "account 5000****-01" in shown.output and ACCOUNT not in shown.output
    assert "KST" in shown.output and "UTC" not in shown.output


def test_status_open_orders_show_the_broker_number_without_leading_zeros():
    order = SimpleNamespace(
        id=7,
        symbol="005930",
        side=SimpleNamespace(value="BUY"),
        quantity=Decimal(31),
        limit_price=Decimal(64300),
        status=SimpleNamespace(value="SENT"),
        filled_quantity=Decimal(0),
        broker_order_number="0000011774",
    )
    report = StatusReport(None, KillSwitchState(False, "", "", None), [], [order], None, Decimal(0), None, [])  # type: ignore[list-item]
    out = StringIO()

    render_status(report, Console(file=out, width=200))

    assert "11774" in out.getvalue() and "0000011774" not in out.getvalue()
    assert status_data(report)["open_orders"][0]["broker_order_number"] == "11774"


def test_console_when_an_event_names_a_padded_order_number_then_it_is_shown_like_the_acknowledgement():
    out = StringIO()
    notifier = ConsoleNotifier(Console(file=out, width=200))

    notifier.event(EventRecord(T0, "order_sent", "INFO", "005930 order accepted as 3"))
    notifier.event(EventRecord(T0, "fill", "INFO", "BUY 31 005930 @ 62900 (order 0000000003)"))

    lines = out.getvalue().splitlines()
    assert lines[0].endswith("005930 order accepted as 3") and lines[1].endswith("(order 3)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("005930 order 0000000004: expired at the close", "005930 order 4: expired at the close"),
        (
            "external order 0000011774 was not placed by this daemon",
            "external order 11774 was not placed by this daemon",
        ),
        ("fill 0000000003-0001 of 1,000,000 KRW", "fill 3-0001 of 1,000,000 KRW"),
        (
            "symbols 005930 069500, 8 digits 00001234, 11 digits 00000000012",
            "symbols 005930 069500, 8 digits 00001234, 11 digits 00000000012",
        ),
        ("price 0000000001.5", "price 0000000001.5"),
    ],
)
def test_order_numbers_when_shown_then_only_padded_order_numbers_change(text, expected):
    assert order_numbers(text) == expected


# -- COMMANDS --------------------------------------------------------------------------------------------


def test_kill_when_set_then_no_raw_log_line_only_the_sentence(env):
    result = invoke(env, "kill", "--wait", "0")

    assert result.exit_code == 0, result.output
    assert result.stderr == "" and "[critical" not in result.output
    assert result.stdout.startswith("Kill switch set for every daemon (stockbot kill; halt).")


@pytest.mark.parametrize("value", ["", "   "])
def test_risk_set_when_the_value_is_blank_then_refused_and_the_limit_stays(env, value):
    result = invoke(env, "risk", "set", "max_open_positions", value, "--yes")
    shown = invoke(env, "risk", "show", "--json")

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Configuration error: risk limit max_open_positions needs a value: a number, "
        "true/false or 'off' (`off` is the only way to switch a rule off)"
    )
    limits = {line["name"]: line for line in json.loads(shown.stdout)["limits"]}
    assert limits["max_open_positions"]["value"] == "5" and limits["max_open_positions"]["source"] == "settings"


def test_recover_dry_run_json_when_nothing_to_recover_then_still_json(env):
    result = invoke(env, "recover", "--dry-run", "--json")

    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (data["outcome"], data["clean"], data["actions"], data["account_id"]) == ("CLEAN", True, [], None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rest-port", "99999"], "--rest-port must be 0 (any free port) or 1-65535, was 99999"),
        (["--ws-port", "-1"], "--ws-port must be 0 (any free port) or 1-65535, was -1"),
        (["--rest-port", "18443", "--ws-port", "18443"], "--rest-port and --ws-port must differ, both were 18443"),
        (["--speed", "0"], "--speed must be 'fastest' or a positive number of market seconds per second, was '0'"),
        (["--speed", "nan"], "--speed must be 'fastest' or a positive number"),
        (["--from", "2023-12-22", "--to", "2023-12-01"], "--from 2023-12-22 is after --to 2023-12-01"),
        (["--from", "2030-01-02", "--to", "2030-01-31"], "no trading day with data"),
    ],
)
def test_exchange_sim_when_an_option_is_bad_then_one_line_and_exit_2(env, args, message):
    result = invoke(env, "exchange-sim", *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_kill_when_dotenv_has_a_mistake_then_the_switch_is_still_set_on_the_configured_database(env, tmp_path):
    # The running daemon was started before the mistake: `kill` must still reach its database.
    data_dir = tmp_path / "elsewhere"
    (tmp_path / ".env").write_bytes(f"DATA_DIR={data_dir}\nKIS_APPKEY=x\nLOG_LEVEL=LOUD\n# \xb1\n".encode("latin-1"))

    killed = invoke({**env, "DATA_DIR": None}, "kill", "--wait", "0", "--reason", "panic")
    (tmp_path / ".env").unlink()
    shown = invoke({**env, "DATA_DIR": str(data_dir)}, "risk", "show", "--json")

    assert killed.exit_code == 0, killed.output
    assert (
        killed.stderr.startswith("Warning: .env is not UTF-8")
        and "setting the kill switch on sqlite" in killed.stderr
        and str(data_dir) in killed.stderr
    )
    assert "Kill switch set for every daemon (panic; halt)" in killed.stdout
    switch = json.loads(shown.stdout)["kill_switch"]
    assert switch["active"] is True and switch["reason"] == "panic"
