"""The trading daemon: login, then for each session open → intraday → close, with the kill switch
watched from the database throughout: it reaches a running daemon within one poll interval, and at once on
PostgreSQL, where a ``LISTEN stockbot_kill`` connection wakes the watcher (the poll stays as the fallback).

On the kill switch the daemon stops sending (stop mode), does what the switch asks (``halt``: nothing more;
``cancel_open``: cancel every working order; ``flatten``: also sell every position at market and let the
session run until those sells are done, the session closes or `flatten_wait_secs` pass), records it and
exits. An unreadable switch counts as set (``cancel_open``).

Between sessions the daemon is WAITING (`waiting.SessionWaiter`): the next session's start in its state, the
heartbeat fresh, the kill switch heard within a poll interval, a new login before each trading day. A stop
request (`TradingDaemon.request_stop`: SIGINT, SIGTERM, a service stop) ends a run in order: nothing new is sent
from then on, an order already being sent is settled, working orders stay at the broker (a restart's recovery
finds them), the state is STOPPED with the reason, then EXITED.
"""

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError, StockbotError
from stock_manager.domain.modes import Mode
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.closing import BeforeClose, run_until_close
from stock_manager.service_layer.daemon_hooks import AfterClose, Companion
from stock_manager.service_layer.daemon_status import DaemonStatus
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.kill_switch import KillSwitch, unless_tripped
from stock_manager.service_layer.kill_watch import KillSwitchWatch
from stock_manager.service_layer.late_close import settle_missed_sessions
from stock_manager.service_layer.open_retry import open_with_retries
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.kill_notices import KillSwitchNotices
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.schedule import SessionSchedule
from stock_manager.service_layer.ports.storage import DailySettlement, UnitOfWorkFactory
from stock_manager.service_layer.trading_day import SessionRunner
from stock_manager.service_layer.waiting import SessionWaiter

log = structlog.get_logger("stockbot.daemon")


class KillSwitchActive(StockbotError):
    """The kill switch is set; the daemon will not start until `stockbot resume` clears it."""


class SessionAssembly(Protocol):
    """Builds the account's execution and session runner once the account is known (the composition root
    provides it, so the daemon never chooses a concrete object)."""

    def __call__(
        self,
        account_id: str,
        kill_switch: KillSwitch,
        on_stop: Callable[[str], Awaitable[None]],
        on_state: Callable[[str, str, date], Awaitable[None]],
    ) -> SessionRunner: ...


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """What one daemon run needs besides its ports."""

    mode: Mode
    account_id: str | None
    kill_poll_interval_secs: float = 0.25
    heartbeat_interval_secs: float = 5.0
    reconcile_interval_secs: float = 30.0
    kill_quiesce_secs: float = 10.0  # how long a kill waits for an order already being sent
    flatten_wait_secs: float = 30.0
    notice_reconnect_secs: float = 5.0
    relogin_retry_secs: float = 5.0  # between login attempts before a session while the broker is unreachable


@dataclass(slots=True)
class RunResult:
    """How a run ended: the sessions it closed, and whether the kill switch or a stop request (`stopped`: its
    reason) ended it."""

    settlements: list[DailySettlement] = field(default_factory=list)
    killed: bool = False
    stopped: str = ""
    kill_reason: str = ""
    kill_action: str = ""
    open_orders_cancelled: int = 0
    open_orders_left: int = 0
    flatten_orders: int = 0
    account_id: str = ""


class TradingDaemon:
    """Drives sessions from a `SessionSchedule` through a `SessionRunner`; stops on the kill switch.

    Parameters
    ----------
    assemble : SessionAssembly
        Builds the account's execution and session runner after login.
    clock : Clock
        Market time (the replay's clock in sim mode).
    wall_clock : Clock
        Real time, for the daemon's heartbeat.
    kill_notices : Callable[[], Awaitable[KillSwitchNotices]] | None
        Connects a listener for kill-switch notices (PostgreSQL); None: poll only.
    after_close : AfterClose | None
        Runs after each session's close (the AI batch jobs); None: nothing.
    companions : Sequence[Companion]
        Work beside the sessions for the whole run (the symbol master's refresh), cancelled when it ends.
    show_time : Callable[[datetime], str]
        How people read a time in the daemon's messages (the composition root shows the owner's zone).
    closed_sessions : Callable[[], list[TradingSession]] | None
        Sessions closed lately (paper, live); at start, missed closes among them are settled late (`late_close`).
    before_close : BeforeClose | None
        Returns when a session's closing cancels are due (paper, live: the lead before its close; `closing`).
    """

    def __init__(
        self,
        *,
        config: DaemonConfig,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        schedule: SessionSchedule,
        clock: Clock,
        wall_clock: Clock,
        notifier: Notifier,
        assemble: SessionAssembly,
        kill_notices: Callable[[], Awaitable[KillSwitchNotices]] | None = None,
        after_close: AfterClose | None = None,
        show_time: Callable[[datetime], str] = datetime.isoformat,
        companions: Sequence["Companion"] = (),
        closed_sessions: Callable[[], list[TradingSession]] | None = None,
        before_close: BeforeClose | None = None,
    ) -> None:
        self.config = config
        self._uow = uow_factory
        self._broker = broker
        self._schedule = schedule
        self._clock = clock
        self._wall = wall_clock
        self._notifier = notifier
        self._assemble = assemble
        self.kill_switch = KillSwitch()
        self.status = DaemonStatus(uow_factory, wall_clock)
        self._kill_notices = kill_notices
        self.after_close = after_close
        self._show_time = show_time
        self._companions = tuple(companions)
        self._stop_request: str | None = None
        self._closed_sessions = closed_sessions
        self._before_close = before_close
        self.waiter: SessionWaiter | None = None

    def request_stop(self, reason: str) -> None:
        """Stop in order (a signal, a service stop): nothing new is sent from now on, and the run ends as soon
        as whatever it is doing can be interrupted, with the state STOPPED (`reason`) and then EXITED. Safe to
        call from a signal handler on the loop's thread; a second call changes nothing."""
        if self._stop_request is None:
            self._stop_request = reason
        self.kill_switch.trip(reason)

    @property
    def _kill_reason(self) -> str:
        return self.kill_switch.reason or ""

    async def run(self) -> RunResult:
        """Trade every session the schedule yields; return when it is exhausted, the kill switch is set or a stop
        is requested (`request_stop`).

        Raises
        ------
        KillSwitchActive
            If the kill switch is already set at start (it is latched).
        ConfigurationError
            If the configured account is not one the broker offers.
        """
        async with self._uow() as uow:
            switch = await uow.control.get_kill_switch()
        if switch.active:
            raise KillSwitchActive(
                f"the kill switch is set ({switch.reason or 'no reason given'}); run `stockbot resume` to clear it"
            )
        if not await unless_tripped(self.kill_switch, self._broker.login()):  # a stop asked while logging in
            await self._broker.close()
            return RunResult(stopped=self._kill_reason)
        offered = await self._broker.get_accounts()
        accounts = [a.account_id for a in offered]
        account_id = self.config.account_id or (accounts[0] if len(accounts) == 1 else None)
        if account_id is None or account_id not in accounts:
            raise ConfigurationError(f"account {self.config.account_id!r} is not among the broker's accounts")
        result = RunResult(account_id=account_id)
        runner = self._assemble(
            account_id, self.kill_switch, lambda reason: self.status.set("STOPPED", reason), self.status.set
        )
        execution = runner.execution
        names = {a.account_id: a.name for a in offered}
        async with self._uow() as uow:
            await uow.accounts.seen(
                account_id, runner.venue.name, str(self.config.mode), names.get(account_id, ""), self._wall.now()
            )
            await uow.commit()
        await self.status.start(account_id, str(self.config.mode), os.getpid())
        await self._broker.subscribe_order_events(execution.on_broker_event)
        await self._broker.subscribe_quotes(runner.venue.instruments.symbols, runner.on_tick)
        watch = KillSwitchWatch(
            uow_factory=self._uow,
            kill_switch=self.kill_switch,
            status=self.status,
            config=self.config,
            notices=self._kill_notices,
        )
        watcher = asyncio.create_task(watch.watch(), name="kill-switch-watcher")
        listener = asyncio.create_task(watch.listen(), name="kill-switch-listener")
        beside = [asyncio.create_task(c.run(), name=type(c).__name__) for c in self._companions]
        self.waiter = SessionWaiter(
            schedule=self._schedule,
            broker=self._broker,
            status=self.status,
            kill_switch=self.kill_switch,
            uow_factory=self._uow,
            notifier=self._notifier,
            clock=self._clock,
            account_id=account_id,
            show_time=self._show_time,
            relogin_retry_secs=self.config.relogin_retry_secs,
        )
        current: TradingSession | None = None
        try:
            result.settlements += await settle_missed_sessions(runner, self._closed_sessions)
            while not self.kill_switch.tripped and (session := await self.waiter.next()) is not None:
                async with self._uow() as uow:
                    done = await uow.settlements.get(account_id, session.trading_date)
                if done is not None:
                    continue  # closed before a restart; the schedule is replaying past it
                current = session
                if not await unless_tripped(self.kill_switch, open_with_retries(runner, session)):
                    break
                if not await unless_tripped(self.kill_switch, self._run_session(session, execution)):
                    break
                settlement = await runner.close(session)
                result.settlements.append(settlement)
                current = None
                if self.after_close is not None and not await unless_tripped(
                    self.kill_switch, self._after_close_safely(account_id, settlement)
                ):
                    break
            if self._stop_request is not None and self.kill_switch.reason == self._stop_request:
                result.stopped = self._stop_request
                await self._stop_in_order(execution, result)
            elif self.kill_switch.tripped:
                result.killed, result.kill_reason = True, self._kill_reason
                await self._honour_kill(execution, current, result)
        finally:
            for task in (watcher, listener, *beside):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.status.set("EXITED", self._kill_reason)
            await self._broker.close()
        return result

    async def _stop_in_order(self, execution: Execution, result: RunResult) -> None:
        # A stop request: nothing new was sent since it came (the in-process switch blocks every send); settle
        # an order already being sent, leave working orders at the broker, say so, and exit.
        reason = result.stopped
        await self.status.set("STOPPED", reason)
        if not await execution.quiesce(self.config.kill_quiesce_secs):
            log.error("stop_quiesce_timeout", secs=self.config.kill_quiesce_secs)
        try:
            await execution.resync_from_database()  # the session task was stopped wherever it was
        except Exception as e:  # the broker or the database failing here must not keep the daemon from exiting
            log.error("stop_resync_failed", error=str(e))
        result.open_orders_left = len(execution.open_orders)
        async with self._uow() as uow:
            await record_event(
                uow,
                self._notifier,
                ts=self._clock.now(),
                kind="daemon_stopped",
                severity="WARNING",
                message=f"stopped in order ({reason}): nothing new sent since; "
                f"{result.open_orders_left} order(s) left working at the broker; exiting",
                account_id=execution.config.account_id,
                payload={"reason": reason, "left_working": result.open_orders_left},
            )
            await uow.commit()

    async def _after_close_safely(self, account_id: str, settlement: DailySettlement) -> None:
        # Outside the trading path: a failure here is logged and the next session opens as usual.
        assert self.after_close is not None
        try:
            await self.after_close(account_id, settlement)
        except Exception as e:
            log.error("after_close_failed", error=f"{type(e).__name__}: {e}")

    async def _run_session(self, session: TradingSession, execution: Execution) -> None:
        # The session's intraday part, with the working orders reconciled against the broker meanwhile.
        reconciler = asyncio.create_task(self._reconcile_periodically(execution), name="reconciler")
        try:
            await run_until_close(self._schedule, session, execution, self._before_close)
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler

    async def _reconcile_periodically(self, execution: Execution) -> None:
        # Continuous reconciliation (spec 001 §10): a shortfall is recorded only when two looks agree (a
        # notice may be in flight); a surplus stops trading. A failed look is logged and retried next time.
        while True:
            await asyncio.sleep(self.config.reconcile_interval_secs)
            try:
                await execution.reconcile_open_orders("periodic reconciliation", confirmed=False)
            except FatalBrokerError as e:
                await execution.enter_stop_mode(f"periodic reconciliation: {e}")
            except StockbotError as e:
                log.warning("periodic_reconciliation_failed", error=str(e))

    async def _honour_kill(self, execution: Execution, session: TradingSession | None, result: RunResult) -> None:
        action = await self._kill_action()
        result.kill_action = action
        await execution.enter_stop_mode(f"kill switch: {self._kill_reason}", rule="kill_switch")
        if not await execution.quiesce(self.config.kill_quiesce_secs):
            log.error("kill_quiesce_timeout", secs=self.config.kill_quiesce_secs)
        try:
            await execution.resync_from_database()  # the session task was stopped wherever it was
        except Exception as e:  # the broker or the database failing here must not keep the daemon from exiting
            log.error("kill_resync_failed", error=str(e))
        if action in ("cancel_open", "flatten"):
            result.open_orders_cancelled = await execution.cancel_open_orders("kill switch")
        if action == "flatten":
            sent = await execution.flatten(self._kill_reason)
            result.flatten_orders = len(sent)
            if sent and session is not None:
                await self._let_flatten_fill(execution, session, {o.id for o in sent})
        result.open_orders_left = len(execution.open_orders)
        left = f"; {result.open_orders_left} order(s) left working at the broker" if result.open_orders_left else ""
        async with self._uow() as uow:
            await record_event(
                uow,
                self._notifier,
                ts=self._clock.now(),
                kind="kill_switch",
                severity="CRITICAL",
                message=f"kill switch honoured ({action}): {self._kill_reason}; "
                f"{result.open_orders_cancelled} open order(s) cancelled, "
                f"{result.flatten_orders} flatten order(s) sent{left}; exiting",
                account_id=execution.config.account_id,
                payload={
                    "reason": self._kill_reason,
                    "action": action,
                    "cancelled": result.open_orders_cancelled,
                    "flatten_orders": result.flatten_orders,
                    "left_working": result.open_orders_left,
                },
            )
            await uow.commit()

    async def _kill_action(self) -> str:
        try:
            async with self._uow() as uow:
                switch = await uow.control.get_kill_switch()
            return switch.action if switch.active else "cancel_open"
        except Exception:
            return "cancel_open"  # the switch cannot be read: the safe side

    async def _let_flatten_fill(
        self, execution: Execution, session: TradingSession, order_ids: set[int | None]
    ) -> None:
        # Let the session go on (the replay plays its prints; live waits for notices) until the flatten
        # sells are done, the session closes, or flatten_wait_secs pass.
        market = asyncio.ensure_future(self._schedule.run_until_close(session))
        deadline = asyncio.get_running_loop().time() + self.config.flatten_wait_secs
        try:
            while (
                order_ids & execution.open_orders.keys()
                and not market.done()
                and asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.wait({market}, timeout=0.05)
        finally:
            if not market.done():
                market.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await market  # a failure here must not keep the kill from being recorded
