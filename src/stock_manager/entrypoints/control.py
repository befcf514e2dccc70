"""CLI use cases that act on the database or the broker outside the daemon: kill switch, recovery.

Each control action records who did it (`audit`)."""

import asyncio

from rich.console import Console

from stock_manager.adapters.clock import SystemClock
from stock_manager.config.settings import Settings
from stock_manager.entrypoints.audit import Actor, current_actor, record_control_action
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.storage import RiskLimitChange, UnitOfWorkFactory
from stock_manager.service_layer.risk_gate import record_risk_decision

_EXITED = frozenset({"EXITED"})


async def set_kill_switch(
    uow_factory: UnitOfWorkFactory,
    *,
    active: bool,
    reason: str,
    action: str = "halt",
    set_by: str = "cli",
    who: str = "",
    scope: str = "*",
) -> list[str]:
    """Set or clear a kill switch, with an event (and a KILL risk decision when set), in one transaction; return
    the scopes changed.

    `scope` is ``*`` (every daemon) or a venue (``krx``, ``upbit``); clearing ``*`` clears every switch (what
    ``stockbot resume`` means). `set_by` is ``cli`` or ``dashboard``; `who` (the dashboard: the remote address) is
    recorded with it. On PostgreSQL the same transaction notifies ``stockbot_kill``, so a running daemon hears it
    at once.
    """
    now = SystemClock().now()
    # The actor: the OS user and host of a CLI command; the remote address of a dashboard request.
    actor = current_actor() if set_by == "cli" else Actor(set_by, who or "unknown")
    source = "the CLI" if set_by == "cli" else f"the {set_by}" + (f" ({who})" if who else "")
    label = actor.label if set_by == "cli" else f"{set_by} {who}".strip()[:64]
    where = "" if scope == "*" else f" for {scope}"
    seen = {"set_by": set_by, **({"who": who} if who else {}), "actor": actor.payload(), "scope": scope}
    async with uow_factory() as uow:
        if active:
            scopes = [scope]
        else:
            switches = await uow.control.list_kill_switches()
            scopes = [s.scope for s in switches if s.active and scope in ("*", s.scope)] or [scope]
        for each in scopes:
            await uow.control.set_kill_switch(active, reason, label, now, action, scope=each)
        if active:
            await record_risk_decision(
                uow,
                NullNotifier(),
                ts=now,
                rule="kill_switch",
                decision="KILL",
                message=f"kill switch set from {source}{where} ({action}): {reason}"
                + (f" (by {actor.user}@{actor.host})" if set_by == "cli" else ""),
                snapshot={"action": action, **seen},
                account_id=None,
                event_kind="kill_switch_set",
                severity="CRITICAL",
            )
        else:
            cleared = "" if scopes == ["*"] else f" ({', '.join(scopes)})"
            await record_control_action(
                uow,
                kind="kill_switch_cleared",
                actor=actor,
                ts=now,
                message=f"kill switch cleared from {source}{cleared}: {reason}",
                payload={"set_by": set_by, **({"who": who} if who else {}), "scopes": scopes},
            )
        await uow.commit()
    return scopes


async def change_risk_limit(
    uow_factory: UnitOfWorkFactory, settings: Settings, name: str, value: str, reason: str
) -> RiskLimitChange:
    """Record a new value of a risk limit (with history) and an event; it applies from the next session.

    Raises
    ------
    ConfigurationError
        For an unknown limit or an invalid value.
    """
    from stock_manager.entrypoints.bootstrap import risk_limits
    from stock_manager.service_layer.risk_config import change_limit

    now, actor = SystemClock().now(), current_actor()
    async with uow_factory() as uow:
        change = await change_limit(
            uow, risk_limits(settings), name, value, changed_by=actor.label, reason=reason, ts=now
        )
        await record_control_action(
            uow,
            kind="risk_limit_changed",
            actor=actor,
            ts=now,
            message=f"risk limit {name}: {change.old_value or 'off'} → {change.new_value or 'off'} ({reason})",
            payload={"name": name, "old": change.old_value, "new": change.new_value},
        )
        await uow.commit()
    return change


async def running_daemons(uow_factory: UnitOfWorkFactory, scope: str = "*") -> list[str]:
    """Return the accounts whose daemon has not reported EXITED (it runs, or died without saying so): every
    venue's for ``*``, else those of the venue `scope` (``krx``, ``upbit``)."""
    async with uow_factory() as uow:
        states = await uow.control.list_daemon_states()
        venues = {s.account_id: await uow.accounts.venue_of(s.account_id) for s in states}
    return [
        s.account_id for s in states if s.trading_state not in _EXITED and scope in ("*", venues[s.account_id] or "krx")
    ]


async def daemon_running(uow_factory: UnitOfWorkFactory, scope: str = "*") -> bool:
    """Return True when a daemon of `scope` (``*``: any venue) has not reported EXITED."""
    return bool(await running_daemons(uow_factory, scope))


async def wait_for_exit(
    uow_factory: UnitOfWorkFactory, timeout_secs: float, *, was_running: bool | None = None, scope: str = "*"
) -> bool | None:
    """Wait until every daemon of `scope` reports EXITED; None when none was running at all.

    Pass `was_running` as read before the kill switch was set: a daemon that hears the switch at once may
    have exited before this call.
    """
    if was_running is None:
        was_running = await daemon_running(uow_factory, scope)
    if not was_running:
        return None
    waited = 0.0
    while True:
        if not await daemon_running(uow_factory, scope):
            return True
        if waited >= timeout_secs:
            return False
        await asyncio.sleep(0.1)
        waited += 0.1


async def run_recovery(settings: Settings, *, dry_run: bool, as_json: bool, console: Console) -> int:
    """Plan recovery against the broker and print it; apply it unless `dry_run`. Return an exit code."""
    from stock_manager.adapters.notifications.display import account as shown_account
    from stock_manager.adapters.observability.masking import register_account
    from stock_manager.entrypoints.bootstrap import (
        build_execution,
        open_recovery_venue,
        open_storage,
        venue_profile,
        venue_scope,
    )
    from stock_manager.entrypoints.views import plan_data, print_json, render_plan
    from stock_manager.service_layer.recovery import (
        RecoveryInputs,
        apply_plan,
        gather_plan,
        plan_outcome,
        record_dry_run,
    )

    async with open_storage(settings, upgrade=False) as storage, open_recovery_venue(settings) as venue:
        if venue is None:
            nothing = "Nothing to recover: no replay has run in this data directory."
            if as_json:  # the same shape as a plan, so scripts need no special case
                print_json(
                    {
                        "dry_run": dry_run,
                        "account_id": None,
                        "outcome": "CLEAN",
                        "clean": True,
                        "actions": [],
                        "positions_after": {},
                        "position_differences": [],
                        "stop_reasons": [],
                        "note": nothing,
                    }
                )
            else:
                console.print(nothing)
            return 0
        broker, clock = venue.broker, venue.clock
        async with storage.uow_factory() as uow:
            state = await uow.control.get_daemon_state(None, venue_scope(settings.venue))
        accounts = [a.account_id for a in await broker.get_accounts()]
        account_id = state.account_id if state is not None and state.account_id in accounts else accounts[0]
        profile = venue_profile(settings)
        today = profile.date_of(clock.now())
        ts_started = clock.now()
        inputs = RecoveryInputs(account_id, today, profile.order_numbers_restart_daily)
        plan = await gather_plan(storage.uow_factory, broker, inputs, profile.fill_identity)
        register_account(account_id)  # shown partly in the plan's keys, ids and details too
        if as_json:
            print_json(
                {
                    "dry_run": dry_run,
                    "account_id": shown_account(account_id),
                    "outcome": plan_outcome(plan)[0],
                    **plan_data(plan),
                }
            )
        else:
            render_plan(plan, console, dry_run=dry_run)
        if dry_run:  # changes nothing but its own record of the run
            await record_dry_run(plan, storage.uow_factory, account_id, settings.mode, ts_started, clock.now())
            return 0
        from stock_manager.service_layer.position_history import load_position_history

        # No order is placed here: execution only applies the plan's corrections.
        execution = build_execution(
            settings, storage.uow_factory, broker, clock, profile, account_id, notifier=NullNotifier()
        )
        async with storage.uow_factory() as uow:
            fills = await load_position_history(uow, account_id, today)
            open_orders = await uow.orders.list_open(account_id)
        execution.load(fills.positions(), open_orders)
        await apply_plan(plan, execution, storage.uow_factory, NullNotifier(), clock, mode=settings.mode)
        if execution.stopped_reason is not None:
            console.print(f"[bold red]Recovery left differences:[/] {execution.stopped_reason}")
        elif not plan.is_clean:
            console.print("Recovery applied.")
        return 0 if execution.stopped_reason is None else 1
