"""Read-only view for ``stockbot risk show``: each limit in force, where it comes from, and today's usage.

"Today" is the latest daemon's trading date (the replay's date in sim), else the venue's trading date of
`now`. Usage
comes from the database alone (no broker call): positions from fills, values at cost, the start-of-day
equity of today's or the last settlement, the day's orders and the ``risk_events`` of the day.
"""

from collections import Counter
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.risk import RiskLimits
from stock_manager.service_layer.ports.storage import KillSwitchState, RiskLimitChange, UnitOfWorkFactory
from stock_manager.service_layer.risk_config import apply_changes, format_limit


@dataclass(frozen=True, slots=True)
class LimitLine:
    """One limit: its value in force (text; None = off), where it comes from (``settings``, or who changed it in
    the database and when: `changed_by`, `ts_changed` aware UTC), and today's usage (text, may be empty)."""

    name: str
    value: str | None
    source: str
    usage: str
    ts_changed: datetime | None = None


@dataclass(frozen=True, slots=True)
class RiskReport:
    """What ``stockbot risk show`` prints."""

    account_id: str | None
    trading_date: date
    start_of_day_equity_krw: Decimal | None
    kill_switch: KillSwitchState
    limits: list[LimitLine]
    denials_today: dict[str, int]


async def risk_report(
    uow_factory: UnitOfWorkFactory, base: RiskLimits, now: datetime, trading_day: DayBoundary, venue: str | None = None
) -> RiskReport:
    """Return the limits in force (settings `base` overridden by the database) with today's usage; the venue's
    `trading_day` dates `now` and the day's risk decisions; the account is the latest daemon's (of `venue` when
    given).

    Raises
    ------
    ConfigurationError
        If a limit stored in the database is invalid.
    """
    async with uow_factory() as uow:
        changes = await uow.risk.limit_changes()
        daemon = await uow.control.get_daemon_state(None, venue)
        scope = (await uow.accounts.venue_of(daemon.account_id) if daemon is not None else None) or venue
        switch = await uow.control.get_kill_switch(scope)
        account = daemon.account_id if daemon is not None else None
        day = (
            daemon.trading_date if daemon is not None and daemon.trading_date is not None else trading_day.date_of(now)
        )
        fills = [s.fill for s in await uow.fills.list_for_account(account)] if account else []
        orders = await uow.orders.list_for_date(account, day) if account else []
        open_orders = await uow.orders.list_open(account) if account else []
        settlements = await uow.settlements.list_all(account) if account else []
        decisions = await uow.risk.list_events(account)
    limits, newest = apply_changes(base, changes)
    today = [s for s in settlements if s.trading_date == day]
    before = [s for s in settlements if s.trading_date < day]
    equity = today[0].start_equity_krw if today else (before[-1].end_equity_krw if before else None)
    held = {s: p for s, p in positions_from_fills(account or "", fills).items() if not p.is_flat}
    before_today = positions_from_fills(account or "", [f for f in fills if f.trading_date < day])
    through_today = positions_from_fills(account or "", [f for f in fills if f.trading_date <= day])
    realized = sum((p.net_realized_pnl_krw for p in through_today.values()), Decimal(0)) - sum(
        (p.net_realized_pnl_krw for p in before_today.values()), Decimal(0)
    )
    working_qty: dict[str, Decimal] = {}
    working_value: dict[str, Decimal] = {}
    for order in open_orders:
        if order.side.value == "BUY":
            working_qty[order.symbol] = working_qty.get(order.symbol, Decimal(0)) + order.remaining_quantity
            price = order.limit_price or order.signal_price or Decimal(0)
            working_value[order.symbol] = working_value.get(order.symbol, Decimal(0)) + order.remaining_quantity * price
    symbols = sorted(set(held) | set(working_qty))
    qty = {s: (held[s].quantity if s in held else Decimal(0)) + working_qty.get(s, Decimal(0)) for s in symbols}
    value = {
        s: (held[s].quantity * held[s].avg_price if s in held else Decimal(0)) + working_value.get(s, Decimal(0))
        for s in symbols
    }

    def top(amounts: dict[str, Decimal], unit: str) -> str:
        if not amounts:
            return "none"
        symbol = max(amounts, key=lambda s: amounts[s])
        return f"largest {symbol}: {amounts[symbol]:,.0f}{unit}"

    streaks = _failure_streaks(orders)
    usage = {
        "max_open_positions": f"{len(symbols)} engaged",
        "max_quantity_per_symbol": top(qty, " shares"),
        "max_value_per_symbol_krw": top(value, " KRW at cost"),
        "max_symbol_weight_pct": (
            top({s: v / equity * 100 for s, v in value.items()}, " % at cost")
            if equity
            else "start-of-day equity unknown"
        ),
        "daily_loss_limit_pct": (
            f"realized {realized:,.0f} KRW today"
            + (f" = {realized / equity * 100:.2f}% of {equity:,.0f} KRW" if equity else "")
        ),
        "max_orders_per_minute": f"{len(orders)} order(s) today",
        "cooldown_after_failures": (
            ", ".join(f"{s}: {n} failed in a row" for s, n in streaks.items() if n) or "no failed orders"
        ),
    }
    lines = [
        LimitLine(
            f.name,
            format_limit(getattr(limits, f.name)),
            _source(newest.get(f.name)),
            usage.get(f.name, ""),
            _changed_at(newest.get(f.name)),
        )
        for f in fields(RiskLimits)
    ]
    denials = Counter(d.rule for d in decisions if d.decision == "DENY" and trading_day.date_of(d.ts_event) == day)
    return RiskReport(account, day, equity, switch, lines, dict(sorted(denials.items())))


def _source(change: RiskLimitChange | None) -> str:
    return "settings" if change is None else f"database ({change.changed_by})"


def _failure_streaks(orders: list[Order]) -> dict[str, int]:
    # Failed orders in a row at the end of each symbol's day (rejected, or cancelled before being sent).
    streaks: dict[str, int] = {}
    for order in orders:
        failed = order.status is OrderStatus.REJECTED or (
            order.status is OrderStatus.CANCELED and order.broker_order_number is None
        )
        streaks[order.symbol] = streaks.get(order.symbol, 0) + 1 if failed else 0
    return streaks


def _changed_at(change: RiskLimitChange | None) -> datetime | None:
    return None if change is None else change.ts_changed
