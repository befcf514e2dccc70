"""What ``stockbot optimize`` writes and prints: the search's document (``optimize.json``), its trials
(``trials.csv``), the walk-forward windows table with the verdict, and the trials as ``record_run`` stores
them (objectives as Decimal); and what both research commands share: the progress bar of long runs and a
run's configuration as ``backtest_runs.config`` stores it.

Helpers of the `optimize` command in `research_cli`; they import rich and the research package only when
called, like the commands.
"""

import csv
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from stock_manager.research.optimize import SearchResult, SearchSpec


def search_document(
    result: "SearchResult", spec: "SearchSpec", period: tuple[date, date], symbols: Any
) -> dict[str, Any]:
    """Return the search's outcome as ``optimize.json`` holds it (every trial included)."""
    start, end = period
    return {
        "objective": spec.objective,
        "seed": spec.seed,
        "period": f"{start}..{end}",
        "symbols": symbols,
        "baseline": result.baseline,
        "windows": result.windows,
        "suggestion": result.suggestion,
        "verdict": result.verdict,
        "trials": result.trials,
    }


def write_search(document: dict[str, Any], result: "SearchResult", out: Path) -> None:
    """Write ``optimize.json`` (the document) and ``trials.csv`` (one row per trial, a column per parameter) to
    `out`, creating it if needed."""
    from stock_manager.research.report import jsonable

    out.mkdir(parents=True, exist_ok=True)
    (out / "optimize.json").write_text(json.dumps(jsonable(document), indent=2), encoding="utf-8")
    names = sorted({k for t in result.trials for k in t["params"]})
    with (out / "trials.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "window",
                "trial",
                *names,
                "objective_in_sample",
                "objective_out_of_sample",
                "trades_in_sample",
                "trades_out_of_sample",
                "error",
            ]
        )
        for t in result.trials:
            writer.writerow(
                [
                    t["window"],
                    t["trial"],
                    *(t["params"].get(n, "") for n in names),
                    t["objective_in_sample"],
                    t["objective_out_of_sample"],
                    t["in_sample"].get("trades", ""),
                    t["out_of_sample"].get("trades", ""),
                    t["error"] or "",
                ]
            )


def recorded_trials(result: "SearchResult") -> list[dict[str, Any]]:
    """Return the trials as ``optimize_trials`` rows take them: the objectives as Decimal (8 places) or None."""
    return [
        {
            **t,
            "objective_in_sample": _dec(t["objective_in_sample"]),
            "objective_out_of_sample": _dec(t["objective_out_of_sample"]),
        }
        for t in result.trials
    ]


def _dec(value: float | None) -> Any:
    return None if value is None else Decimal(str(round(value, 8)))


def render_search(result: "SearchResult", console: "Console") -> None:
    """Print the windows (in-sample best with its out-of-sample figure next to the baseline's) and the verdict."""
    from rich.console import Console
    from rich.table import Table

    if not console.is_terminal and console.width < 140:
        console = Console(width=160, highlight=False)
    objective = result.spec.objective
    table = Table(title=f"Walk-forward windows ({objective}; {result.spec.trials} trials each)", title_justify="left")
    for column in (
        "window",
        "in sample",
        "out of sample",
        "best in-sample params",
        f"IS {objective}",
        f"OOS {objective}",
        f"baseline OOS {objective}",
    ):
        table.add_column(column)
    for w in result.windows:
        changed = {k: v for k, v in w["best_params"].items() if str(w["baseline_params"].get(k)) != str(v)}
        table.add_row(
            str(w["window"]),
            w["in_sample"],
            w["out_of_sample"],
            ", ".join(f"{k}={v}" for k, v in changed.items()) or "(= baseline)",
            _num(w["best_in_sample"]),
            _num(w["best_out_of_sample"]),
            _num(w["baseline_out_of_sample"]),
        )
    console.print(table)
    console.print(f"[bold]Verdict:[/] {result.verdict}")
    if result.suggestion:
        console.print(f"suggested parameters: {result.suggestion}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def progress_bar(console: "Console", total_hint: int, label: str) -> tuple[Callable[[int, int], None] | None, Any]:
    """Return a progress callback and its rich Progress (None, None for short runs)."""
    if total_hint < 250:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    )
    task = bar.add_task(label, total=total_hint)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return advance, bar


def config_mapping(config: Any, source: str) -> dict[str, Any]:
    """Return what a run was configured with, JSON-safe (for ``backtest_runs.config``)."""
    from dataclasses import asdict

    return {
        "fill_model": str(config.fill_model),
        "start_cash_krw": str(config.start_cash_krw),
        "participation_rate": str(config.participation_rate),
        "data": source,
        "commission_rate": str(config.cost_model.commission_rate),
        "risk_limits": {k: (None if v is None else str(v)) for k, v in asdict(config.limits).items()},
    }
