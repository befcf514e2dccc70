"""The trading daemon: login, then for each session open → intraday → close, with the kill switch
watched from the database throughout: it reaches a running daemon within one poll interval, and at once on
PostgreSQL, where a ``LISTEN stockbot_kill`` connection wakes the watcher (the poll stays as the fallback).

On the kill switch the daemon stops sending (stop mode), does what the switch asks (``halt``: nothing more;
``cancel_open``: cancel every working order; ``flatten``: also sell every position at market and let the
session run until those sells are done, the session closes or `flatten_wait_secs` pass), records it and
exits. An unreadable switch counts as set (``cancel_open``).
"""

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError, StockbotError
from stock_manager.domain.modes import Mode
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.closing import BeforeClose, run_until_close
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.kill_switch import KillSwitch
from stock_manager.service_layer.late_close import settle_missed_sessions
from stock_manager.service_layer.open_retry import open_with_retries
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.kill_notices import KillSwitchNotices
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.schedule import SessionSchedule
from stock_manager.service_layer.ports.storage import DaemonState, DailySettlement, UnitOfWorkFactory
from stock_manager.service_layer.trading_day import SessionRunner

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


class AfterClose(Protocol):
    """Work done once a session is settled and before the next opens (the AI batch jobs): it must not raise;
    the daemon logs and goes on if it does, and the kill switch still interrupts it."""

    async def __call__(self, account_id: str, settlement: DailySettlement) -> None: ...


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


@dataclass(slots=True)
class RunResult:
    """How a run ended: the sessions it closed, and whether the kill switch stopped it."""

    settlements: list[DailySettlement] = field(default_factory=list)
    killed: bool = False
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
        self._state: DaemonState | None = None
        self._kill_notices = kill_notices
        self._wake = asyncio.Event()
        self.after_close = after_close
        self._closed_sessions = closed_sessions
        self._before_close = before_close

    @property
    def _kill_reason(self) -> str:
        return self.kill_switch.reason or ""

    async def run(self) -> RunResult:
        """Trade every session the schedule yields; return when it is exhausted or the kill switch is set.

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
        await self._broker.login()
        offered = await self._broker.get_accounts()
        accounts = [a.account_id for a in offered]
        account_id = self.config.account_id or (accounts[0] if len(accounts) == 1 else None)
        if account_id is None or account_id not in accounts:
            raise ConfigurationError(f"account {self.config.account_id!r} is not among the broker's accounts")
        result = RunResult(account_id=account_id)
        runner = self._assemble(
            account_id,
            self.kill_switch,
            lambda reason: self._set_trading_state("STOPPED", reason),
            self._set_trading_state,
        )
        execution = runner.execution
        now = self._wall.now()
        names = {a.account_id: a.name for a in offered}
        async with self._uow() as uow:
            await uow.accounts.seen(
                account_id, runner.venue.name, str(self.config.mode), names.get(account_id, ""), now
            )
            await uow.commit()
        self._state = DaemonState(account_id, str(self.config.mode), "STARTING", "", None, None, os.getpid(), now, now)
        await self._write_state()
        await self._broker.subscribe_order_events(execution.on_broker_event)
        await self._broker.subscribe_quotes(runner.venue.instruments.symbols, runner.on_tick)
        watcher = asyncio.create_task(self._watch_kill_switch(), name="kill-switch-watcher")
        listener = asyncio.create_task(self._listen_for_notices(), name="kill-switch-listener")
        current: TradingSession | None = None
        try:
            result.settlements += await settle_missed_sessions(runner, self._closed_sessions)
            async for session in self._schedule.sessions():
                if self.kill_switch.tripped:
                    break
                async with self._uow() as uow:
                    done = await uow.settlements.get(account_id, session.trading_date)
                if done is not None:
                    continue  # closed before a restart; the schedule is replaying past it
                current = session
                if not await self._until_killed(open_with_retries(runner, session)):
                    break
                if not await self._until_killed(self._run_session(session, execution)):
                    break
                settlement = await runner.close(session)
                result.settlements.append(settlement)
                current = None
                if self.after_close is not None and not await self._until_killed(
                    self._after_close_safely(account_id, settlement)
                ):
                    break
            if self.kill_switch.tripped:
                result.killed, result.kill_reason = True, self._kill_reason
                await self._honour_kill(execution, current, result)
        finally:
            for task in (watcher, listener):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._set_trading_state("EXITED", self._kill_reason)
            await self._broker.close()
        return result

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

    async def _until_killed(self, work: object) -> bool:
        # Run `work` unless the kill switch fires first; then cancel it and return False.
        task = asyncio.ensure_future(work)  # type: ignore[arg-type]
        killed = asyncio.ensure_future(self.kill_switch.wait())
        await asyncio.wait({task, killed}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            killed.cancel()
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

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

    async def _watch_kill_switch(self) -> None:
        # Read the database's kill switch every poll interval, or at once when a notice wakes us; keep the
        # heartbeat fresh. An unreadable switch counts as set.
        loop = asyncio.get_running_loop()
        last_heartbeat = loop.time()
        while True:
            try:
                async with self._uow() as uow:
                    switch = await uow.control.get_kill_switch()
                if switch.active:
                    self.kill_switch.trip(switch.reason or "no reason given")
                    return
                if loop.time() - last_heartbeat >= self.config.heartbeat_interval_secs:
                    last_heartbeat = loop.time()
                    await self._write_state()
            except Exception as e:
                self.kill_switch.trip(f"kill switch unreadable: {type(e).__name__}")
                log.error("kill_switch_unreadable", error=str(e))
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.kill_poll_interval_secs)
            self._wake.clear()

    async def _listen_for_notices(self) -> None:
        # Keep a notice listener connected (PostgreSQL); each notice wakes the watcher. Any failure only
        # costs latency: the watcher polls regardless.
        if self._kill_notices is None:
            return
        while True:
            notices: KillSwitchNotices | None = None
            try:
                notices = await self._kill_notices()
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
            await asyncio.sleep(self.config.notice_reconnect_secs)

    async def _set_trading_state(self, trading_state: str, reason: str, trading_date: date | None = None) -> None:
        if self._state is None:
            return
        self._state = replace(
            self._state,
            trading_state=trading_state,
            stop_reason=reason,
            trading_date=trading_date or self._state.trading_date,
            ts_heartbeat=self._wall.now(),
        )
        await self._write_state()

    async def _write_state(self) -> None:
        if self._state is None:
            return
        async with self._uow() as uow:
            await uow.control.put_daemon_state(self._state)
            await uow.commit()
