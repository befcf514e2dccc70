"""Who did it: every control action from the command line (kill, resume, risk set, secrets set / rotate /
delete, service install / uninstall) is recorded as an event naming the operating-system user and host,
at the wall-clock time of the action (PRD §8 audit log, §15 self-confirmation log).

The actions share `current_actor` (the one place the who is read) and `record_control_action`; the kill
switch and risk limits also keep the actor in their own rows (``set_by``, ``changed_by``) as `Actor.label`.
"""

import getpass
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stock_manager.adapters.clock import SystemClock
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.storage import EventRecord, UnitOfWork, UnitOfWorkFactory

_LABEL_CHARS = 64  # the width of the set_by / changed_by columns


@dataclass(frozen=True, slots=True)
class Actor:
    """The operating-system user and host a control action came from."""

    user: str
    host: str

    @property
    def label(self) -> str:
        """Return ``cli user@host``, at most 64 characters (the ``set_by`` / ``changed_by`` columns)."""
        return f"cli {self.user}@{self.host}"[:_LABEL_CHARS]

    def payload(self) -> dict[str, str]:
        """Return the actor as an event payload entry (``{"user": …, "host": …}``)."""
        return {"user": self.user, "host": self.host}


def current_actor() -> Actor:
    """Return who runs this command: `getpass.getuser()` and `socket.gethostname()` (``unknown`` when either
    cannot be read)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in the environment or the password database
        user = "unknown"
    try:
        host = socket.gethostname()
    except OSError:
        host = "unknown"
    return Actor(user or "unknown", host or "unknown")


async def record_control_action(
    uow: UnitOfWork,
    *,
    kind: str,
    message: str,
    severity: str = "WARNING",
    payload: dict[str, Any] | None = None,
    actor: Actor | None = None,
    ts: datetime | None = None,
) -> EventRecord:
    """Add the event of one control action to `uow` (the caller commits), with its actor and time (default: now).

    The message ends with ``(by user@host)``; the payload carries ``actor: {user, host}``. Never pass a
    secret value in `message` or `payload`.
    """
    actor = actor or current_actor()
    return await record_event(
        uow,
        NullNotifier(),
        ts=ts or SystemClock().now(),
        kind=kind,
        severity=severity,
        message=f"{message} (by {actor.user}@{actor.host})",
        payload={**(payload or {}), "actor": actor.payload()},
    )


async def record_control_action_now(
    uow_factory: UnitOfWorkFactory,
    *,
    kind: str,
    message: str,
    severity: str = "WARNING",
    payload: dict[str, Any] | None = None,
) -> None:
    """Record one control action in its own transaction (for actions that change nothing else in the database)."""
    async with uow_factory() as uow:
        await record_control_action(uow, kind=kind, message=message, severity=severity, payload=payload)
        await uow.commit()
