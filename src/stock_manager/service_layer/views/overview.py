"""Read-only view for a dashboard's overview: `status.status_report` plus what a person checking the bot wants at
a glance — each position valued at the last price the database knows, equity and drawdown from the settled
sessions, and the latest fills.

The database has no live quotes: a position's mark is the later of its closing price in the last settled
session's snapshot and the price of a fill recorded after it. Each `MarkedPosition` says which it is and when.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.fills import Fill
from stock_manager.domain.performance import Drawdown, drawdown
from stock_manager.domain.positions import Position
from stock_manager.service_layer.ports.storage import DailySettlement, UnitOfWorkFactory
from stock_manager.service_layer.views.status import StatusReport, status_report


@dataclass(frozen=True, slots=True)
class MarkedPosition:
    """A position with the last price known to the database.

    Attributes
    ----------
    mark_price : Decimal | None
        KRW per unit; None when no price of the symbol is recorded.
    mark_source : str
        ``close <date>`` (a session's closing price) or ``fill`` (a later fill's price), or "" without a mark.
    ts_mark : datetime | None
        Aware UTC time of that price (the close's snapshot time, or the fill's).
    """

    position: Position
    mark_price: Decimal | None
    mark_source: str
    ts_mark: datetime | None

    @property
    def unrealized_pnl_krw(self) -> Decimal | None:
        """Return the unrealized PnL at the mark, KRW (None without a mark)."""
        return None if self.mark_price is None else self.position.unrealized_pnl_krw(self.mark_price)

    @property
    def market_value_krw(self) -> Decimal | None:
        """Return the market value at the mark, KRW (None without a mark)."""
        return None if self.mark_price is None else self.position.market_value_krw(self.mark_price)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One settled session's end equity and its drawdown from the running peak (percent, ≥ 0)."""

    trading_date: date
    end_equity_krw: Decimal
    drawdown_pct: Decimal


@dataclass(frozen=True, slots=True)
class Overview:
    """What a dashboard's overview shows.

    Attributes
    ----------
    unrealized_pnl_krw : Decimal
        Sum over the marked positions, KRW (positions without a mark count 0).
    last_equity_krw : Decimal | None
        End equity of the last settled session, KRW.
    drawdown : Drawdown | None
        Over every settled session's end equity, from the first session's start equity.
    recent_fills : tuple[Fill, ...]
        The newest fills first.
    """

    status: StatusReport
    positions: tuple[MarkedPosition, ...]
    unrealized_pnl_krw: Decimal
    last_equity_krw: Decimal | None
    drawdown: Drawdown | None
    recent_fills: tuple[Fill, ...]


def equity_points(
    settlements: list[DailySettlement], date_from: date | None = None, date_to: date | None = None
) -> list[EquityPoint]:
    """Return the equity curve with its drawdown, oldest first, for the sessions in [`date_from`, `date_to`]; the
    running peak starts at the first settled session's start equity, whatever range is asked."""
    history = sorted(settlements, key=lambda s: s.trading_date)
    if not history:
        return []
    peak, points = history[0].start_equity_krw, []
    for s in history:
        peak = max(peak, s.end_equity_krw)
        pct = ((peak - s.end_equity_krw) / peak * 100).quantize(Decimal("0.0001")) if peak > 0 else Decimal(0)
        if (date_from is None or s.trading_date >= date_from) and (date_to is None or s.trading_date <= date_to):
            points.append(EquityPoint(s.trading_date, s.end_equity_krw, pct))
    return points


async def overview(
    uow_factory: UnitOfWorkFactory, *, fills_limit: int = 10, events_limit: int = 10, venue: str | None = None
) -> Overview:
    """Return the status report with marked positions, equity, drawdown and the latest fills of the latest daemon's
    account (of `venue` when given); nothing is written."""
    status = await status_report(uow_factory, events_limit=events_limit, venue=venue)
    daemon = status.daemon
    if daemon is None:
        return Overview(status, (), Decimal(0), None, None, ())
    async with uow_factory() as uow:
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False)
        last = settlements[-1] if settlements else None
        snapshots = await uow.positions.list_snapshots(daemon.account_id, last.trading_date) if last else []
        fills = [s.fill for s in await uow.fills.list_for_account(daemon.account_id)]
    marks: dict[str, tuple[Decimal, str, datetime]] = {
        s.symbol: (s.close_price, f"close {s.trading_date}", s.ts_created) for s in snapshots
    }
    for fill in fills:  # execution order: a later fill's price replaces an earlier mark
        known = marks.get(fill.symbol)
        if known is None or fill.ts_filled > known[2] or (last is not None and fill.trading_date > last.trading_date):
            marks[fill.symbol] = (fill.price, "fill", fill.ts_filled)
    marked = tuple(
        MarkedPosition(p, *marks[p.symbol]) if p.symbol in marks else MarkedPosition(p, None, "", None)
        for p in status.positions
    )
    unrealized = sum((m.unrealized_pnl_krw or Decimal(0) for m in marked), Decimal(0))
    curve = drawdown(settlements[0].start_equity_krw, (s.end_equity_krw for s in settlements)) if settlements else None
    return Overview(
        status, marked, unrealized, last.end_equity_krw if last else None, curve, tuple(reversed(fills[-fills_limit:]))
    )
