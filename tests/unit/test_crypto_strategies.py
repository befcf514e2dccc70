"""The owner's Bitcoin strategies (spec 004) on the bundled real KRW-BTC data.

Each strategy is fed the real 30-minute bars of 2024 as prints (open, then the extreme nearer the open, the
other extreme, the close) over the real daily bars before each day, with a fill assumed at every signal's
print. The expected decisions are computed here independently, with exact fractions over the raw CSV text,
not with the strategies' helpers.
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from importlib.resources import files
from itertools import pairwise
from math import floor

import pytest

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import DailyBar, Tick
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.signals import Signal
from stock_manager.domain.strategies.base import MarketDay, Strategy
from stock_manager.domain.strategies.grid import GRID, GridParams
from stock_manager.domain.strategies.turtle import TURTLE, TurtleParams
from stock_manager.domain.strategies.volatility_breakout import VOLATILITY_BREAKOUT, BreakoutParams

SYMBOL = "KRW-BTC"
SATOSHI = Fraction(1, 10**8)
FIRST, LAST = date(2024, 1, 24), date(2024, 12, 3)


def _rows(name: str) -> list[dict[str, str]]:
    text = files("stock_manager.data.market").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class RawDay:
    """A daily candle as exact fractions (trading date = the KST date its 09:00 KST candle starts)."""

    day: date
    open: Fraction
    high: Fraction
    low: Fraction
    close: Fraction


def raw_days() -> list[RawDay]:
    """The 2017-2024 daily file; its last row is a partial day (SOURCES.md) and is dropped."""
    rows = _rows("upbit_krw-btc_daily_2017-09-25_2024-12-04.csv")[:-1]
    return [
        RawDay(
            date.fromisoformat(r["candle_date_time_kst"][:10]),
            Fraction(r["opening_price"]),
            Fraction(r["high_price"]),
            Fraction(r["low_price"]),
            Fraction(r["trade_price"]),
        )
        for r in rows
    ]


def raw_prints() -> dict[date, list[tuple[datetime, Fraction]]]:
    """Prints per trading day from the 30-minute file (newest first on disk: sorted here)."""
    by_day: dict[date, list[tuple[datetime, Fraction]]] = {}
    for r in sorted(_rows("upbit_krw-btc_minute30_2024-01-23_2025-01-27.csv"), key=lambda r: r["candle_date_time_utc"]):
        start = datetime.fromisoformat(r["candle_date_time_utc"]).replace(tzinfo=UTC)
        day = start.date()  # the trading day starts at 09:00 KST, which is 00:00 UTC
        o, h, lo, c = (Fraction(r[k]) for k in ("opening_price", "high_price", "low_price", "trade_price"))
        path = (o, h, lo, c) if h - o <= o - lo else (o, lo, h, c)
        by_day.setdefault(day, []).extend((start + timedelta(minutes=7 * i), p) for i, p in enumerate(path))
    return by_day


DAYS = raw_days()
PRINTS = raw_prints()


def bars(days: list[RawDay]) -> list[DailyBar]:
    return [
        DailyBar(
            SYMBOL,
            d.day,
            Decimal(d.open.numerator),
            Decimal(d.high.numerator),
            Decimal(d.low.numerator),
            Decimal(d.close.numerator),
            Decimal(0),
        )
        for d in days
    ]


@dataclass(frozen=True)
class Decision:
    day: date
    index: int
    side: Side
    quantity: Fraction


def run(strategy: Strategy) -> Iterator[Decision]:
    """Feed every day's prints to `strategy`; a signal fills at once at its print (quantity, print price)."""
    held, avg = Decimal(0), Decimal(0)
    history = bars(DAYS)
    for i, d in enumerate(DAYS):
        if not FIRST <= d.day <= LAST:
            continue
        before = history[:i]
        for signal in strategy.daily_signals(before, Position("a", SYMBOL, held, avg), _ts(d.day)):
            yield Decision(d.day, -1, signal.side, Fraction(signal.quantity))
            held = Decimal(0)
        high = low = None
        for index, (ts, price) in enumerate(PRINTS[d.day]):
            p = Decimal(price.numerator)
            high, low = max(high or p, p), min(low or p, p)
            market = MarketDay(before, history[i].open, high, low)
            position = Position("a", SYMBOL, held, avg) if held else None
            for signal in strategy.tick_signals(Tick(SYMBOL, p, Decimal(0), ts), position, ts, market):
                assert signal.quantity is not None or signal.target_value_krw is not None
                quantity = (
                    signal.quantity
                    if signal.quantity is not None
                    else Decimal(int(signal.target_value_krw / p / Decimal("1e-8"))) * Decimal("1e-8")
                )
                if signal.side is Side.BUY:
                    assert signal.order_type is OrderType.LIMIT and signal.intent is Intent.ENTRY
                    assert signal.limit_price is not None and signal.limit_price > p
                    avg = (avg * held + p * quantity) / (held + quantity)
                    held += quantity
                else:
                    assert signal.order_type is OrderType.MARKET and signal.intent is Intent.EXIT
                    held -= quantity
                yield Decision(d.day, index, signal.side, Fraction(quantity))


def _ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def floor_satoshi(x: Fraction) -> Fraction:
    return floor(x / SATOSHI) * SATOSHI


def test_the_data_covers_the_test_period() -> None:
    covered = [d.day for d in DAYS if FIRST <= d.day <= LAST]
    assert len(covered) == (LAST - FIRST).days + 1
    assert sum(1 for d in covered if d in PRINTS) >= 300


# --- volatility breakout ---------------------------------------------------------------------------------


def expected_breakout(k: Fraction, ma_days: int) -> list[Decision]:
    out: list[Decision] = []
    held = Fraction(0)
    for i, d in enumerate(DAYS):
        if not FIRST <= d.day <= LAST:
            continue
        if held:
            out.append(Decision(d.day, -1, Side.SELL, held))
            held = Fraction(0)
        prev = DAYS[i - 1]
        target = d.open + k * (prev.high - prev.low)
        closes = [x.close for x in DAYS[i - ma_days : i]]
        if ma_days and not prev.close > sum(closes) / ma_days:
            continue
        for index, (_, price) in enumerate(PRINTS.get(d.day, [])):
            if price >= target:
                held = floor_satoshi(Fraction(1_000_000) / price)
                out.append(Decision(d.day, index, Side.BUY, held))
                break
    return out


@pytest.mark.parametrize(("k", "ma_days"), [("0.5", 5), ("0.5", 0), ("0.3", 20)])
def test_volatility_breakout_enters_at_the_first_print_reaching_the_target_and_exits_next_day(
    k: str, ma_days: int
) -> None:
    params = BreakoutParams.from_mapping({"k": k, "ma_filter_days": ma_days})
    got = list(run(VOLATILITY_BREAKOUT.build(params)))
    expected = expected_breakout(Fraction(k), ma_days)
    assert got == expected
    assert sum(1 for x in got if x.side is Side.BUY) >= 20


# --- turtle ----------------------------------------------------------------------------------------------


def expected_turtle(entry_days: int, exit_days: int, atr_days: int, risk: Fraction, stop_n: Fraction) -> list[Decision]:
    true_range = [None] + [max(d.high, p.close) - min(d.low, p.close) for p, d in pairwise(DAYS)]
    out: list[Decision] = []
    held, avg = Fraction(0), Fraction(0)
    for i, d in enumerate(DAYS):
        if not FIRST <= d.day <= LAST:
            continue
        window = true_range[i - atr_days : i]
        n = sum(window) / atr_days  # type: ignore[arg-type]
        channel_high = max(x.high for x in DAYS[i - entry_days : i])
        channel_low = min(x.low for x in DAYS[i - exit_days : i])
        for index, (_, price) in enumerate(PRINTS.get(d.day, [])):
            if held:
                if price < channel_low or price <= avg - stop_n * n:
                    out.append(Decision(d.day, index, Side.SELL, held))
                    held = Fraction(0)
            elif price > channel_high:
                quantity = floor_satoshi(risk / n)
                out.append(Decision(d.day, index, Side.BUY, quantity))
                held, avg = quantity, price
    return out


@pytest.mark.parametrize(("entry_days", "exit_days"), [(20, 10), (55, 20)])
def test_turtle_enters_on_the_channel_breakout_sized_by_n_and_leaves_on_the_exit_channel_or_2n(
    entry_days: int, exit_days: int
) -> None:
    params = TurtleParams.from_mapping({"entry_days": entry_days, "exit_days": exit_days})
    got = list(run(TURTLE.build(params)))
    expected = expected_turtle(entry_days, exit_days, 20, Fraction(50_000), Fraction(2))
    assert got == expected
    assert sum(1 for x in got if x.side is Side.BUY) >= 2
    assert sum(1 for x in got if x.side is Side.SELL) >= 2


# --- grid ------------------------------------------------------------------------------------------------


def expected_grid(levels: int, band_pct: Fraction, unit_krw: Fraction) -> list[Decision]:
    out: list[Decision] = []
    held_units, unit = 0, Fraction(0)
    for i, d in enumerate(DAYS):
        if not FIRST <= d.day <= LAST:
            continue
        if held_units:  # sold at the day boundary (see _GridClosingEachDay)
            out.append(Decision(d.day, -1, Side.SELL, held_units * unit))
            held_units = 0
        center = DAYS[i - 1].close
        lower, upper = center * (1 - band_pct / 100), center * (1 + band_pct / 100)
        step = (upper - lower) / levels
        unit = floor_satoshi(unit_krw / center)
        high = low = None
        for index, (_, price) in enumerate(PRINTS.get(d.day, [])):
            high, low = max(high or price, price), min(low or price, price)
            if low < lower or high > upper:
                if held_units:
                    out.append(Decision(d.day, index, Side.SELL, held_units * unit))
                    held_units = 0
                continue
            target = max(0, min(levels, floor((upper - price) / step)))
            if target != held_units:
                side = Side.BUY if target > held_units else Side.SELL
                out.append(Decision(d.day, index, side, abs(target - held_units) * unit))
                held_units = target
    return out


def test_grid_holds_one_unit_per_level_below_the_top_and_stops_once_the_day_leaves_the_band() -> None:
    params = GridParams.from_mapping({"levels": 10, "band_pct": 5, "unit_value_krw": 200_000})
    got = list(run(_GridClosingEachDay(GRID.build(params))))
    expected = expected_grid(10, Fraction(5), Fraction(200_000))
    assert got == expected
    assert sum(1 for x in got if x.side is Side.BUY) >= 100


@dataclass(frozen=True)
class _GridClosingEachDay:
    """The grid with its holdings sold at each day boundary, so each day's units are that day's size: keeps the
    independent computation to one day's band (the real grid carries a position into the next day's band)."""

    inner: Strategy

    strategy_id = "grid"
    enters_intraday = True

    def daily_signals(self, history, position, ts_decision):  # type: ignore[no-untyped-def]
        if position is None or position.quantity <= 0:
            return []
        return [
            Signal(
                strategy_id="grid",
                symbol=SYMBOL,
                side=Side.SELL,
                intent=Intent.EXIT,
                order_type=OrderType.MARKET,
                reference_price=history[-1].close,
                ts_signal=ts_decision,
                reason="test: day boundary",
                quantity=position.quantity,
            )
        ]

    def tick_signals(self, tick, position, ts_decision, day):  # type: ignore[no-untyped-def]
        return self.inner.tick_signals(tick, position, ts_decision, day)


# --- parameters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "raw", "message"),
    [
        (VOLATILITY_BREAKOUT, {"k": "0"}, "k must be above 0 and at most 3, was 0"),
        (VOLATILITY_BREAKOUT, {"ma_filter_days": "2.5"}, "ma_filter_days"),
        (TURTLE, {"entry_days": 1}, "entry_days must be at least 2 and at most 250, was 1"),
        (TURTLE, {"stop_n": "-1"}, "stop_n must be above 0"),
        (GRID, {"levels": 1}, "levels must be at least 2"),
        (GRID, {"band_pct": 50}, "band_pct must be above 0 and below 50, was 50"),
        (GRID, {"spacing": 3}, "spacing"),
    ],
)
def test_bad_parameters_are_named(spec, raw, message) -> None:  # type: ignore[no-untyped-def]
    assert any(message in p for p in spec.problems(raw))
    with pytest.raises(ConfigurationError, match="invalid strategy parameters"):
        spec.params_from(raw)


@pytest.mark.parametrize("spec", [VOLATILITY_BREAKOUT, TURTLE, GRID])
def test_defaults_round_trip_through_their_stored_form(spec) -> None:  # type: ignore[no-untyped-def]
    defaults = spec.default_params()
    assert spec.problems(defaults.to_mapping()) == []
    assert spec.params_from(defaults.to_mapping()) == defaults
