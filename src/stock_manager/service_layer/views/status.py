"""Read-only views of the database for ``stockbot status`` (nothing here writes)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stock_manager.domain.orders import Order
from stock_manager.domain.positions import Position, positions_from_fills
from stock_manager.service_layer.ports.storage import (
    DaemonState,
    DailySettlement,
    EventRecord,
    KillSwitchState,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What ``stockbot status`` shows.

    Attributes
    ----------
    realized_pnl_today_krw : Decimal
        Realized PnL after commission and tax on `trading_date`, KRW.
    venue : str | None
        The account's venue (``accounts.venue``), else the venue asked for; None when neither is known.
    """

    daemon: DaemonState | None
    kill_switch: KillSwitchState
    positions: list[Position]
    open_orders: list[Order]
    trading_date: date | None
    realized_pnl_today_krw: Decimal
    last_settlement: DailySettlement | None
    events: list[EventRecord]
    venue: str | None = None


async def status_report(
    uow_factory: UnitOfWorkFactory, *, events_limit: int = 10, venue: str | None = None
) -> StatusReport:
    """Return the latest daemon's account state (of `venue`, when given), or an empty report when no daemon ever
    ran; the kill switch is the one that daemon honours."""
    async with uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, venue)
        scope = (await uow.accounts.venue_of(daemon.account_id) if daemon is not None else None) or venue
        switch = await uow.control.get_kill_switch(scope)
        if daemon is None:
            return StatusReport(
                None, switch, [], [], None, Decimal(0), None, await uow.events.recent(events_limit), venue
            )
        account = daemon.account_id
        fills = [s.fill for s in await uow.fills.list_for_account(account)]
        positions = [p for p in positions_from_fills(account, fills).values() if not p.is_flat]
        open_orders = await uow.orders.list_open(account)
        settlements = await uow.settlements.list_all(account)
        events = await uow.events.recent(events_limit, account)
    day = daemon.trading_date
    realized = Decimal(0)
    if day is not None:
        before = positions_from_fills(account, [f for f in fills if f.trading_date < day])
        after = positions_from_fills(account, [f for f in fills if f.trading_date <= day])
        realized = sum((p.net_realized_pnl_krw for p in after.values()), Decimal(0)) - sum(
            (p.net_realized_pnl_krw for p in before.values()), Decimal(0)
        )
    return StatusReport(
        daemon, switch, positions, open_orders, day, realized, settlements[-1] if settlements else None, events, scope
    )
