"""The daemon's universe kept current: the venue's symbol master fetched at start and at each of the venue's
update times (spec 001 §4.1.7), beside the sessions and the waits between them. A refresh that fails keeps
the last good master and alerts (a WARNING event: console, Slack); one that no longer lists a traded symbol
alerts too. Nothing here sends or cancels an order.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory
from stock_manager.service_layer.ports.symbol_master import ListedSymbols, SymbolMaster, SymbolMasterUnavailable

log = structlog.get_logger("stockbot.universe")

#: Longest single sleep between refreshes, seconds (a wall clock that jumps is noticed).
MAX_SLEEP_SLICE_SECS = 60.0


class UniverseRefresh:
    """A companion of the daemon: `run` refreshes the master until cancelled.

    Parameters
    ----------
    master : SymbolMaster
        Where the master comes from.
    traded : Sequence[str]
        The symbols the account trades (each is checked against every refreshed master).
    next_refresh : Callable[[datetime], datetime]
        The first update time after a given time (aware UTC).
    clock : Clock
        The wall clock.
    sleep : Callable[[float], Awaitable[None]]
        How to wait, seconds.
    """

    def __init__(
        self,
        *,
        master: SymbolMaster,
        traded: Sequence[str],
        next_refresh: Callable[[datetime], datetime],
        clock: Clock,
        uow_factory: UnitOfWorkFactory,
        notifier: Notifier,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._master = master
        self._traded = tuple(traded)
        self._next_refresh = next_refresh
        self._clock = clock
        self._uow = uow_factory
        self._notifier = notifier
        self._sleep = sleep
        self.last_good: ListedSymbols | None = None  # the universe in force: the last master fetched and read
        self.failures = 0

    async def run(self) -> None:
        """Refresh now, then at every update time, until cancelled."""
        await self.refresh()
        while True:
            due = self._next_refresh(self._clock.now())
            while (remaining := (due - self._clock.now()).total_seconds()) > 0:
                await self._sleep(min(remaining, MAX_SLEEP_SLICE_SECS))
            await self.refresh()

    async def refresh(self) -> bool:
        """Fetch the master once; keep it when it was read, else keep the last good one and alert. Return
        whether it was refreshed."""
        try:
            listed = await self._master.fetch()
        except SymbolMasterUnavailable as e:
            self.failures += 1
            kept = (
                f"keeping the master of {self.last_good.ts_fetched.isoformat(timespec='seconds')}"
                if self.last_good is not None
                else "keeping the bundled master"
            )
            await self._record("master_refresh_failed", "WARNING", f"symbol master refresh failed: {e}; {kept}")
            return False
        self.last_good = listed
        missing = [s for s in self._traded if s not in listed.symbols]
        if missing:
            await self._record(
                "master_refreshed",
                "WARNING",
                f"symbol master refreshed ({len(listed.symbols)} symbols); no longer listed: {', '.join(missing)}",
            )
        else:
            log.info("master_refreshed", symbols=len(listed.symbols))
            await self._record("master_refreshed", "INFO", f"symbol master refreshed ({len(listed.symbols)} symbols)")
        return True

    async def _record(self, kind: str, severity: str, message: str) -> None:
        try:
            async with self._uow() as uow:
                await record_event(
                    uow, self._notifier, ts=self._clock.now(), kind=kind, severity=severity, message=message
                )
                await uow.commit()
        except Exception as e:  # an alert that cannot be stored must not stop the refreshes
            log.error("master_event_failed", kind=kind, error=str(e))
