"""What the daemon runs beside and between its sessions, as the composition root supplies it.

`Companion`: work beside the sessions for the whole run (the symbol master's refresh); `AfterClose`: work after
a session is settled and before the next opens (the AI batch jobs). Neither may raise; the kill switch still
interrupts them (`service_layer.daemon.TradingDaemon`).
"""

from typing import Protocol

from stock_manager.service_layer.ports.storage import DailySettlement


class Companion(Protocol):
    """Work that runs beside the sessions for the whole run (`run` until cancelled); it must not raise."""

    async def run(self) -> None: ...


class AfterClose(Protocol):
    """Work done once a session is settled and before the next opens (the AI batch jobs): it must not raise;
    the daemon logs and goes on if it does, and the kill switch still interrupts it."""

    async def __call__(self, account_id: str, settlement: DailySettlement) -> None: ...
