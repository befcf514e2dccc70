"""What goes to Slack, where, and how it reads on a phone (pure: no I/O; time is passed in).

Routing (PRD §19, seed 003's level policy):

- trade events (`TRADE_KINDS`, the AI job's trade journal among them; a recovery that changed something) go
  to the trades channel at once,
  whatever their level: each is a recorded fact (an order, a fill, a stop), so none is suppressed;
- CRITICAL and ERROR go to the alerts channel at once (a stop or kill switch goes to both channels);
- WARNING goes to the alerts channel in one message per 5-minute batch;
- INFO and DEBUG are not sent;
- the same alert (kind, severity, message) within a minute is sent once.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from stock_manager.localtime import KST, show_kst_utc
from stock_manager.service_layer.ports.storage import EventRecord
from stock_manager.service_layer.views.reports import DailyReport

#: Event kinds of the trading story that go to the trades channel at any level.
TRADE_KINDS = frozenset(
    {
        "order_created",
        "order_rejected",
        "fill",
        "external_fill",
        "stop_mode",
        "kill_switch",
        "kill_switch_set",
        "kill_switch_cleared",
        "trade_journal",
    }
)
_URGENT = frozenset({"ERROR", "CRITICAL"})
_EMOJI = {"CRITICAL": ":rotating_light:", "ERROR": ":x:", "WARNING": ":warning:"}
_KIND_EMOJI = {"fill": ":white_check_mark:", "order_created": ":memo:", "recovery": ":arrows_counterclockwise:"}
BATCH_LINES = 30


@dataclass(frozen=True, slots=True)
class Route:
    """Where one event goes: channels to post to now, and whether it joins the warning batch."""

    now: tuple[str, ...] = ()
    batch: bool = False
    alert: bool = False  # subject to duplicate suppression


def is_trade_event(record: EventRecord) -> bool:
    """Return True for an event of the trading story (orders, fills, stops, a recovery that changed things)."""
    if record.kind == "recovery":
        return record.payload.get("clean") is False
    return record.kind in TRADE_KINDS


def route(record: EventRecord, *, alerts_channel: str, trades_channel: str) -> Route:
    """Return where `record` goes (see the module's rules)."""
    trade = is_trade_event(record)
    channels = [trades_channel] if trade else []
    urgent = record.severity in _URGENT
    if urgent and alerts_channel not in channels:
        channels.append(alerts_channel)
    return Route(tuple(channels), batch=record.severity == "WARNING" and not trade, alert=urgent and not trade)


def alert_key(record: EventRecord) -> str:
    """Return the duplicate-suppression key of an alert: sha256 of kind, severity and message."""
    return hashlib.sha256(f"{record.kind}\0{record.severity}\0{record.message}".encode()).hexdigest()


@dataclass(slots=True)
class Deduper:
    """Remembers alerts sent within `window`; `first` says whether one is new."""

    window: timedelta = timedelta(minutes=1)
    _seen: dict[str, datetime] = field(default_factory=dict)

    def first(self, key: str, now: datetime) -> bool:
        """Return True (and remember it) unless `key` was seen less than `window` before `now`."""
        for old in [k for k, ts in self._seen.items() if now - ts >= self.window]:
            del self._seen[old]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


@dataclass(slots=True)
class WarningBatch:
    """Warnings collected for one message; due `window` after the first one arrived."""

    window: timedelta = timedelta(minutes=5)
    started: datetime | None = None
    records: list[EventRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, record: EventRecord, now: datetime) -> None:
        """Add a warning; the same warning again only raises its count."""
        if self.started is None:
            self.started = now
        key = alert_key(record)
        if key not in self.counts:
            self.records.append(record)
        self.counts[key] = self.counts.get(key, 0) + 1

    def due(self, now: datetime) -> bool:
        """Return True when the batch has warnings and its window has passed."""
        return self.started is not None and now - self.started >= self.window

    def take(self) -> tuple[list[tuple[EventRecord, int]], datetime | None]:
        """Return the warnings with their counts and the batch's start, and empty the batch."""
        taken = [(r, self.counts[alert_key(r)]) for r in self.records]
        started = self.started
        self.started, self.records, self.counts = None, [], {}
        return taken, started


def _kst(ts: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return ts.astimezone(KST).strftime(fmt)


def format_event(record: EventRecord, label: str, *, show_utc: bool = False) -> str:
    """Return one event as a Slack message: level, kind, time (KST; and UTC with `show_utc`), message, account
    and correlation id."""
    emoji = _EMOJI.get(record.severity) or _KIND_EMOJI.get(record.kind, ":information_source:")
    extra = [
        f"account {record.account_id}" if record.account_id else "",
        f"corr {record.correlation_id}" if record.correlation_id else "",
    ]
    tail = " · ".join(e for e in extra if e)
    when = show_kst_utc(record.ts_event) if show_utc else f"{_kst(record.ts_event)} KST"
    return f"{emoji} *{record.severity}* `{record.kind}` [{label}] {when}\n{record.message}" + (
        f"\n_{tail}_" if tail else ""
    )


def format_batch(warnings: Iterable[tuple[EventRecord, int]], started: datetime | None, label: str) -> str:
    """Return a warning batch as one message: one line per distinct warning, ``(×n)`` when repeated."""
    items = list(warnings)
    total = sum(n for _, n in items)
    since = f" since {_kst(started, '%H:%M')} KST" if started else ""
    lines = [f":warning: *{total} warning(s)* [{label}]{since}"]
    for record, count in items[:BATCH_LINES]:
        repeat = f" (×{count})" if count > 1 else ""
        lines.append(f"• {_kst(record.ts_event, '%m-%d %H:%M:%S')} `{record.kind}` {record.message}{repeat}")
    if len(items) > BATCH_LINES:
        lines.append(f"… and {len(items) - BATCH_LINES} more (see `stockbot status` and the log file)")
    return "\n".join(lines)


def _krw(amount: Decimal) -> str:
    return f"{amount:,.0f} KRW"


def format_report(report: DailyReport, label: str) -> str:
    """Return the daily report as a Slack message (PnL, costs, trades, return, drawdown)."""
    s, dd = report.settlement, report.drawdown
    stopped = s.summary.get("stopped") or ""
    lines = [
        f":bar_chart: *Daily report {s.trading_date}* [{label}]",
        f"Realized PnL {_krw(report.net_realized_pnl_krw)} net ({_krw(s.realized_pnl_krw)} gross, "
        f"commission {_krw(s.commission_krw)}, tax {_krw(s.tax_krw)})",
        f"Unrealized PnL {_krw(s.unrealized_pnl_krw)}",
        f"Trades: {s.fills_count} fill(s) of {s.orders_count} order(s)",
        f"Equity {_krw(s.start_equity_krw)} → {_krw(s.end_equity_krw)} ({s.return_pct:+.3f}% today, "
        f"{report.cumulative_return_pct:+.3f}% since {report.equity_curve[0][0]})",
        f"Drawdown {dd.current_pct:.3f}% (max {dd.max_pct:.3f}%, {_krw(dd.max_krw)}), peak {_krw(dd.peak_equity_krw)}",
    ]
    for f in report.fills[:BATCH_LINES]:
        lines.append(f"• {_kst(f.ts_filled, '%H:%M:%S')} {f.side.value} {f.quantity:,.0f} {f.symbol} @ {f.price:,.0f}")
    if len(report.fills) > BATCH_LINES:
        lines.append(f"… and {len(report.fills) - BATCH_LINES} more fill(s) (`stockbot report`)")
    if stopped:
        lines.append(f":octagonal_sign: stop mode: {stopped}")
    return "\n".join(lines)
