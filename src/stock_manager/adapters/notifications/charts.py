"""The equity curve as a PNG (matplotlib, Agg backend, no pyplot state: safe off the main thread)."""

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal


def equity_curve_png(curve: Sequence[tuple[date, Decimal]], *, title: str = "Equity (KRW, end of session)") -> bytes:
    """Return a PNG of end-of-session equity by trading date.

    Parameters
    ----------
    curve : Sequence[tuple[date, Decimal]]
        (trading date, equity KRW), oldest first (`DailyReport.equity_curve`).

    Raises
    ------
    ValueError
        If `curve` is empty.
    """
    if not curve:
        raise ValueError("an equity curve needs at least one session")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    days = [d for d, _ in curve]
    equity = [float(e) for _, e in curve]  # plotting only; the figures themselves stay Decimal
    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(
        days,  # type: ignore[arg-type]  # the stubs say ArrayLike; matplotlib.dates converts dates
        equity,
        color="#1f6feb",
        marker="o" if len(days) < 40 else None,
        linewidth=1.5,
    )
    peak = [max(equity[: i + 1]) for i in range(len(equity))]
    axes.fill_between(
        days,  # type: ignore[arg-type]  # the stubs say ArrayLike; matplotlib.dates converts dates
        equity,
        peak,
        color="#d1242f",
        alpha=0.15,
        label="drawdown",
    )
    axes.set_title(title)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
