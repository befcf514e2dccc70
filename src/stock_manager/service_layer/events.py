"""Recording events: one helper so every event has the same shape and reaches the notifier once it is true.

An event is written in the caller's transaction and announced (log line, notifier) only after that
transaction commits: an order rolled back is never announced.
"""

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import structlog

from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import EventRecord, UnitOfWork

log = structlog.get_logger("stockbot.events")

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def plain(number: Decimal) -> str:
    """Return `number` without trailing zeros or exponent, for messages (``Decimal("31.0000")`` → ``"31"``)."""
    return f"{number.normalize():f}"


def correlation_id_for(idempotency_key: str) -> str:
    """Return the correlation id of a decision: 16 hex of sha256(idempotency key); stable across restarts."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def jsonable(value: Any) -> Any:
    """Return `value` with Decimals, dates and enums turned into strings, recursively (for JSON payloads)."""
    match value:
        case Decimal() | date() | datetime():
            return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
        case Enum():
            return value.value
        case Mapping():
            return jsonable_mapping(value)
        case list() | tuple() | set() | frozenset():
            return [jsonable(v) for v in value]
        case _:
            return value


def jsonable_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    """Return `jsonable` of a mapping: a dict with string keys and JSON-safe values."""
    return {str(k): jsonable(v) for k, v in value.items()}


async def record_event(
    uow: UnitOfWork,
    notifier: Notifier,
    *,
    ts: datetime,
    kind: str,
    severity: str,
    message: str,
    payload: Mapping[str, Any] | None = None,
    correlation_id: str = "",
    account_id: str | None = None,
) -> EventRecord:
    """Add an event to `uow` (the caller commits); once the commit succeeds, log it and pass it to the notifier.

    Raises
    ------
    ValueError
        If `severity` is not DEBUG, INFO, WARNING, ERROR or CRITICAL.
    """
    if severity not in _LEVELS:
        raise ValueError(f"unknown severity {severity!r}")
    record = EventRecord(
        ts_event=ts,
        kind=kind,
        severity=severity,
        message=message,
        payload=jsonable(dict(payload or {})),
        correlation_id=correlation_id,
        account_id=account_id,
    )
    await uow.events.add(record)

    def announce() -> None:
        log.log(
            _LEVELS[severity],
            kind,
            message=message,
            correlation_id=correlation_id or None,
            ts_market=ts.isoformat(),
            payload=record.payload,
        )
        notifier.event(record)

    uow.after_commit(announce)
    return record
