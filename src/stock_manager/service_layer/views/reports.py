"""The daily report (PRD §3.6): one session's settlement with its trades, return and drawdown, built from
``daily_settlements`` (the equity curve is every session's end equity) and the day's fills.

Maximum drawdown is computed from the stored settlements' end equity each time a report is built, so it
also holds for sessions settled before it was recorded; the close also keeps it in the settlement's
``summary`` JSON (``drawdown_pct``, ``max_drawdown_pct``, ``peak_equity_krw``) for the record.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stock_manager.domain.fills import Fill
from stock_manager.domain.performance import Drawdown, drawdown
from stock_manager.service_layer.ports.storage import DailySettlement, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class DailyReport:
    """One session's result and the account's history up to it.

    Attributes
    ----------
    equity_curve : tuple[tuple[date, Decimal], ...]
        (trading date, end-of-session equity KRW) of every settled session up to this one, oldest first.
    initial_equity_krw : Decimal
        Start-of-session equity of the first settled session, KRW.
    fills : tuple[Fill, ...]
        The session's fills (the trades), in execution order.
    """

    settlement: DailySettlement
    equity_curve: tuple[tuple[date, Decimal], ...]
    initial_equity_krw: Decimal
    drawdown: Drawdown
    fills: tuple[Fill, ...] = ()

    @property
    def trading_date(self) -> date:
        """Return the session's trading date."""
        return self.settlement.trading_date

    @property
    def net_realized_pnl_krw(self) -> Decimal:
        """Return realized PnL after commission and tax, KRW."""
        s = self.settlement
        return s.realized_pnl_krw - s.commission_krw - s.tax_krw

    @property
    def cumulative_return_pct(self) -> Decimal:
        """Return the end equity's change from `initial_equity_krw`, percent (0 without capital)."""
        if not self.initial_equity_krw:
            return Decimal(0)
        change = self.settlement.end_equity_krw / self.initial_equity_krw - 1
        return (change * 100).quantize(Decimal("0.000001"))


def build_daily_report(
    settlements: Sequence[DailySettlement], trading_date: date, fills: Sequence[Fill] = ()
) -> DailyReport:
    """Return the report of `trading_date` from the account's settlements (any order) and that day's fills.

    Raises
    ------
    LookupError
        If no settlement of `trading_date` is among `settlements`.
    """
    history = sorted((s for s in settlements if s.trading_date <= trading_date), key=lambda s: s.trading_date)
    if not history or history[-1].trading_date != trading_date:
        raise LookupError(f"no daily settlement for {trading_date}")
    initial = history[0].start_equity_krw
    return DailyReport(
        settlement=history[-1],
        equity_curve=tuple((s.trading_date, s.end_equity_krw) for s in history),
        initial_equity_krw=initial,
        drawdown=drawdown(initial, (s.end_equity_krw for s in history)),
        fills=tuple(f for f in fills if f.trading_date == trading_date),
    )


@dataclass(frozen=True, slots=True)
class ReportLookup:
    """What `load_daily_report` found: the report, or why there is none."""

    report: DailyReport | None
    account_id: str | None
    settled: tuple[date, ...]


async def load_daily_report(
    uow_factory: UnitOfWorkFactory,
    trading_date: date | None = None,
    account_id: str | None = None,
    venue: str | None = None,
) -> ReportLookup:
    """Read the report of `trading_date` (default: the last settled session) for `account_id` (default: the
    account of the latest daemon, of `venue` when given) from ``daily_settlements`` and ``fills``. Nothing is
    written.
    """
    async with uow_factory() as uow:
        if account_id is None:
            state = await uow.control.get_daemon_state(None, venue)
            account_id = state.account_id if state is not None else None
        if account_id is None:
            return ReportLookup(None, None, ())
        settlements = await uow.settlements.list_all(account_id)
        settled = tuple(s.trading_date for s in settlements)
        day = trading_date or (settled[-1] if settled else None)
        if day is None or day not in settled:
            return ReportLookup(None, account_id, settled)
        fills = [stored.fill for stored in await uow.fills.list_for_date(account_id, day)]
    return ReportLookup(build_daily_report(settlements, day, fills), account_id, settled)
