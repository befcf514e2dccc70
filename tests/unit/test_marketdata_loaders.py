"""Loaders of the bundled real market data: daily bars, intraday bars, the KIS master, trading days."""

import csv
import io
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import resources

import pytest

from stock_manager.adapters.marketdata import (
    BUNDLED_SYMBOLS,
    bars_before,
    daily_bar,
    daily_bars,
    intraday_bars,
    intraday_days,
    parse_kospi_master,
    previous_close,
    symbol_info,
    trading_days,
)
from stock_manager.adapters.marketdata.bundled import (
    KIS_DAILY_FILES,
    KOSPI_MASTER_FILE,
    all_data_files,
    read_bytes,
    read_text,
)
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import InstrumentKind
from stock_manager.localtime import KST

# -- DAILY --------------------------------------------------------------------------------------------


def test_daily_bars_when_samsung_2023_12_22_then_quantkang_values() -> None:
    bar = daily_bar("005930", date(2023, 12, 22))

    assert bar is not None
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        Decimal(75800),
        Decimal(76300),
        Decimal(75400),
        Decimal(75900),
        Decimal(14515608),
    )


def test_daily_bars_when_samsung_after_2023_then_kis_file_values() -> None:
    bar_2025 = daily_bar("005930", date(2025, 6, 13))
    last = daily_bars("005930")[-1]

    assert bar_2025 is not None
    assert (bar_2025.open, bar_2025.close, bar_2025.volume) == (Decimal(60200), Decimal(58300), Decimal(20705979))
    assert (last.trading_date, last.close) == (date(2026, 1, 15), Decimal(141650))


def test_daily_bars_when_sources_overlap_then_prices_equal_kis_file_and_volumes_within_2_shares() -> None:
    kis_rows = csv.DictReader(io.StringIO(read_text(KIS_DAILY_FILES["005930"]), newline=""))
    kis = {date.fromisoformat(row["date"]): row for row in kis_rows}
    merged = {bar.trading_date: bar for bar in daily_bars("005930") if bar.trading_date in kis}

    assert len(merged) == len(kis)
    for day, bar in merged.items():
        row = kis[day]
        assert [bar.open, bar.high, bar.low, bar.close] == [
            Decimal(row[key]) for key in ("open", "high", "low", "close")
        ]
        assert abs(bar.volume - Decimal(row["volume"])) <= 2


def test_daily_bars_when_data_has_halt_rows_then_they_are_dropped() -> None:
    days = {bar.trading_date for bar in daily_bars("005930")}

    assert date(2018, 4, 27) in days
    assert not {date(2018, 4, 30), date(2018, 5, 2), date(2018, 5, 3)} & days
    assert date(2018, 5, 4) in days
    assert all(not (b.volume == 0 and b.open == b.high == b.low == b.close) for b in daily_bars("035420"))


def test_daily_bars_when_loaded_then_sorted_decimal_and_dates() -> None:
    for symbol in BUNDLED_SYMBOLS:
        bars = daily_bars(symbol)
        assert all(isinstance(bar.close, Decimal) and type(bar.trading_date) is date for bar in bars[:5])
        assert [bar.trading_date for bar in bars] == sorted({bar.trading_date for bar in bars})


def test_previous_close_when_day_after_weekend_then_friday_bar() -> None:
    before = previous_close("005930", date(2023, 12, 26))

    assert before is not None
    assert (before.trading_date, before.close) == (date(2023, 12, 22), Decimal(75900))
    assert [b.trading_date for b in bars_before("005930", date(2023, 12, 26), 2)] == [
        date(2023, 12, 21),
        date(2023, 12, 22),
    ]


def test_daily_bars_when_symbol_not_bundled_then_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        daily_bars("999999")


def test_trading_days_when_one_symbol_ends_earlier_then_union_of_days() -> None:
    days = trading_days(["005930", "069500"], date(2023, 12, 21), date(2024, 1, 3))

    assert days == [date(2023, 12, 21), date(2023, 12, 22), date(2023, 12, 26), date(2023, 12, 27),
                    date(2023, 12, 28), date(2024, 1, 2), date(2024, 1, 3)]  # fmt: skip
    assert daily_bar("069500", date(2023, 12, 26)) is None


# -- INTRADAY -----------------------------------------------------------------------------------------


def test_intraday_bars_when_yahoo_1_minute_utc_then_first_bar_is_0900_kst() -> None:
    bars = intraday_bars("005930", date(2025, 6, 13))

    assert bars is not None
    assert len(bars) == 360
    assert bars[0].ts_start == datetime(2025, 6, 13, 0, 0, tzinfo=UTC)
    assert bars[0].ts_start.astimezone(KST).time() == time(9, 0)
    assert bars[-1].ts_start.astimezone(KST).time() == time(14, 59)
    assert (bars[0].open, bars[0].volume, bars[1].volume) == (Decimal(60200), Decimal(0), Decimal(297843))
    assert bars[0].length.total_seconds() == 60


def test_intraday_bars_when_5_minute_kst_file_then_aware_utc_and_whole_won() -> None:
    bars = intraday_bars("005930", date(2020, 3, 19))

    assert bars is not None
    assert len(bars) == 67
    assert bars[0].ts_start == datetime(2020, 3, 19, 0, 0, tzinfo=UTC)
    assert bars[0].length.total_seconds() == 300
    assert all(bar.close == bar.close.to_integral_value() and bar.close.as_tuple().exponent == 0 for bar in bars)


def test_intraday_bars_when_day_without_minute_data_then_none() -> None:
    assert intraday_bars("005930", date(2023, 12, 22)) is None
    assert intraday_bars("069500", date(2020, 3, 19)) is None
    days = intraday_days("005930")
    assert len(days) == 46
    assert days[0] == date(2020, 2, 18)
    assert days[-4:] == [date(2025, 6, 13), date(2025, 6, 16), date(2025, 6, 17), date(2025, 6, 18)]


# -- MASTER -------------------------------------------------------------------------------------------


def test_symbol_info_when_bundled_symbols_then_names_and_kinds_from_master() -> None:
    samsung, kodex = symbol_info("005930"), symbol_info("069500")

    assert (samsung.name, samsung.kind, samsung.market, samsung.standard_code) == (
        "삼성전자",
        InstrumentKind.STOCK,
        "KOSPI",
        "KR7005930003",
    )
    assert (kodex.name, kodex.kind, kodex.group_code) == ("KODEX 200", InstrumentKind.ETF, "EF")
    assert symbol_info("000660").name == "SK하이닉스"


def test_parse_kospi_master_when_whole_file_then_every_record_parsed() -> None:
    infos = parse_kospi_master(read_bytes(KOSPI_MASTER_FILE))

    assert len(infos) == 2486
    assert all(info.symbol and len(info.standard_code) == 12 and info.name for info in infos.values())
    assert {info.group_code for info in infos.values()} >= {"ST", "EF", "EN"}
    assert sum(info.kind is InstrumentKind.ETF for info in infos.values()) == 1070


def test_parse_kospi_master_when_line_too_short_then_value_error() -> None:
    with pytest.raises(ValueError, match="too short"):
        parse_kospi_master("005930   KR7005930003삼성전자\n".encode("cp949"))


# -- PACKAGING ----------------------------------------------------------------------------------------


def test_bundled_files_when_read_through_package_resources_then_all_present() -> None:
    package = resources.files("stock_manager.data.market")

    for name in all_data_files():
        assert package.joinpath(name).is_file()
    assert package.joinpath("SOURCES.md").is_file()
