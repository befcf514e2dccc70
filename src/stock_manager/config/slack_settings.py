"""Slack's settings (spec 001 §6.3; ai_developer_guides/SLACK_NOTIFICATION_GUIDE.md): one group of `Settings`' fields.

Channels by ID only, never by name; the bot token is a secret (environment, ``.env`` or the OS credential store).
"""

import re

from pydantic import BaseModel, SecretStr, field_validator

#: A Slack channel (or group / DM) ID such as ``C0123ABCD``; names are never used (spec 001 §6.3).
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")


class SlackSettings(BaseModel):
    """The ``SLACK_*`` settings (`Settings` has them all); Slack is off without a bot token."""

    slack_bot_token: SecretStr | None = None
    slack_alerts_channel_id: str | None = None
    slack_trades_channel_id: str | None = None
    slack_base_url: str = "https://slack.com/api/"

    @field_validator("slack_alerts_channel_id", "slack_trades_channel_id")
    @classmethod
    def _check_channel_id(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_CHANNEL_ID.match(value.strip()):
            raise ValueError("must be a Slack channel ID like C0123ABCD (channel names are not accepted)")
        return value.strip() if value is not None else None

    @property
    def slack_enabled(self) -> bool:
        """Return True when a Slack bot token is set (the channels are then required)."""
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    def slack_problem(self) -> str | None:
        """Return what is missing for Slack, or None when it is configured or deliberately off."""
        if self.slack_enabled and not self.slack_alerts_channel_id:
            return "SLACK_BOT_TOKEN is set but SLACK_ALERTS_CHANNEL_ID is not"
        if not self.slack_enabled and (self.slack_alerts_channel_id or self.slack_trades_channel_id):
            return "a Slack channel ID is set but SLACK_BOT_TOKEN is not"
        return None
