"""Drawdown of an end-of-session equity curve."""

from decimal import Decimal

from stock_manager.domain.performance import drawdown


def test_drawdown_when_equity_falls_recovers_and_falls_again_then_current_and_max_are_from_the_peaks():
    dd = drawdown(Decimal(100), [Decimal(110), Decimal(99), Decimal(120), Decimal(108)])

    assert dd.peak_equity_krw == 120
    assert dd.max_pct == 10 and dd.current_pct == 10  # 110 → 99 and 120 → 108 are both -10 %
    assert dd.max_krw == 12


def test_drawdown_when_equity_only_rises_then_every_decline_is_zero():
    dd = drawdown(Decimal(100), [Decimal(100), Decimal(101)])

    assert (dd.current_pct, dd.max_pct, dd.max_krw, dd.peak_equity_krw) == (0, 0, 0, 101)


def test_drawdown_when_it_starts_below_its_starting_capital_then_it_counts_from_the_start():
    dd = drawdown(Decimal(10_000_000), [Decimal(9_818_091)])

    assert dd.current_pct == Decimal("1.819090") and dd.max_krw == 181_909
