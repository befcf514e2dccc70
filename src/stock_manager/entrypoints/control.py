"""CLI use cases that act on the database or the broker outside the daemon: kill switch, recovery."""

import asyncio

from rich.console import Console

from stock_manager.adapters.clock import SystemClock
from stock_manager.config.settings import Settings
from stock_manager.domain.model import InstrumentKind
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.notifications import NullNotifier
from stock_manager.service_layer.storage_port import UnitOfWorkFactory

_EXITED = frozenset({"EXITED"})


async def set_kill_switch(uow_factory: UnitOfWorkFactory, *, active: bool, reason: str) -> None:
    """Set or clear the kill switch, with an event, in one transaction."""
    now = SystemClock().now()
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(active, reason, "cli", now)
        await record_event(uow, NullNotifier(), ts=now, kind="kill_switch_set" if active else "kill_switch_cleared",
                           severity="CRITICAL" if active else "WARNING",
                           message=f"kill switch {'set' if active else 'cleared'} from the CLI: {reason}")
        await uow.commit()


async def wait_for_exit(uow_factory: UnitOfWorkFactory, timeout_secs: float) -> bool | None:
    """Wait until the latest daemon reports EXITED; None when no daemon is running at all."""
    async with uow_factory() as uow:
        state = await uow.control.get_daemon_state(None)
    if state is None or state.trading_state in _EXITED:
        return None
    waited = 0.0
    while waited < timeout_secs:
        await asyncio.sleep(0.1)
        waited += 0.1
        async with uow_factory() as uow:
            state = await uow.control.get_daemon_state(None)
        if state is not None and state.trading_state in _EXITED:
            return True
    return False


async def run_recovery(settings: Settings, *, dry_run: bool, as_json: bool, console: Console) -> int:
    """Plan recovery against the broker and print it; apply it unless `dry_run`. Return an exit code."""
    from stock_manager.entrypoints.bootstrap import attach_broker, open_storage
    from stock_manager.entrypoints.views import print_json, render_plan
    from stock_manager.service_layer.recovery import RecoveryInputs, apply_plan, gather_plan, plan_summary

    async with open_storage(settings, upgrade=False) as storage:
        attached = attach_broker(settings)
        if attached is None:
            console.print("Nothing to recover: no replay has run in this data directory.")
            return 0
        broker, clock = attached
        async with storage.uow_factory() as uow:
            state = await uow.control.get_daemon_state(None)
        accounts = [a.account_id for a in await broker.get_accounts()]
        account_id = state.account_id if state is not None and state.account_id in accounts else accounts[0]
        from stock_manager.domain.clock import kst_date

        plan = await gather_plan(storage.uow_factory, broker, RecoveryInputs(account_id, kst_date(clock.now())))
        if as_json:
            print_json({"dry_run": dry_run, "account_id": account_id, **plan_summary(plan)})
        else:
            render_plan(plan, console, dry_run=dry_run)
        if dry_run or plan.is_clean:
            return 0
        from stock_manager.domain.positions import positions_from_fills
        from stock_manager.entrypoints.bootstrap import risk_limits
        from stock_manager.service_layer.execution import Execution, ExecutionConfig

        execution = Execution(config=ExecutionConfig(account_id, str(settings.mode), risk_limits(settings)),
                              uow_factory=storage.uow_factory, broker=broker, clock=clock, notifier=NullNotifier(),
                              instrument_kind=lambda _symbol: InstrumentKind.STOCK)  # no order is placed here
        async with storage.uow_factory() as uow:
            fills = [s.fill for s in await uow.fills.list_for_account(account_id)]
            open_orders = await uow.orders.list_open(account_id)
        execution.load(positions_from_fills(account_id, fills), open_orders)
        await apply_plan(plan, execution, storage.uow_factory, NullNotifier(), clock, mode=str(settings.mode))
        console.print("Recovery applied." if execution.stopped_reason is None
                      else f"[bold red]Recovery left differences:[/] {execution.stopped_reason}")
        return 0 if execution.stopped_reason is None else 1
