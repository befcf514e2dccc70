"""The Upbit venue's rule book: the KRW price-unit table (and a newer one from JSON), the KRW-BTC instrument and
fee, the 24/7 day cut at 00:00 UTC with maintenance windows, the replayed candles and the venue profile."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.broker.fill_identity import TradeIdFillIdentity
from stock_manager.adapters.venues.upbit import data
from stock_manager.adapters.venues.upbit.calendar import (
    MaintenanceWindow,
    UpbitCalendar,
    next_session,
    parse_maintenance,
    session_for,
)
from stock_manager.adapters.venues.upbit.profile import upbit_profile
from stock_manager.adapters.venues.upbit.replay import UpbitReplayMarket, candle_prints
from stock_manager.adapters.venues.upbit.rules import (
    KRW_TICKS_2024_01_29,
    tick_table_from_json,
    upbit_cost_model,
    upbit_instrument,
)
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import OrderType, Side, TimeInForce
from stock_manager.domain.sessions import MarketPhase

BTC = "KRW-BTC"


@pytest.mark.parametrize(
    ("price", "unit"),
    [
        ("160594000", "1000"),
        ("1500000", "1000"),
        ("999999", "500"),
        ("120000", "100"),
        ("70000", "50"),
        ("12000", "10"),
        ("7000", "5"),
        ("1500", "1"),
        ("150", "1"),
        ("15", "0.1"),
        ("1.5", "0.01"),
        ("0.5", "0.001"),
        ("0.05", "0.0001"),
        ("0.000005", "0.00000001"),
    ],
)
def test_price_unit_when_2025_07_31_table_then_each_band_has_its_unit(price: str, unit: str):
    assert upbit_instrument(BTC).tick_size(Decimal(price)) == Decimal(unit)


def test_instrument_when_krw_btc_then_1e8_sizes_5000_krw_minimum_no_band_and_round_to_the_grid():
    btc = upbit_instrument(BTC)

    assert (btc.size_increment, btc.min_notional, btc.band_rate, btc.kind, btc.market, btc.venue) == (
        Decimal("0.00000001"),
        Decimal(5000),
        None,
        "CRYPTO",
        "KRW",
        "upbit",
    )
    assert btc.price_band(Decimal(100_000_000)) is None
    assert btc.round_price(Decimal("160594321"), Side.BUY) == Decimal(160_594_000)
    assert btc.round_price(Decimal("160594321"), Side.SELL) == Decimal(160_595_000)
    assert btc.is_valid_quantity(Decimal("0.00003736")) and not btc.is_valid_quantity(Decimal("0.000000001"))
    with pytest.raises(ConfigurationError):
        upbit_instrument("BTC-ETH")


def test_cost_model_when_upbit_then_exact_005_percent_fee_and_no_tax():
    costs = upbit_cost_model()

    assert costs.commission_krw(Decimal("5999.79184")) == Decimal("2.99989592")
    assert costs.tax_krw(Side.SELL, Decimal(1_000_000), date(2025, 1, 1)) == 0


def test_tick_table_when_given_as_json_then_overrides_the_default_and_bad_json_is_refused():
    text = (
        '{"bands": [{"from": "1000000", "unit": "1000"}, {"from": "0", "unit": "0.01"},'
        ' {"from": "100", "unit": "0.5"}]}'
    )

    table = tick_table_from_json(text)

    btc = upbit_instrument(BTC, table)
    assert [btc.tick_size(Decimal(p)) for p in ("50", "150", "2000000")] == [
        Decimal("0.01"),
        Decimal("0.5"),
        Decimal(1000),
    ]
    assert KRW_TICKS_2024_01_29.increment_at(Decimal(1_500_000)) == Decimal(500)
    for bad in (
        '{"bands": []}',
        '{"bands": [{"from": "10", "unit": "1"}]}',
        "[1, 2]",
        '{"bands": [{"from": "0", "unit": "-1"}]}',
    ):
        with pytest.raises(ConfigurationError):
            tick_table_from_json(bad)


def test_session_when_a_day_then_0000_to_2400_utc_continuous_and_orders_live_on():
    session = session_for(date(2024, 3, 1))

    assert (session.ts_open, session.ts_close) == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))
    assert not session.orders_expire_at_close
    assert session.accepts(datetime(2024, 3, 1, 23, 59, tzinfo=UTC), OrderType.MARKET)
    assert session.phase_at(datetime(2024, 3, 2, tzinfo=UTC)) is MarketPhase.CLOSED  # the next day's


def test_session_when_maintenance_announced_then_a_maintenance_phase_takes_no_order():
    [window] = parse_maintenance("2024-03-01T10:00+09:00/2024-03-01T03:00Z")
    assert window == MaintenanceWindow(datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, 3, tzinfo=UTC))

    session = UpbitCalendar([window]).session_for(date(2024, 3, 1))

    assert [w.phase for w in session.phases] == [
        MarketPhase.CONTINUOUS,
        MarketPhase.MAINTENANCE,
        MarketPhase.CONTINUOUS,
    ]
    assert not session.accepts(datetime(2024, 3, 1, 2, tzinfo=UTC), OrderType.LIMIT)
    assert session.accepts(datetime(2024, 3, 1, 3, tzinfo=UTC), OrderType.LIMIT)
    early = UpbitCalendar(
        [MaintenanceWindow(datetime(2024, 2, 29, 23, tzinfo=UTC), datetime(2024, 3, 1, 1, tzinfo=UTC))]
    ).session_for(date(2024, 3, 1))
    assert early.ts_first_order == datetime(2024, 3, 1, 1, tzinfo=UTC)
    for bad in ("2024-03-01T10:00/2024-03-01T11:00", "2024-03-01T10:00Z", "2024-03-01T10:00Z/2024-03-01T09:00Z"):
        with pytest.raises(ConfigurationError):
            parse_maintenance(bad)


def test_next_session_when_asked_at_any_time_then_the_utc_day_holding_it():
    late_kst_evening = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)  # 08:30 KST on 03-02

    assert next_session(late_kst_evening).trading_date == date(2024, 3, 1)
    assert next_session(datetime(2024, 3, 2, tzinfo=UTC)).trading_date == date(2024, 3, 2)


def test_candle_prints_when_up_or_down_then_open_low_high_close_or_open_high_low_close_with_volume_split():
    [candle] = data.minute_candles_between(
        BTC, datetime(2025, 1, 26, 17, tzinfo=UTC), datetime(2025, 1, 26, 17, 30, tzinfo=UTC)
    )

    prints = candle_prints(candle)

    assert [p.price for p in prints] == [
        Decimal(157_600_000),
        Decimal(157_505_000),
        Decimal(157_737_000),
        Decimal(157_730_000),
    ]
    assert [p.ts_event - candle.start for p in prints] == [timedelta(minutes=m) for m in (0, 7.5, 15, 22.5)]
    assert [p.volume for p in prints] == [Decimal("2.12903971")] * 3 + [Decimal("2.12903973")]


def test_replay_market_when_krw_btc_then_days_base_prices_bars_and_no_other_market():
    market = UpbitReplayMarket([BTC])

    assert market.trading_days(date(2024, 1, 20), date(2024, 1, 25)) == [
        date(2024, 1, 23),
        date(2024, 1, 24),
        date(2024, 1, 25),
    ]
    assert market.base_prices(date(2024, 3, 1)) == {BTC: Decimal(85_910_000)}  # 2024-02-29's close
    bars = market.bars_before(BTC, date(2024, 3, 1), 200)
    assert len(bars) == 200 and bars[-1].trading_date == date(2024, 2, 29) and bars[0].close > 0
    built = market.bars_before(BTC, date(2024, 12, 6), 2)  # the daily file's partial last day is rebuilt
    assert [b.trading_date for b in built] == [date(2024, 12, 4), date(2024, 12, 5)]
    assert built[0].close == Decimal(138_760_000)
    assert market.trading_date_of(datetime(2024, 3, 1, 23, 59, tzinfo=UTC)) == date(2024, 3, 1)
    with pytest.raises(ConfigurationError):
        UpbitReplayMarket(["KRW-ETH"])


def test_profile_when_upbit_then_trade_ids_client_ids_gtc_and_a_24_hour_bar():
    profile = upbit_profile([upbit_instrument(BTC)])

    assert isinstance(profile.fill_identity, TradeIdFillIdentity)
    assert profile.client_order_ids and not profile.order_numbers_restart_daily
    assert profile.default_time_in_force is TimeInForce.GTC
    assert profile.bar_close(date(2024, 3, 1)) == datetime(2024, 3, 2, tzinfo=UTC)
    assert profile.date_of(datetime(2024, 3, 1, 23, 0, tzinfo=UTC)) == date(2024, 3, 1)
