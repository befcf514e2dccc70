"""Performance figures of an equity curve: peak, current and maximum drawdown (PRD §3.6, §19)."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

_PCT = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Drawdown:
    """How far equity is, and has been, below its running peak.

    Attributes
    ----------
    peak_equity_krw : Decimal
        The highest equity seen, KRW.
    current_pct : Decimal
        Decline of the last equity from the peak, percent, ≥ 0 (0 at a new high).
    max_pct : Decimal
        The largest such decline over the curve, percent, ≥ 0.
    max_krw : Decimal
        That largest decline in KRW (from its own peak, not necessarily the same one as `max_pct`).
    """

    peak_equity_krw: Decimal
    current_pct: Decimal
    max_pct: Decimal
    max_krw: Decimal


def drawdown(start_equity_krw: Decimal, equities_krw: Iterable[Decimal]) -> Drawdown:
    """Return the drawdown of the curve that starts at `start_equity_krw` and goes through `equities_krw`.

    Percentages are rounded to six decimals. A curve that never falls has all declines 0; a start of 0
    (no capital) has percentages 0.
    """
    peak = start_equity_krw
    current = max_pct = max_krw = Decimal(0)
    for equity in equities_krw:
        peak = max(peak, equity)
        decline = peak - equity
        current = (decline / peak * 100).quantize(_PCT) if peak > 0 else Decimal(0)
        max_pct = max(max_pct, current)
        max_krw = max(max_krw, decline)
    return Drawdown(peak, current, max_pct, max_krw)
