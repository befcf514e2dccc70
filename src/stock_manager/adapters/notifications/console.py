"""Console notifier: what the owner watches in the terminal while the daemon runs (times in KST)."""

from rich.console import Console

from stock_manager.adapters.notifications.display import shown
from stock_manager.localtime import show_kst, show_kst_utc
from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.views.reports import DailyReport

#: Event kinds worth a line even at INFO severity: the trading story of a session, and the waits between them.
TRADE_KINDS = frozenset(
    {
        "order_created",
        "order_sent",
        "fill",
        "order_canceled",
        "order_rejected",
        "market_open",
        "params_applied",
        "daemon_waiting",
    }
)


#: How a trading day that is a UTC day is labelled (Upbit's: 09:00 KST to 09:00 KST).
_UTC_DAY = " (UTC day: 09:00 KST → 09:00 KST)"


class ConsoleNotifier:
    """**Adapter:** `Notifier` printing trade events, warnings and session summaries; never raises.

    Parameters
    ----------
    verbose : bool
        Also print the market-open line of every session.
    show_utc : bool
        Show each time in UTC too, after KST (a venue whose day is UTC's: spec 004 §1).
    """

    def __init__(self, console: Console | None = None, *, verbose: bool = False, show_utc: bool = False) -> None:
        self._console = console or Console(highlight=False, soft_wrap=True)
        self._verbose = verbose
        self._show_utc = show_utc

    def event(self, record: EventRecord) -> None:
        """Print one event line when it tells the trading story or is a warning or worse."""
        try:
            if record.kind == "market_open" and not self._verbose:
                return
            if record.kind in TRADE_KINDS or record.severity in ("WARNING", "ERROR", "CRITICAL"):
                ts = show_kst_utc(record.ts_event) if self._show_utc else show_kst(record.ts_event)
                style = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}.get(record.severity, "")
                self._console.print(shown(f"{ts}  {record.kind:<16} {record.message}"), style=style, markup=False)
        except Exception:  # noqa: S110 - a notifier must never break the trading path  # nosec B110
            pass

    def session_closed(self, report: DailyReport) -> None:
        """Print the one-line summary of a closed session."""
        try:
            s = report.settlement
            net = s.realized_pnl_krw - s.commission_krw - s.tax_krw
            self._console.print(
                f"── {s.trading_date}{_UTC_DAY if self._show_utc else ''} summary: orders {s.orders_count}, "
                f"fills {s.fills_count}, realized "
                f"{net:,.0f} KRW net (commission {s.commission_krw:,.0f}, tax {s.tax_krw:,.0f}), unrealized "
                f"{s.unrealized_pnl_krw:,.0f} KRW, equity {s.end_equity_krw:,.0f} KRW ({s.return_pct:+.3f}%), "
                f"drawdown {report.drawdown.current_pct:.2f}% (max {report.drawdown.max_pct:.2f}%)",
                markup=False,
                style="bold",
            )
        except Exception:  # noqa: S110 - a notifier must never break the trading path  # nosec B110
            pass
