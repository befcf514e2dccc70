"""The owner's MA 50/200 cross strategy on the bundled real daily series.

The expected cross dates are computed here independently (exact fractions over the raw CSV rows), not
with the strategy's own helpers.
"""

import csv
from datetime import UTC, date, datetime, time
from decimal import Decimal
from fractions import Fraction
from importlib.resources import files

import pytest

from stock_manager.adapters.venues.krx.profile import krx_profile
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.strategies.ma_cross import MaCrossParams, evaluate_daily, evaluate_tick
from stock_manager.localtime import kst_date, kst_datetime

SYMBOLS = ["005930", "000660", "005380", "035420", "069500"]
FIRST, LAST = date(2021, 1, 1), date(2023, 12, 22)


def close_of(day: date) -> datetime:
    """When a KRX trading day's daily bar closes (the venue profile's `bar_close`)."""
    return krx_profile([]).bar_close(day)


def raw_rows(symbol: str) -> list[tuple[date, int, int]]:
    """(date, close, volume) from the bundled QuantKang file, halt days (volume 0, flat bar) dropped."""
    text = files("stock_manager.data.market").joinpath(f"krx_{symbol}_daily.csv").read_text(encoding="utf-8")
    rows = []
    for r in csv.DictReader(text.splitlines()):
        if int(r["volume"]) == 0 and r["open"] == r["high"] == r["low"] == r["close"]:
            continue
        rows.append(
            (date(int(r["date"][:4]), int(r["date"][4:6]), int(r["date"][6:])), int(r["close"]), int(r["volume"]))
        )
    return rows


def expected_crosses(rows, min_volume_ratio: Fraction) -> dict[date, str]:
    closes = [Fraction(c) for _, c, _ in rows]
    found = {}
    for i in range(200, len(rows)):
        if not FIRST <= rows[i][0] <= LAST:
            continue
        s_now, l_now = sum(closes[i - 49 : i + 1]) / 50, sum(closes[i - 199 : i + 1]) / 200
        s_before, l_before = sum(closes[i - 50 : i]) / 50, sum(closes[i - 200 : i]) / 200
        volumes = [Fraction(v) for _, _, v in rows[i - 20 : i]]
        volume_ok = Fraction(rows[i][2]) >= (sum(volumes) / 20) * min_volume_ratio
        if s_before <= l_before and s_now > l_now and volume_ok:
            found[rows[i][0]] = "golden"
        elif s_before >= l_before and s_now < l_now:
            found[rows[i][0]] = "dead"
    return {d: kind for d, kind in found.items() if FIRST <= d <= LAST}


def bars(symbol, rows) -> list[DailyBar]:
    return [DailyBar(symbol, d, Decimal(c), Decimal(c), Decimal(c), Decimal(c), Decimal(v)) for d, c, v in rows]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_evaluate_daily_when_flat_then_entry_exactly_on_golden_cross_dates(symbol):
    # Arrange
    rows = raw_rows(symbol)
    history = bars(symbol, rows)
    params = MaCrossParams()
    expected = {d for d, kind in expected_crosses(rows, Fraction(4, 5)).items() if kind == "golden"}
    # Act
    signalled = set()
    for i, (day, _, _) in enumerate(rows):
        if FIRST <= day <= LAST:
            for signal in evaluate_daily(history[i - 230 : i + 1], None, params, close_of(day)):
                assert signal.side is Side.BUY and signal.intent is Intent.ENTRY
                assert signal.order_type is OrderType.LIMIT
                signalled.add(kst_date(signal.ts_signal))
    # Assert
    assert signalled == expected


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_evaluate_daily_when_holding_then_exit_exactly_on_dead_cross_dates(symbol):
    rows = raw_rows(symbol)
    history = bars(symbol, rows)
    holding = Position("A", symbol, quantity=Decimal(10), avg_price=Decimal(1))
    expected = {d for d, kind in expected_crosses(rows, Fraction(0)).items() if kind == "dead"}
    signalled = set()
    for i, (day, _, _) in enumerate(rows):
        if FIRST <= day <= LAST:
            for signal in evaluate_daily(history[i - 230 : i + 1], holding, MaCrossParams(), close_of(day)):
                assert signal.side is Side.SELL and signal.quantity == 10 and signal.order_type is OrderType.MARKET
                signalled.add(kst_date(signal.ts_signal))
    assert signalled == expected
    assert expected, "the bundled series has dead crosses in the period"


def test_bundled_2023_has_the_crosses_the_default_replay_relies_on():
    golden_2023 = sorted(
        d
        for s in SYMBOLS
        for d, k in expected_crosses(raw_rows(s), Fraction(4, 5)).items()
        if k == "golden" and d.year == 2023
    )
    assert len(golden_2023) >= 3


def test_evaluate_daily_when_entry_then_quantity_fits_budget_and_limit_above_close():
    rows = raw_rows("005930")
    day = next(d for d, k in expected_crosses(rows, Fraction(4, 5)).items() if k == "golden")
    i = next(i for i, r in enumerate(rows) if r[0] == day)
    [signal] = evaluate_daily(bars("005930", rows)[: i + 1], None, MaCrossParams(), close_of(day))
    close = Decimal(rows[i][1])
    assert signal.limit_price == close * Decimal("1.01")
    assert signal.quantity * signal.limit_price <= Decimal(2_000_000)
    assert (signal.quantity + 1) * signal.limit_price > Decimal(2_000_000)


@pytest.mark.parametrize(("price", "fires"), [(9500, True), (9501, False), (10999, False), (11000, True)])
def test_evaluate_tick_when_price_crosses_stop_or_target_then_exit(price, fires):
    position = Position("A", "005930", quantity=Decimal(7), avg_price=Decimal(10000))
    tick = Tick("005930", Decimal(price), Decimal(100), datetime(2023, 3, 2, 1, 0, tzinfo=UTC))
    signals = evaluate_tick(tick, position, MaCrossParams(), close_of(date(2023, 3, 2)))
    assert bool(signals) is fires
    if fires:
        assert signals[0].quantity == 7 and signals[0].side is Side.SELL


def test_evaluate_tick_when_same_session_then_same_idempotency_key():
    position = Position("A", "005930", quantity=Decimal(7), avg_price=Decimal(10000))
    day = date(2023, 3, 2)
    a = evaluate_tick(
        Tick("005930", Decimal(9000), Decimal(1), datetime(2023, 3, 2, 1, tzinfo=UTC)),
        position,
        MaCrossParams(),
        close_of(day),
    )
    b = evaluate_tick(
        Tick("005930", Decimal(8900), Decimal(1), datetime(2023, 3, 2, 5, tzinfo=UTC)),
        position,
        MaCrossParams(),
        close_of(day),
    )
    assert a[0].idempotency_key == b[0].idempotency_key


def test_signal_time_when_given_the_bars_close_then_it_is_the_signals_time():
    position = Position("A", "005930", quantity=Decimal(7), avg_price=Decimal(10000))
    tick = Tick("005930", Decimal(9000), Decimal(1), datetime(2023, 3, 2, 1, tzinfo=UTC))
    [signal] = evaluate_tick(tick, position, MaCrossParams(), close_of(date(2023, 3, 2)))
    assert signal.ts_signal == kst_datetime(date(2023, 3, 2), time(15, 30))


def test_params_from_mapping_when_unknown_key_then_configuration_error_names_it():
    from stock_manager.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="stop_loss"):
        MaCrossParams.from_mapping({"stop_loss": -5})
