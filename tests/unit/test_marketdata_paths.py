"""Intraday replay paths: print order, timing, tick grid and volume of the replayed prints."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from stock_manager.adapters.marketdata import daily_bar, intraday_bars, session_prints
from stock_manager.adapters.venues.krx.rules import is_on_tick
from stock_manager.domain.market import Tick
from stock_manager.domain.model import InstrumentKind
from stock_manager.localtime import KST, kst_datetime


def _session(day: date) -> tuple[datetime, datetime]:
    return kst_datetime(day, time(9, 0)), kst_datetime(day, time(15, 30))


def _prints(symbol: str, day: date) -> list[Tick]:
    return session_prints(symbol, day, *_session(day))


def _kst(tick: Tick) -> time:
    return tick.ts_event.astimezone(KST).time()


def test_session_prints_when_up_day_without_minute_bars_then_open_low_high_close_at_anchor_times() -> None:
    day = date(2023, 12, 22)  # 75,800 → close 75,900: up day, low 75,400, high 76,300
    prints = _prints("005930", day)

    assert len(prints) == 25
    anchors = [prints[0], prints[8], prints[16], prints[24]]
    assert [p.price for p in anchors] == [Decimal(75800), Decimal(75400), Decimal(76300), Decimal(75900)]
    assert [_kst(p) for p in anchors] == [time(9, 0), time(10, 30), time(13, 30), time(15, 30)]
    falling, rising = [p.price for p in prints[:9]], [p.price for p in prints[8:17]]
    assert falling == sorted(falling, reverse=True)  # open → low
    assert rising == sorted(rising)  # low → high


def test_session_prints_when_down_day_then_open_high_low_close() -> None:
    day = date(2023, 12, 14)  # 74,100 → close 73,100: down day, high 74,300, low 72,500
    bar = daily_bar("005930", day)
    assert bar is not None and bar.close < bar.open

    prints = _prints("005930", day)

    assert [prints[i].price for i in (0, 8, 16, 24)] == [Decimal(74100), Decimal(74300), Decimal(72500), Decimal(73100)]
    assert [p.price for p in prints[:9]] == sorted(p.price for p in prints[:9])  # rises to the high first


def test_session_prints_when_interpolated_then_on_tick_grid_inside_day_range_and_time_ordered() -> None:
    for symbol, day in [("005930", date(2023, 12, 22)), ("000660", date(2022, 3, 15)), ("005380", date(2021, 7, 1))]:
        bar = daily_bar(symbol, day)
        assert bar is not None
        prints = _prints(symbol, day)
        assert all(is_on_tick(p.price) for p in prints)
        assert all(bar.low <= p.price <= bar.high for p in prints)
        assert [p.ts_event for p in prints] == sorted({p.ts_event for p in prints})


def test_session_prints_when_etf_then_prices_on_etf_grid_of_5_won() -> None:
    day = date(2023, 12, 22)  # KODEX 200: 35,265 → 35,050; tick 5 (a stock would use 50)
    prints = _prints("069500", day)

    assert all(is_on_tick(p.price, InstrumentKind.ETF) for p in prints)
    assert any(p.price % 50 != 0 for p in prints)


def test_session_prints_when_daily_path_then_volume_split_evenly_remainder_on_close() -> None:
    day = date(2023, 12, 22)
    prints = _prints("005930", day)

    assert sum(p.volume for p in prints) == Decimal(14515608)
    assert {p.volume for p in prints[:-1]} == {Decimal(14515608 // 25)}
    assert prints[-1].volume == Decimal(14515608 - 24 * (14515608 // 25))


def test_session_prints_when_real_minute_bars_then_four_prints_per_bar_in_bar_order() -> None:
    day = date(2025, 6, 13)
    bars = intraday_bars("005930", day)
    assert bars is not None
    prints = _prints("005930", day)

    assert len(prints) == 4 * 360 + 1
    for bar, four in zip(bars, (prints[i : i + 4] for i in range(0, 1440, 4)), strict=True):
        extremes = [bar.low, bar.high] if bar.close >= bar.open else [bar.high, bar.low]
        assert [p.price for p in four] == [bar.open, *extremes, bar.close]
        assert [p.ts_event - bar.ts_start for p in four] == [timedelta(seconds=s) for s in (0, 15, 30, 45)]
        assert sum(p.volume for p in four) == bar.volume
    assert _kst(prints[0]) == time(9, 0)


def test_session_prints_when_minute_bar_volume_splits_unevenly_then_remainder_on_close_print() -> None:
    bars = intraday_bars("005930", date(2025, 6, 13))
    assert bars is not None
    prints = _prints("005930", date(2025, 6, 13))

    second = prints[4:8]  # bar volume 297,843 = 4 × 74,460 + 3
    assert bars[1].volume == Decimal(297843)
    assert [p.volume for p in second] == [Decimal(74460)] * 3 + [Decimal(74463)]


def test_session_prints_when_minute_day_has_daily_bar_then_closing_print_with_residual_volume() -> None:
    day = date(2025, 6, 13)
    bars = intraday_bars("005930", day)
    assert bars is not None
    prints = _prints("005930", day)

    close = prints[-1]
    assert _kst(close) == time(15, 30)
    assert close.price == Decimal(58300)
    assert close.volume == Decimal(20705979) - sum(b.volume for b in bars)
    assert sum(p.volume for p in prints) == Decimal(20705979)


def test_session_prints_when_5_minute_bars_then_prints_spread_over_five_minutes() -> None:
    prints = _prints("005930", date(2020, 3, 19))

    assert len(prints) == 4 * 67 + 1
    assert [p.ts_event - prints[0].ts_event for p in prints[:5]] == [
        timedelta(seconds=s) for s in (0, 75, 150, 225, 300)
    ]


def test_session_prints_when_called_twice_then_identical() -> None:
    assert _prints("005930", date(2020, 3, 19)) == _prints("005930", date(2020, 3, 19))
    assert _prints("035420", date(2023, 6, 1)) == _prints("035420", date(2023, 6, 1))


def test_session_prints_when_no_data_that_day_then_empty() -> None:
    assert _prints("069500", date(2024, 1, 2)) == []
    assert _prints("005930", date(2023, 12, 25)) == []


def test_session_prints_when_session_opens_late_then_anchors_follow_the_session() -> None:
    day = date(2023, 1, 2)  # first trading day of the year: 10:00 open
    prints = session_prints("005930", day, kst_datetime(day, time(10, 0)), kst_datetime(day, time(15, 30)))

    assert [_kst(prints[i]) for i in (0, 8, 16, 24)] == [time(10, 0), time(11, 30), time(13, 30), time(15, 30)]
