"""The daemon between sessions: it takes the schedule's sessions one at a time, says it is WAITING (the state,
the next session's start, an event) while the schedule waits for the next one (nights, weekends, holidays of
the venue's calendar), stops waiting at once when the kill switch or a stop request trips, and logs in again
before a session it had to wait for: access tokens expire (some after 24 h), so each trading day starts
with a fresh login.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import TemporaryBrokerError
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.daemon_status import DaemonStatus
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.kill_switch import KillSwitch, unless_tripped
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.schedule import SessionSchedule
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory

log = structlog.get_logger("stockbot.daemon")


class SessionWaiter:
    """The sessions of `schedule`, one per `next` call, with the waits between them reported and interruptible.

    Parameters
    ----------
    schedule : SessionSchedule
        The venue's sessions (a calendar and the wall clock; or a replay, which never waits).
    broker : Broker
        Logged in again (`Broker.login`) before each session the schedule had to wait for.
    status : DaemonStatus
        Where WAITING and the next session's start are reported.
    kill_switch : KillSwitch
        Tripped by the kill switch's watcher or a stop request; a wait ends at once when it trips.
    clock : Clock
        Market time, for the event's timestamp.
    show_time : Callable[[datetime], str]
        How people read a time (the composition root shows the owner's zone).
    relogin_retry_secs : float
        Pause between login attempts while the broker cannot be reached (`TemporaryBrokerError`).
    """

    def __init__(
        self,
        *,
        schedule: SessionSchedule,
        broker: Broker,
        status: DaemonStatus,
        kill_switch: KillSwitch,
        uow_factory: UnitOfWorkFactory,
        notifier: Notifier,
        clock: Clock,
        account_id: str,
        show_time: Callable[[datetime], str],
        relogin_retry_secs: float = 5.0,
    ) -> None:
        self._schedule = schedule
        self._broker = broker
        self._status = status
        self._switch = kill_switch
        self._uow = uow_factory
        self._notifier = notifier
        self._clock = clock
        self._account_id = account_id
        self._show_time = show_time
        self._retry_secs = relogin_retry_secs
        self._sessions: AsyncIterator[TradingSession] | None = None
        self._waited = False
        self.logins = 0  # logins after a wait (one per trading day waited for)

    async def next(self) -> TradingSession | None:
        """Return the next session once it is due, logged in again if it had to be waited for; None when the
        schedule is exhausted or the kill switch (or a stop request) tripped first.

        Raises
        ------
        FatalBrokerError
            If the broker refuses the login (credentials revoked).
        """
        due = asyncio.ensure_future(self._take())
        if not await unless_tripped(self._switch, due) or (session := due.result()) is None:
            return None
        if self._waited:
            self._waited = False
            if not await unless_tripped(self._switch, self._log_in_again(session)):
                return None
        return session

    async def _take(self) -> TradingSession | None:
        if self._sessions is None:
            self._sessions = aiter(self._schedule.sessions(self._on_wait))
        try:
            return await anext(self._sessions)
        except StopAsyncIteration:
            return None

    async def _on_wait(self, session: TradingSession) -> None:
        self._waited = True
        starts = self._show_time(session.ts_first_order)
        await self._status.set("WAITING", "", ts_next_session=session.ts_first_order)
        async with self._uow() as uow:
            await record_event(
                uow,
                self._notifier,
                ts=self._clock.now(),
                kind="daemon_waiting",
                severity="INFO",
                message=f"WAITING for {starts} (session {session.trading_date})",
                account_id=self._account_id,
                payload={"trading_date": session.trading_date, "ts_next_session": session.ts_first_order},
            )
            await uow.commit()

    async def _log_in_again(self, session: TradingSession) -> None:
        # A new trading day: a fresh login (the broker reissues what has expired). While the broker cannot be
        # reached, try again; the kill switch still ends the wait.
        while True:
            try:
                await self._broker.login()
            except TemporaryBrokerError as e:
                log.warning("daemon_relogin_failed", trading_date=str(session.trading_date), error=str(e))
                await asyncio.sleep(self._retry_secs)
                continue
            self.logins += 1
            log.info("daemon_relogin", trading_date=str(session.trading_date))
            return
