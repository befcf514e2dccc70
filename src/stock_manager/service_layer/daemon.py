"""The trading daemon: login, then for each session open → intraday → close, with the kill switch
watched from the database throughout (it reaches a running daemon within one poll interval).
"""

import asyncio
import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import structlog

from stock_manager.domain.clock import Clock
from stock_manager.domain.errors import ConfigurationError, StockbotError
from stock_manager.domain.model import InstrumentKind
from stock_manager.domain.risk import RiskLimits
from stock_manager.service_layer.broker_port import Broker, SessionSchedule
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.execution import Execution, ExecutionConfig
from stock_manager.service_layer.notifications import Notifier
from stock_manager.service_layer.session import SessionRunner, SymbolInfo
from stock_manager.service_layer.storage_port import DaemonState, DailySettlement, UnitOfWorkFactory

log = structlog.get_logger("stockbot.daemon")


class KillSwitchActive(StockbotError):
    """The kill switch is set; the daemon will not start until `stockbot resume` clears it."""


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """What one daemon run needs besides its ports."""

    mode: str
    account_id: str | None
    universe: Sequence[SymbolInfo]
    risk_limits: RiskLimits
    params_file: Path | None = None
    stop_without_params: bool = False
    kill_poll_interval_secs: float = 0.25
    heartbeat_interval_secs: float = 5.0


@dataclass(slots=True)
class RunResult:
    """How a run ended: the sessions it closed, and whether the kill switch stopped it."""

    settlements: list[DailySettlement] = field(default_factory=list)
    killed: bool = False
    kill_reason: str = ""
    open_orders_cancelled: int = 0
    account_id: str = ""


class TradingDaemon:
    """Drives sessions from a `SessionSchedule` through a `SessionRunner`; stops on the kill switch.

    Parameters
    ----------
    clock : Clock
        Market time (the replay's clock in sim mode).
    wall_clock : Clock
        Real time, for the daemon's heartbeat.
    """

    def __init__(self, *, config: DaemonConfig, uow_factory: UnitOfWorkFactory, broker: Broker,
                 schedule: SessionSchedule, clock: Clock, wall_clock: Clock, notifier: Notifier) -> None:
        self.config = config
        self._uow = uow_factory
        self._broker = broker
        self._schedule = schedule
        self._clock = clock
        self._wall = wall_clock
        self._notifier = notifier
        self._kill = asyncio.Event()
        self._kill_reason = ""
        self._state: DaemonState | None = None

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
            raise KillSwitchActive(f"the kill switch is set ({switch.reason or 'no reason given'}); "
                                   "run `stockbot resume` to clear it")
        await self._broker.login()
        accounts = [a.account_id for a in await self._broker.get_accounts()]
        account_id = self.config.account_id or (accounts[0] if len(accounts) == 1 else None)
        if account_id is None or account_id not in accounts:
            raise ConfigurationError(f"account {self.config.account_id!r} is not among the broker's accounts")
        result = RunResult(account_id=account_id)
        execution = Execution(
            config=ExecutionConfig(account_id, self.config.mode, self.config.risk_limits),
            uow_factory=self._uow, broker=self._broker, clock=self._clock, notifier=self._notifier,
            instrument_kind=self._kind_of,
            on_stop=lambda reason: self._set_trading_state("STOPPED", reason),
        )
        runner = SessionRunner(
            execution=execution, uow_factory=self._uow, broker=self._broker, clock=self._clock,
            notifier=self._notifier, mode=self.config.mode, universe=self.config.universe,
            params_file=self.config.params_file, stop_without_params=self.config.stop_without_params,
            on_state=self._set_trading_state,
        )
        now = self._wall.now()
        self._state = DaemonState(account_id, self.config.mode, "STARTING", "", None, None, os.getpid(), now, now)
        await self._write_state()
        await self._broker.subscribe_order_events(execution.on_broker_event)
        await self._broker.subscribe_quotes([u.symbol for u in self.config.universe], runner.on_tick)
        watcher = asyncio.create_task(self._watch_kill_switch(), name="kill-switch-watcher")
        try:
            async for session in self._schedule.sessions():
                if self._kill.is_set():
                    break
                async with self._uow() as uow:
                    done = await uow.settlements.get(account_id, session.trading_date)
                if done is not None:
                    continue  # closed before a restart; the schedule is replaying past it
                if not await self._until_killed(runner.open(session)):
                    break
                if not await self._until_killed(self._schedule.run_until_close(session)):
                    break
                result.settlements.append(await runner.close(session))
            if self._kill.is_set():
                result.killed, result.kill_reason = True, self._kill_reason
                result.open_orders_cancelled = await self._honour_kill(execution)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._set_trading_state("EXITED", self._kill_reason)
            await self._broker.close()
        return result

    async def _until_killed(self, work: object) -> bool:
        # Run `work` unless the kill switch fires first; then cancel it and return False.
        task = asyncio.ensure_future(work)  # type: ignore[arg-type]
        killed = asyncio.ensure_future(self._kill.wait())
        await asyncio.wait({task, killed}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            killed.cancel()
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

    async def _honour_kill(self, execution: Execution) -> int:
        await execution.enter_stop_mode(f"kill switch: {self._kill_reason}")
        cancelled = await execution.cancel_open_orders("kill switch")
        async with self._uow() as uow:
            await record_event(uow, self._notifier, ts=self._clock.now(), kind="kill_switch", severity="CRITICAL",
                               message=f"kill switch honoured: {self._kill_reason}; {cancelled} open order(s) "
                                       "cancelled; exiting", account_id=execution.config.account_id,
                               payload={"reason": self._kill_reason, "cancelled": cancelled})
            await uow.commit()
        return cancelled

    async def _watch_kill_switch(self) -> None:
        # Poll the database's kill switch; also keep the heartbeat fresh.
        since_heartbeat = 0.0
        while True:
            try:
                async with self._uow() as uow:
                    switch = await uow.control.get_kill_switch()
                if switch.active:
                    self._kill_reason = switch.reason or "no reason given"
                    self._kill.set()
                    return
                since_heartbeat += self.config.kill_poll_interval_secs
                if since_heartbeat >= self.config.heartbeat_interval_secs:
                    since_heartbeat = 0.0
                    await self._write_state()
            except Exception as e:
                self._kill_reason = f"kill switch unreadable: {type(e).__name__}"
                log.error("kill_switch_unreadable", error=str(e))
                self._kill.set()
                return
            await asyncio.sleep(self.config.kill_poll_interval_secs)

    async def _set_trading_state(self, trading_state: str, reason: str, trading_date: date | None = None) -> None:
        if self._state is None:
            return
        self._state = replace(self._state, trading_state=trading_state, stop_reason=reason,
                              trading_date=trading_date or self._state.trading_date, ts_heartbeat=self._wall.now())
        await self._write_state()

    async def _write_state(self) -> None:
        if self._state is None:
            return
        async with self._uow() as uow:
            await uow.control.put_daemon_state(self._state)
            await uow.commit()

    def _kind_of(self, symbol: str) -> InstrumentKind:
        kinds = {u.symbol: u.kind for u in self.config.universe}
        return InstrumentKind(kinds.get(symbol, "STOCK"))
