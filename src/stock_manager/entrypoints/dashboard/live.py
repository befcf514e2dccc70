"""Live updates: one watcher looks at the database while at least one page listens, and tells every listener
(Server-Sent Events, ``GET /stream``) when something changed; the page then fetches the fragments it shows.

What counts as a change: a new event (every order, fill, cancel, kill and session step records one), any
venue's daemon state or heartbeat, any kill switch (every daemon's or a venue's). One cheap read per interval,
whatever the number of pages.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from stock_manager.service_layer.ports.storage import UnitOfWorkFactory

log = structlog.get_logger("stockbot.dashboard")

#: Seconds between keep-alive comments on an idle stream (proxies and phones drop silent connections).
KEEPALIVE_SECS = 15.0


class ChangeWatcher:
    """Polls a fingerprint of the database every `interval_secs` while anyone listens; `version` increases on
    each change and `changed` wakes the listeners."""

    def __init__(self, uow_factory: UnitOfWorkFactory, interval_secs: float) -> None:
        self._uow_factory = uow_factory
        self._interval_secs = interval_secs
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self.version = 0
        self.fingerprint: tuple[object, ...] | None = None

    async def read_fingerprint(self) -> tuple[object, ...]:
        """Return what identifies the database's visible state now."""
        async with self._uow_factory() as uow:
            newest = await uow.events.recent(1)
            daemons = await uow.control.list_daemon_states()
            switches = await uow.control.list_kill_switches()
        return (
            newest[0].id if newest else None,
            tuple((d.account_id, d.trading_state, d.ts_heartbeat) for d in daemons),
            tuple((s.scope, s.active, s.ts_changed) for s in switches),
        )

    async def listen(self) -> AsyncIterator[int]:
        """Yield the version now, then each new version, until the watcher stops (or the caller leaves)."""
        self._listeners += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dashboard-change-watcher")
        try:
            seen = -1
            while not self._stopping.is_set():
                if self.version != seen:
                    seen = self.version
                    yield seen
                    continue
                waiter = asyncio.ensure_future(self._changed.wait())
                stopper = asyncio.ensure_future(self._stopping.wait())
                try:
                    await asyncio.wait({waiter, stopper}, timeout=KEEPALIVE_SECS, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    stopper.cancel()
                if self.version == seen and not self._stopping.is_set():
                    yield -1  # nothing new: a keep-alive
        finally:
            self._listeners -= 1

    async def stop(self) -> None:
        """End every stream and the polling task."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._listeners > 0 and not self._stopping.is_set():
            try:
                fingerprint = await self.read_fingerprint()
            except Exception as e:  # a database hiccup must not end the page's stream; try again next time
                log.warning("dashboard_watch_failed", error=f"{type(e).__name__}: {e}")
            else:
                if fingerprint != self.fingerprint:
                    self.fingerprint = fingerprint
                    self.version += 1
                    self._changed.set()
                    self._changed = asyncio.Event()
            await asyncio.sleep(self._interval_secs)
