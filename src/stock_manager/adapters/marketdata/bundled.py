"""Access to the market data files bundled in `stock_manager.data.market` (see SOURCES.md there).

Files are read with `importlib.resources`, so they are found inside an installed wheel as well as in the
source tree. Nothing is read at import time.
"""

import hashlib
from decimal import Decimal
from functools import cache
from importlib import resources

from stock_manager.domain.errors import ConfigurationError

DATA_PACKAGE = "stock_manager.data.market"

#: Symbols with bundled daily data (KRX short codes).
BUNDLED_SYMBOLS: tuple[str, ...] = ("005930", "000660", "005380", "035420", "069500")

#: QuantKang daily files (to 2023-12-22), one per bundled symbol.
QUANTKANG_DAILY_FILES: dict[str, str] = {symbol: f"krx_{symbol}_daily.csv" for symbol in BUNDLED_SYMBOLS}

#: KIS daily file of Samsung (2020-01-02 → 2026-01-15); used after the QuantKang file ends.
KIS_DAILY_FILES: dict[str, str] = {"005930": "krx_005930_daily_kis_2020-01-02_2026-01-15.csv"}

#: Yahoo intraday files per symbol: (file name, bar length in minutes).
INTRADAY_FILES: dict[str, tuple[tuple[str, int], ...]] = {
    "005930": (
        ("krx_005930_minute5_yahoo_2020-02-18_2020-04-16.csv", 5),
        ("krx_005930_minute1_yahoo_2025-06-13.csv", 1),
        ("krx_005930_minute1_yahoo_2025-06-16_2025-06-18.csv", 1),
    )
}

#: KIS KOSPI stock master (cp949, fixed width).
KOSPI_MASTER_FILE = "kis_kospi_code_2026-02-10.mst"


def read_bytes(name: str) -> bytes:
    """Return the raw bytes of the bundled file `name`.

    Raises
    ------
    ConfigurationError
        If no such file is bundled (a broken installation).
    """
    try:
        return resources.files(DATA_PACKAGE).joinpath(name).read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"bundled market data file {name} is missing from the installation") from exc


def read_text(name: str, encoding: str = "utf-8") -> str:
    """Return the bundled file `name` decoded with `encoding`."""
    return read_bytes(name).decode(encoding)


def all_data_files() -> tuple[str, ...]:
    """Return the names of every bundled data file the loaders use, sorted."""
    names = {*QUANTKANG_DAILY_FILES.values(), *KIS_DAILY_FILES.values(), KOSPI_MASTER_FILE}
    names.update(name for files in INTRADAY_FILES.values() for name, _ in files)
    return tuple(sorted(names))


@cache
def data_fingerprint() -> str:
    """Return a SHA-256 over the names and contents of the bundled data files (hex, 16 characters).

    A replay journal records it, so a replay is never resumed on top of different data.
    """
    digest = hashlib.sha256()
    for name in all_data_files():
        digest.update(name.encode())
        digest.update(read_bytes(name))
    return digest.hexdigest()[:16]


def require_bundled(symbol: str) -> str:
    """Return `symbol` if it has bundled data.

    Raises
    ------
    ConfigurationError
        If the symbol is not one of `BUNDLED_SYMBOLS`.
    """
    if symbol not in BUNDLED_SYMBOLS:
        raise ConfigurationError(f"no bundled market data for symbol {symbol!r}; have {', '.join(BUNDLED_SYMBOLS)}")
    return symbol


def parse_krw(text: str) -> Decimal:
    """Return a price or volume field as a Decimal (``60800.0`` becomes the integer ``60800``)."""
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    integral = value.to_integral_value()
    return integral if value == integral else value
