"""The daemon's watch on the kill switch: the database's row polled (and, on PostgreSQL, a ``LISTEN
stockbot_kill`` connection that wakes the poll at once), the process's `KillSwitch` tripped when it is set, and
the daemon's heartbeat kept fresh meanwhile (in a session and while WAITING between sessions)."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from stock_manager.service_layer.daemon_status import DaemonStatus
from stock_manager.service_layer.kill_switch import KillSwitch
from stock_manager.service_layer.ports.kill_notices import KillSwitchNotices
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory

log = structlog.get_logger("stockbot.daemon")


class WatchTimings(Protocol):
    """The intervals the watch reads (the daemon's `DaemonConfig`), seconds."""

    @property
    def kill_poll_interval_secs(self) -> float: ...

    @property
    def heartbeat_interval_secs(self) -> float: ...

    @property
    def notice_reconnect_secs(self) -> float: ...


class KillSwitchWatch:
    """Two loops for two tasks of the daemon: `watch` (poll, trip, heartbeat) and `listen` (notices).

    Parameters
    ----------
    notices : Callable[[], Awaitable[KillSwitchNotices]] | None
        Connects a notice listener (PostgreSQL); None: poll only.
    """

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        kill_switch: KillSwitch,
        status: DaemonStatus,
        config: WatchTimings,
        notices: Callable[[], Awaitable[KillSwitchNotices]] | None,
    ) -> None:
        self._uow = uow_factory
        self._switch = kill_switch
        self._status = status
        self._config = config
        self._notices = notices
        self._wake = asyncio.Event()

    async def watch(self) -> None:
        """Read the database's kill switch every poll interval, or at once when a notice wakes it, and trip the
        process's switch when it is set (or cannot be read: that counts as set); keep the heartbeat fresh."""
        loop = asyncio.get_running_loop()
        last_heartbeat = loop.time()
        while True:
            try:
                async with self._uow() as uow:
                    switch = await uow.control.get_kill_switch()
                if switch.active:
                    self._switch.trip(switch.reason or "no reason given")
                    return
                if loop.time() - last_heartbeat >= self._config.heartbeat_interval_secs:
                    last_heartbeat = loop.time()
                    await self._status.heartbeat()
            except Exception as e:
                self._switch.trip(f"kill switch unreadable: {type(e).__name__}")
                log.error("kill_switch_unreadable", error=str(e))
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.kill_poll_interval_secs)
            self._wake.clear()

    async def listen(self) -> None:
        """Keep a notice listener connected (PostgreSQL); each notice wakes `watch`. Any failure only costs
        latency: the watcher polls regardless."""
        if self._notices is None:
            return
        while True:
            notices: KillSwitchNotices | None = None
            try:
                notices = await self._notices()
                while True:
                    if await notices.wait(30.0):
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("kill_switch_listener_lost", error=f"{type(e).__name__}: {e}")
            finally:
                if notices is not None:
                    await notices.close()
            await asyncio.sleep(self._config.notice_reconnect_secs)
