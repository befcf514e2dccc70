"""What a daemon reports about itself in ``daemon_state``: its trading state and why, the session it trades or
waits for, and a heartbeat the kill-switch watcher keeps fresh (``stockbot status``, ``stockbot kill --wait``)."""

from dataclasses import replace
from datetime import date, datetime

from stock_manager.domain.clock import Clock
from stock_manager.service_layer.ports.storage import DaemonState, UnitOfWorkFactory


class DaemonStatus:
    """The daemon's one row of ``daemon_state``; nothing is written before `start`.

    Parameters
    ----------
    uow_factory : UnitOfWorkFactory
        Where the row is written (one short transaction per change).
    wall_clock : Clock
        Real time, for the start and the heartbeat (aware UTC).
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, wall_clock: Clock) -> None:
        self._uow = uow_factory
        self._wall = wall_clock
        self._state: DaemonState | None = None

    @property
    def state(self) -> DaemonState | None:
        """Return what was last reported, or None before `start`."""
        return self._state

    async def start(self, account_id: str, mode: str, pid: int) -> None:
        """Report the daemon STARTING for `account_id` (process `pid`)."""
        now = self._wall.now()
        self._state = DaemonState(account_id, mode, "STARTING", "", None, None, pid, now, now)
        await self._write()

    async def set(
        self,
        trading_state: str,
        reason: str = "",
        trading_date: date | None = None,
        *,
        ts_next_session: datetime | None = None,
    ) -> None:
        """Report `trading_state` (STARTING, WAITING, TRADING, STOPPED, CLOSED, EXITED) with its `reason`; the
        trading date stays the last one given; `ts_next_session` (aware UTC) is kept only while WAITING."""
        if self._state is None:
            return
        self._state = replace(
            self._state,
            trading_state=trading_state,
            stop_reason=reason,
            trading_date=trading_date or self._state.trading_date,
            ts_heartbeat=self._wall.now(),
            ts_next_session=ts_next_session if trading_state == "WAITING" else None,
        )
        await self._write()

    async def heartbeat(self) -> None:
        """Report a sign of life: the same state, the heartbeat moved to now."""
        if self._state is None:
            return
        self._state = replace(self._state, ts_heartbeat=self._wall.now())
        await self._write()

    async def _write(self) -> None:
        assert self._state is not None
        async with self._uow() as uow:
            await uow.control.put_daemon_state(self._state)
            await uow.commit()
