"""Upbit KRW-market rules as the core's `Instrument` and `CostModel`: the price unit by price band, the size
increment, the order value limits and the fee.

Source: ../reference/upbit-openapi.md §8.1 (price unit table effective 2025-07-31, the previous one of
2024-01-29 … 2025-07-30), §8.2 (5,000 KRW minimum and 1,000,000,000 KRW maximum order value on both sides, 8
decimals of quantity, 0.05 % fee per side, maker = taker) and §9 pitfall 7 (Upbit changes the table by notice:
the table is data, overridable from a JSON file, see `tick_table_from_json`).
"""

import json
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.instruments import Instrument, TickTable
from stock_manager.domain.model import InstrumentKind

VENUE: Final = "upbit"
#: Upbit's day (day candles, ticker statistics) starts at 00:00 UTC = 09:00 KST (§3.2, §3.4).
UPBIT_DAY: Final = DayBoundary(timedelta(0))
QUOTE_CURRENCY: Final = "KRW"

#: KRW-market price unit from 2025-07-31 (§8.1): (upper bound exclusive, unit), KRW.
KRW_TICKS_2025_07_31: Final = TickTable(
    bands=(
        (Decimal("0.00001"), Decimal("0.00000001")),
        (Decimal("0.0001"), Decimal("0.0000001")),
        (Decimal("0.001"), Decimal("0.000001")),
        (Decimal("0.01"), Decimal("0.00001")),
        (Decimal("0.1"), Decimal("0.0001")),
        (Decimal("1"), Decimal("0.001")),
        (Decimal("10"), Decimal("0.01")),
        (Decimal("100"), Decimal("0.1")),
        (Decimal("1000"), Decimal("1")),
        (Decimal("5000"), Decimal("1")),
        (Decimal("10000"), Decimal("5")),
        (Decimal("50000"), Decimal("10")),
        (Decimal("100000"), Decimal("50")),
        (Decimal("500000"), Decimal("100")),
        (Decimal("1000000"), Decimal("500")),
    ),
    top_increment=Decimal("1000"),
)
#: The table in force 2024-01-29 … 2025-07-30 (§8.1; the 16 coins with 1 KRW at 100–1,000 are not modelled).
KRW_TICKS_2024_01_29: Final = TickTable(
    bands=(
        (Decimal("0.0001"), Decimal("0.00000001")),  # rows below 1 KRW: the reference's "…", inferred [U]
        (Decimal("0.001"), Decimal("0.0000001")),
        (Decimal("0.01"), Decimal("0.000001")),
        (Decimal("0.1"), Decimal("0.00001")),
        (Decimal("1"), Decimal("0.0001")),
        (Decimal("10"), Decimal("0.001")),
        (Decimal("100"), Decimal("0.01")),
        (Decimal("1000"), Decimal("0.1")),
        (Decimal("10000"), Decimal("1")),
        (Decimal("100000"), Decimal("10")),
        (Decimal("500000"), Decimal("50")),
        (Decimal("1000000"), Decimal("100")),
        (Decimal("2000000"), Decimal("500")),
    ),
    top_increment=Decimal("1000"),
)
DEFAULT_KRW_TICKS: Final = KRW_TICKS_2025_07_31

#: Quantities are whole multiples of 1e-8 of the base currency (§8.2).
SIZE_INCREMENT: Final = Decimal("0.00000001")
#: Smallest order value, KRW, both sides (``min_total``; §8.2).
MIN_ORDER_KRW: Final = Decimal(5_000)
#: Largest order value, KRW (``max_total``; §8.2): a venue rule the core never meets (no `Instrument` field).
MAX_ORDER_KRW: Final = Decimal(1_000_000_000)
#: Fee per side on KRW markets, maker = taker (``bid_fee``/``ask_fee`` ``"0.0005"``; §8.2).
DEFAULT_FEE_RATE: Final = Decimal("0.0005")

#: Display names of the markets the project knows; others show their code.
MARKET_NAMES: Final[Mapping[str, tuple[str, str]]] = {"KRW-BTC": ("비트코인", "Bitcoin")}


def upbit_instrument(symbol: str, ticks: TickTable | None = None) -> Instrument:
    """Return a KRW-market instrument: the price-unit table, 1e-8 base units, 5,000 KRW minimum, no price band.

    Parameters
    ----------
    symbol : str
        The market code, ``"KRW-BTC"``.
    ticks : TickTable | None
        The price-unit table (`DEFAULT_KRW_TICKS` when None; see `tick_table_from_json` for a newer one).

    Raises
    ------
    ConfigurationError
        If `symbol` is not a KRW market code (``KRW-<BASE>``).
    """
    quote, _, base = symbol.partition("-")
    if quote != QUOTE_CURRENCY or not base or not base.isalnum() or base.upper() != base:
        raise ConfigurationError(f"{symbol!r} is not an Upbit KRW market code (like 'KRW-BTC')")
    _, english = MARKET_NAMES.get(symbol, ("", ""))
    return Instrument(
        symbol=symbol,
        venue=VENUE,
        ticks=ticks or DEFAULT_KRW_TICKS,
        size_increment=SIZE_INCREMENT,
        min_notional=MIN_ORDER_KRW,
        band_rate=None,
        currency=QUOTE_CURRENCY,
        name=english or symbol,
        kind=str(InstrumentKind.CRYPTO),
        market=QUOTE_CURRENCY,
    )


def upbit_cost_model(fee_rate: Decimal = DEFAULT_FEE_RATE) -> CostModel:
    """Return Upbit's fee on both sides, exact (no rounding to the won) and no tax (§8.2)."""
    return CostModel(commission_rate=fee_rate, sell_tax_schedule=(), cost_quantum=None)


def tick_table_from_json(text: str) -> TickTable:
    """Return a price-unit table from JSON, for a table Upbit announced after this code was written.

    The format lists each band by its lowest price, as Upbit's notices do, in any order::

        {"bands": [{"from": "0", "unit": "0.00000001"}, {"from": "0.00001", "unit": "0.0000001"}, ...,
                   {"from": "1000000", "unit": "1000"}]}

    Prices and units are decimal strings (numbers are accepted too), KRW.

    Raises
    ------
    ConfigurationError
        If the text is not such an object, a value is not a positive decimal (``from`` may be 0), no band
        starts at 0, or two bands start at the same price.
    """
    try:
        raw: Any = json.loads(text)
        rows = [(_decimal(row["from"]), _decimal(row["unit"])) for row in raw["bands"]]
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigurationError(f"the price-unit table is not valid JSON of the documented shape: {e}") from None
    rows.sort()
    starts = [start for start, _ in rows]
    if not rows or starts[0] != 0 or len(set(starts)) != len(starts):
        raise ConfigurationError("the price-unit table needs one band from 0 and distinct band starts")
    if any(start < 0 or unit <= 0 for start, unit in rows):
        raise ConfigurationError("price-unit bands need a start >= 0 and a positive unit")
    bands = tuple((rows[i + 1][0], rows[i][1]) for i in range(len(rows) - 1))
    try:
        return TickTable(bands=bands, top_increment=rows[-1][1])
    except ValueError as e:
        raise ConfigurationError(f"the price-unit table is inconsistent: {e}") from None


def load_tick_table(path: Path) -> TickTable:
    """Return the price-unit table of the JSON file at `path` (see `tick_table_from_json`).

    Raises
    ------
    ConfigurationError
        If the file cannot be read or is not a valid table.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigurationError(f"cannot read the price-unit table {path}: {e.strerror or e}") from None
    return tick_table_from_json(text)


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a decimal")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not finite")
    return number
