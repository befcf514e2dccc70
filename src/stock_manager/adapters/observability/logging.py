"""Structured logging with structlog: JSON lines or a readable console, UTC timestamps, KST shown too."""

import logging
import sys
from datetime import datetime
from typing import Any

import structlog

from stock_manager.domain.clock import KST

#: Keys whose values are replaced before any log line is written.
SECRET_KEYS = frozenset({"appkey", "appsecret", "app_key", "app_secret", "access_token", "approval_key",
                         "authorization", "secretkey", "password", "token"})


def _mask_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in SECRET_KEYS and event_dict[key]:
            event_dict[key] = "***"
    return event_dict


def _add_kst(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    # The line's own wall time (stamped by TimeStamper, UTC), shown in KST too.
    if ts := event_dict.get("ts_utc"):
        event_dict["ts_kst"] = datetime.fromisoformat(ts).astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")
    return event_dict


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Configure structlog and the standard library's root logger once, writing to stderr.

    Parameters
    ----------
    level : str
        DEBUG, INFO, WARNING, ERROR or CRITICAL.
    json_lines : bool
        JSON lines when True, a readable console renderer otherwise.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts_utc"),
            _add_kst,
            _mask_secrets,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
