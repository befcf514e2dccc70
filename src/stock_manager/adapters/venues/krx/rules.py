"""KRX market rules as the core's `Instrument` and `CostModel`: tick sizes, daily price limits and costs.

Source: ../reference/kis-openapi.md §7.2 (tick table, unified for KOSPI and KOSDAQ since 2023-01-25),
§7.3 (±30 % daily band; reading (b) is used: upper = base × 1.3 floored to the tick valid there, lower =
base × 0.7 ceiled to the tick valid there) and §7.4 (commission and sell-side transaction tax).
"""

import functools
from datetime import date, time, timedelta
from decimal import Decimal

from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.costs import CostModel
from stock_manager.domain.instruments import Instrument, PriceBand, TickTable
from stock_manager.domain.model import InstrumentKind, Side

VENUE = "krx"

#: The KRX trading date is the Korean calendar date (KST, UTC+9).
KRX_DAY = DayBoundary(timedelta(hours=9))
#: The regular close, KST: daily decisions are timed at the close of the bar they read.
NOMINAL_CLOSE_KST = time(15, 30)

#: Stock ticks, KIS §7.2: (upper bound exclusive in KRW, tick in KRW).
STOCK_TICKS = TickTable(
    bands=(
        (Decimal(2_000), Decimal(1)),
        (Decimal(5_000), Decimal(5)),
        (Decimal(20_000), Decimal(10)),
        (Decimal(50_000), Decimal(50)),
        (Decimal(200_000), Decimal(100)),
        (Decimal(500_000), Decimal(500)),
    ),
    top_increment=Decimal(1_000),
)
#: ETF ticks: 1 KRW below 2,000 KRW, else 5 [KIS §7.2, ?].
ETF_TICKS = TickTable(bands=((Decimal(2_000), Decimal(1)),), top_increment=Decimal(5))
#: The daily band around the base price (the previous close), KIS §7.3.
PRICE_LIMIT_RATE = Decimal("0.30")
#: KIS non-face-to-face commission per side (0.0140527 %).
DEFAULT_COMMISSION_RATE = Decimal("0.000140527")
#: (effective from, rate) for KOSPI/KOSDAQ sells; KIS §7.4: 0.20 % (2023), 0.18 % (2024), 0.15 % (2025),
#: 0.20 % (2026-).
SELL_TAX_SCHEDULE: tuple[tuple[date, Decimal], ...] = (
    (date(2023, 1, 1), Decimal("0.0020")),
    (date(2024, 1, 1), Decimal("0.0018")),
    (date(2025, 1, 1), Decimal("0.0015")),
    (date(2026, 1, 1), Decimal("0.0020")),
)


def krx_instrument(symbol: str, kind: InstrumentKind = InstrumentKind.STOCK, name: str = "") -> Instrument:
    """Return a KRX-listed stock or ETF: whole shares, the kind's tick table and the ±30 % band."""
    ticks = ETF_TICKS if kind is InstrumentKind.ETF else STOCK_TICKS
    return Instrument(
        symbol=symbol,
        venue=VENUE,
        ticks=ticks,
        size_increment=Decimal(1),
        band_rate=PRICE_LIMIT_RATE,
        currency="KRW",
        name=name,
        kind=str(kind),
    )


def krx_cost_model(commission_rate: Decimal = DEFAULT_COMMISSION_RATE) -> CostModel:
    """Return KIS's commission and the dated KRX sell tax, both truncated to the won [KIS §7.4; truncation ?]."""
    return CostModel(commission_rate=commission_rate, sell_tax_schedule=SELL_TAX_SCHEDULE, cost_quantum=Decimal(1))


@functools.cache
def _reference(kind: InstrumentKind) -> Instrument:
    # One instrument per kind for the module's helpers (their tick tables and bands do not depend on the code).
    return krx_instrument("", kind)


def tick_size(price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> Decimal:
    """Return the KRX tick size in KRW valid at `price` for a stock or ETF."""
    return _reference(kind).tick_size(price)


def is_on_tick(price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> bool:
    """Return True when `price` is a positive multiple of the KRX tick valid at that price."""
    return krx_instrument("", kind).is_on_tick(price)


def round_to_tick(price: Decimal, side: Side, kind: InstrumentKind = InstrumentKind.STOCK) -> Decimal:
    """Round `price` to the KRX grid: down for a BUY limit, up for a SELL limit.

    Raises
    ------
    ValueError
        If `price` is not positive.
    """
    return krx_instrument("", kind).round_price(price, side)


def price_limits(base_price: Decimal, kind: InstrumentKind = InstrumentKind.STOCK) -> PriceBand:
    """Return the ±30 % daily limits around `base_price` (normally the previous close), on the tick grid."""
    band = krx_instrument("", kind).price_band(base_price)
    assert band is not None  # every KRX instrument has a band
    return band
