"""Slack, log and metrics settings: channel IDs only, incomplete Slack settings refused with one line."""

import pytest

from stock_manager.config.settings import load_settings
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.bootstrap import build_slack_notifier


def test_settings_when_a_channel_name_is_given_then_it_is_refused_naming_the_setting():
    with pytest.raises(ConfigurationError, match=r"SLACK_ALERTS_CHANNEL_ID: .*channel ID like C0123ABCD"):
        load_settings(slack_alerts_channel_id="#alerts")


def test_settings_when_slack_values_are_secret_then_the_error_never_echoes_them():
    with pytest.raises(ConfigurationError) as raised:
        load_settings(slack_bot_token="xoxb-secret-value", metrics_port=70_000)

    assert "METRICS_PORT" in str(raised.value) and "xoxb-secret-value" not in str(raised.value)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"slack_bot_token": "xoxb-1-2-abc"}, "SLACK_ALERTS_CHANNEL_ID is not"),
        ({"slack_trades_channel_id": "C0TRADES01"}, "SLACK_BOT_TOKEN is not"),
    ],
)
def test_slack_when_settings_are_incomplete_then_configuration_error(values, problem):
    with pytest.raises(ConfigurationError, match=problem):
        build_slack_notifier(load_settings(**values))


def test_slack_when_not_configured_then_no_notifier_and_when_configured_trades_default_to_alerts():
    assert build_slack_notifier(load_settings()) is None
    notifier = build_slack_notifier(load_settings(slack_bot_token="xoxb-1-2-abc", slack_alerts_channel_id="C0ALERTS01"))

    assert notifier is not None
    assert (notifier._channels.alerts, notifier._channels.trades) == ("C0ALERTS01", "C0ALERTS01")
