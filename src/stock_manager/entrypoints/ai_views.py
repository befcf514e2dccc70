"""Rendering of the AI commands (``stockbot params ...``, ``stockbot ai ...``): rich tables for people, plain
data for ``--json``. Times in KST; account numbers partly hidden."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stock_manager.adapters.notifications.display import account, shown
from stock_manager.entrypoints.views import kst
from stock_manager.service_layer.ports.ai_storage import JobRun, ParamDraft, TradeJournal
from stock_manager.service_layer.views.params import DraftDetail, HistoryEntry

#: Evidence figures shown for a draft, in order.
FIGURES = (
    "return_pct",
    "sharpe",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "costs_krw",
    "end_equity_krw",
    "kill_switch",
)


def wide(console: Console) -> Console:
    """Return `console`, or a 160-column one when output goes to a file or pipe (tables stay readable)."""
    if not console.is_terminal and console.width < 140:
        return Console(width=160, highlight=False, soft_wrap=True)
    return console


def _plain(value: Any) -> str:
    return "-" if value is None or value == "" else escape(str(value))


def draft_data(draft: ParamDraft) -> dict[str, Any]:
    """Return a draft as plain data (``--json``)."""
    return {k: (kst(v) if k.startswith("ts_") and v is not None else v) for k, v in asdict(draft).items()}


def _oos(draft: ParamDraft) -> str:
    oos = (draft.evidence or {}).get("out_of_sample") or {}
    if not oos:
        return "-"
    return f"{_plain(oos.get('proposed'))} vs {_plain(oos.get('active'))}"


def _why(draft: ParamDraft) -> str:
    failed = [c["reason"] for c in (draft.validation or {}).get("checks", []) if not c.get("passed")]
    return escape(failed[0]) if failed else ""


def render_drafts(drafts: Sequence[ParamDraft], console: Console) -> None:
    """Print the drafts, newest first: status, origin, the out-of-sample objective against the ACTIVE one, and
    the first failed rule of an INVALID one."""
    console = wide(console)
    if not drafts:
        console.print(
            "No parameter drafts. `stockbot ai propose` makes some (the daemon too, with AI_PROPOSE_NIGHTLY=true)."
        )
        return
    table = Table(
        "id",
        "strategy",
        "origin",
        "status",
        "proposed (KST)",
        "data until",
        "OOS objective vs active",
        "why not",
        title="Parameter drafts",
        title_justify="left",
    )
    for d in drafts:
        table.add_row(
            str(d.id), d.strategy_id, d.origin, d.status, kst(d.ts_created), str(d.data_until), _oos(d), _why(d)
        )
    console.print(table)


def render_draft(detail: DraftDetail, console: Console) -> None:
    """Print one draft: the parameters it changes against those in force, its evidence, the gate's checks and
    its decisions."""
    console = wide(console)
    d = detail.draft
    console.print(f"[bold]Draft {d.id}[/] · {d.strategy_id} · {d.origin} · [bold]{d.status}[/]")
    console.print(f"proposed {kst(d.ts_created)} KST by {_plain(d.created_by)}; data up to {d.data_until}")
    if d.rationale:
        console.print(f"rationale: {_plain(d.rationale)}")
    table = Table(
        "parameter",
        f"in force on {detail.on} ({detail.active_source})",
        "proposed",
        "change",
        title="What it changes",
        title_justify="left",
    )
    for name, old, new in detail.changes:
        table.add_row(name, _plain(old), _plain(new), _pct(old, new))
    if not detail.changes:
        table.add_row("(nothing)", "", "", "")
    console.print(table)
    evidence = d.evidence or {}
    backtests = evidence.get("backtests") or {}
    if backtests:
        ev = Table(
            "figure",
            "proposed",
            "in force (active)",
            title=f"Out of sample {evidence.get('out_of_sample_span', '')} ({evidence.get('objective', '')})",
            title_justify="left",
        )
        for key in FIGURES:
            ev.add_row(
                key, _plain(backtests.get("proposed", {}).get(key)), _plain(backtests.get("active", {}).get(key))
            )
        console.print(ev)
    windows = (evidence.get("search") or {}).get("windows") or []
    if windows:
        wf = Table(
            "window",
            "in sample",
            "out of sample",
            "best IS",
            "best OOS",
            "active OOS",
            title=f"Walk-forward search: {_plain((evidence.get('search') or {}).get('verdict'))}",
            title_justify="left",
        )
        for w in windows:
            wf.add_row(
                str(w["window"]),
                w["in_sample"],
                w["out_of_sample"],
                _plain(w["best_in_sample"]),
                _plain(w["best_out_of_sample"]),
                _plain(w["baseline_out_of_sample"]),
            )
        console.print(wf)
    for check in (d.validation or {}).get("checks", []):
        mark = "[green]✓[/]" if check.get("passed") else "[red]✗[/]"
        console.print(f"{mark} {check.get('rule')}: {_plain(check.get('reason'))}")
    if d.ts_decided is not None:
        console.print(
            f"{d.status.lower() if d.status != 'APPLIED' else 'approved'} by {_plain(d.decided_by)} at "
            f"{kst(d.ts_decided)} KST{f' from {d.effective_from}' if d.effective_from else ''}: "
            f"{_plain(d.decision_reason)}"
        )
    if d.ts_applied is not None:
        console.print(f"applied: the daemon opened session {d.applied_on} with it")


def _pct(old: Any, new: Any) -> str:
    try:
        a, b = float(old), float(new)
    except (TypeError, ValueError):
        return ""
    return f"{(b - a) / abs(a) * 100:+.1f} %" if a else "from 0"


def history_data(entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """Return the history as plain data."""
    return [{**asdict(e), "ts": kst(e.ts)} for e in entries]


def render_history(entries: Sequence[HistoryEntry], console: Console) -> None:
    """Print who changed what, when and why (parameters and risk limits), oldest first."""
    console = wide(console)
    if not entries:
        console.print("No strategy or risk change yet.")
        return
    table = Table("when (KST)", "what", "of", "change", "who", "why", title="Changes", title_justify="left")
    for e in entries:
        table.add_row(kst(e.ts), e.kind, e.subject, escape(e.change), escape(e.who), escape(e.why))
    console.print(table)


def render_journal(journal: TradeJournal, console: Console) -> None:
    """Print a journal with a line saying which version, written how and when."""
    console.print(
        f"journal of {journal.trading_date}, account {account(journal.account_id)}, version "
        f"{journal.version}, {journal.language}, by {journal.model}, {journal.status} "
        f"({kst(journal.ts_created)} KST)",
        style="dim",
        markup=False,
    )
    console.print(shown(journal.text), markup=False)


def journal_data(journal: TradeJournal) -> dict[str, Any]:
    """Return a journal as plain data."""
    from stock_manager.adapters.observability.masking import mask_data

    data = asdict(journal)
    data["facts"] = mask_data(data["facts"])
    data["account_id"] = account(journal.account_id)
    data["ts_created"] = kst(journal.ts_created)
    data["text"] = shown(journal.text)
    return data


def render_runs(runs: Sequence[JobRun], console: Console) -> None:
    """Print the newest job runs: what, for which day, by which model, how it ended, tokens and cost."""
    console = wide(console)
    table = Table(
        "id",
        "job",
        "trigger",
        "for",
        "provider:model",
        "outcome",
        "tokens in/out",
        "cost KRW",
        "started (KST)",
        "error",
        title="AI job runs",
        title_justify="left",
    )
    for r in runs:
        table.add_row(
            str(r.id),
            r.job,
            r.triggered_by,
            str(r.subject_date),
            f"{r.provider}:{r.model or '-'}",
            r.outcome,
            f"{r.input_tokens:,}/{r.output_tokens:,}",
            "-" if r.cost_krw is None else f"{r.cost_krw:,.2f}",
            kst(r.ts_started),
            escape(r.error[:80]),
        )
    console.print(table)
