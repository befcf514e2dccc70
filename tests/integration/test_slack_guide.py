"""`ai_developer_guides/SLACK_NOTIFICATION_GUIDE.md` stays true: its examples run against the fake Slack server
with the settings an owner's `.env` would hold, and every setting, command, table, file and class it names
exists (`tests/guide_check.py`)."""

from pathlib import Path

import pytest

from tests.fake_slack import TOKEN, FakeSlack
from tests.guide_check import REPO, guide_problems, python_blocks, run_python_blocks

GUIDE = REPO / "ai_developer_guides" / "SLACK_NOTIFICATION_GUIDE.md"
ALERTS, TRADES = "C0ALERTS01", "C0TRADES01"


def test_slack_guide_when_read_then_every_named_setting_command_table_file_and_class_exists():
    assert guide_problems(GUIDE) == []


def test_slack_guide_when_its_examples_run_against_the_fake_slack_then_each_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Arrange: the settings of an owner's .env, Slack pointed at the fake.
    monkeypatch.chdir(tmp_path)
    with FakeSlack() as fake:
        for name, value in {
            "MODE": "paper",
            "DATA_DIR": str(tmp_path / "data"),
            "DB_URL": "",
            "LOG_DIR": str(tmp_path / "logs"),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_ALERTS_CHANNEL_ID": ALERTS,
            "SLACK_TRADES_CHANNEL_ID": TRADES,
            "SLACK_BASE_URL": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)

        # Act
        ran = run_python_blocks(GUIDE)

        # Assert: what the examples sent reached the channels they name.
        alerts = [m["text"] for m in fake.messages(ALERTS)]
    assert ran == len(python_blocks(GUIDE)) >= 6
    assert any("`broker_login_failed` [paper]" in text for text in alerts)
    assert ":wave: stockbot can reach this channel" in alerts


def test_guide_check_when_a_guide_names_what_does_not_exist_then_each_is_reported(tmp_path: Path):
    guide = tmp_path / "GUIDE.md"
    guide.write_text(
        "Set `SLACK_ALERT_CHANNEL` and `RISK_*`; run `stockbot secrets sett NAME` or `stockbot kill --now`;\n"
        "read the `event_log` table; see `adapters/notifications/slak.py`, `SlackPosterX`, `SlackPoster.post`,\n"
        "`record_events()`. Fine: `SLACK_BOT_TOKEN=xoxb-1`, `stockbot service install|status --print`, the\n"
        "`events` table, `service_layer/events.py`, `SlackResult.ok`, `mask()`, `TRADE_KINDS`.\n"
        "```python\nraise RuntimeError('broken example')\n```\n",
        encoding="utf-8",
    )

    problems = guide_problems(guide)

    assert problems == [
        "GUIDE.md line 1: no setting SLACK_ALERT_CHANNEL (config/settings.py)",
        "GUIDE.md line 1: no command stockbot secrets sett",
        "GUIDE.md line 1: `stockbot kill` has no option --now",
        "GUIDE.md line 2: no table 'event_log' in the schema",
        "GUIDE.md line 2: no file adapters/notifications/slak.py",
        "GUIDE.md line 2: no class SlackPosterX in src/ or tests/",
        "GUIDE.md line 2: SlackPoster has no attribute post",
        "GUIDE.md line 3: no function record_events() in src/ or tests/",
    ]
    with pytest.raises(AssertionError, match=r"GUIDE.md: the example at line 6 fails: RuntimeError: broken example"):
        run_python_blocks(guide)
