"""Positions from fills, KRX tick grid and price limits, commission and tax to the won (KIS §7.2-7.4)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.venues.krx.rules import is_on_tick, krx_cost_model, price_limits, round_to_tick, tick_size
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import InstrumentKind, Side
from stock_manager.domain.positions import Position, positions_from_fills

T0 = datetime(2023, 3, 2, 0, 0, tzinfo=UTC)


def f(fid: str, side: Side, qty: int, price: int, minutes: int = 0, commission: int = 0, tax: int = 0) -> Fill:
    return Fill(
        fid,
        "1",
        "005930",
        side,
        Decimal(qty),
        Decimal(price),
        Decimal(commission),
        Decimal(tax),
        T0 + timedelta(minutes=minutes),
        T0.date(),
    )


def test_apply_fill_when_buying_twice_then_average_price_is_volume_weighted():
    p = Position("A", "005930").apply_fill(f("1", Side.BUY, 10, 60000)).apply_fill(f("2", Side.BUY, 30, 64000))
    assert p.quantity == 40
    assert p.avg_price == Decimal("63000.0000")
    assert p.realized_pnl_krw == 0


def test_apply_fill_when_selling_part_then_pnl_realized_at_average_and_average_kept():
    p = Position("A", "005930").apply_fill(f("1", Side.BUY, 10, 60000, commission=84))
    p = p.apply_fill(f("2", Side.SELL, 4, 66000, commission=37, tax=528))
    assert p.quantity == 6
    assert p.avg_price == Decimal(60000)
    assert p.realized_pnl_krw == Decimal(24000)
    assert p.net_realized_pnl_krw == Decimal(24000 - 84 - 37 - 528)


def test_apply_fill_when_selling_everything_then_flat_with_zero_average():
    p = Position("A", "005930").apply_fill(f("1", Side.BUY, 10, 60000)).apply_fill(f("2", Side.SELL, 10, 57000))
    assert p.is_flat and p.avg_price == 0
    assert p.realized_pnl_krw == Decimal(-30000)


def test_positions_from_fills_when_given_out_of_order_then_same_as_execution_order():
    fills = [f("2", Side.SELL, 5, 70000, minutes=5), f("1", Side.BUY, 10, 60000, minutes=1)]
    p = positions_from_fills("A", fills)["005930"]
    assert p.quantity == 5 and p.realized_pnl_krw == Decimal(50000)


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1999, 1),
        (2000, 5),
        (4995, 5),
        (5000, 10),
        (19990, 10),
        (20000, 50),
        (49950, 50),
        (50000, 100),
        (199900, 100),
        (200000, 500),
        (499500, 500),
        (500000, 1000),
    ],
)
def test_tick_size_when_price_at_band_edges_then_matches_krx_table(price, tick):
    assert tick_size(Decimal(price)) == tick


def test_tick_size_when_etf_then_five_won_above_2000():
    assert tick_size(Decimal(35000), InstrumentKind.ETF) == 5
    assert tick_size(Decimal(1500), InstrumentKind.ETF) == 1


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        ("60050", Side.BUY, 60000),
        ("60050", Side.SELL, 60100),
        ("49990", Side.SELL, 50000),
        ("199950", Side.SELL, 200000),
        ("60000", Side.BUY, 60000),
    ],
)
def test_round_to_tick_when_off_grid_then_never_more_aggressive(price, side, expected):
    rounded = round_to_tick(Decimal(price), side)
    assert rounded == expected and is_on_tick(rounded)


def test_price_limits_when_base_70000_then_91000_and_49000():
    limits = price_limits(Decimal(70000))
    assert (limits.lower, limits.upper) == (Decimal(49000), Decimal(91000))
    assert is_on_tick(limits.lower) and is_on_tick(limits.upper)


def test_cost_model_when_selling_in_2023_then_tax_020_and_commission_truncated_to_won():
    costs = krx_cost_model()
    notional = Decimal(10) * Decimal(65400)
    assert costs.commission_krw(notional) == Decimal(91)  # 654,000 × 0.0140527 % = 91.90 → 91
    assert costs.tax_krw(Side.SELL, notional, date(2023, 6, 1)) == Decimal(1308)
    assert costs.tax_krw(Side.BUY, notional, date(2023, 6, 1)) == 0


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2023, 12, 28), "0.0020"),
        (date(2024, 5, 2), "0.0018"),
        (date(2025, 6, 13), "0.0015"),
        (date(2026, 1, 2), "0.0020"),
    ],
)
def test_sell_tax_rate_when_year_changes_then_follows_schedule(day, rate):
    assert krx_cost_model().sell_tax_rate(day) == Decimal(rate)
