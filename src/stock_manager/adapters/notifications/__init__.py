"""Notifications: where alerts go (console now; Slack later)."""
