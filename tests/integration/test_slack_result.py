"""Spec 001 §6.3: a Slack failure is returned as a value (`SlackResult`), never raised, whatever the failure —
Slack's own refusals, HTTP errors, rate limiting, a refused connection, a server that hangs."""

import pytest

from stock_manager.adapters.notifications.slack_client import SlackPoster, SlackResult
from tests.fake_slack import TOKEN, FakeSlack, refused_base_url

ALERTS = "C0ALERTS01"


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def test_post_when_slack_accepts_then_ok_with_the_message_ts(slack):
    result = SlackPoster(TOKEN, base_url=slack.base_url, retries=0).post_message(ALERTS, "hello")

    assert result.ok and result.error == "" and result.ts is not None


@pytest.mark.parametrize(
    ("outage", "error"), [("none", "channel_not_found"), ("error500", "internal error"), ("ratelimited", "ratelimited")]
)
def test_post_when_slack_refuses_then_a_result_names_why(slack, outage, error):
    slack.set_outage(outage)
    channel = "#alerts" if outage == "none" else ALERTS  # a name is not an ID: Slack knows no such channel

    result = SlackPoster(TOKEN, base_url=slack.base_url, retries=0).post_message(channel, "hello")

    assert isinstance(result, SlackResult) and not result.ok and error in result.error


def test_post_when_nothing_listens_or_slack_hangs_then_a_result_not_an_exception(slack):
    slack.set_outage("hang", hang_secs=5)

    refused = SlackPoster(TOKEN, base_url=refused_base_url(), retries=0).post_message(ALERTS, "hello")
    hanging = SlackPoster(TOKEN, base_url=slack.base_url, timeout_secs=1, retries=0).upload_file(
        ALERTS, "equity.png", b"\x89PNG", title="equity", comment="report"
    )
    slack.set_outage("none")

    assert not refused.ok and refused.error
    assert not hanging.ok and hanging.error


def test_post_when_the_token_is_wrong_then_invalid_auth_and_the_token_masked(slack):
    result = SlackPoster("xoxb-9-9-wrongTOKENvalue", base_url=slack.base_url, retries=0).auth_test()

    assert result == SlackResult(ok=False, error="invalid_auth")
    assert "wrongTOKENvalue" not in repr(result)
