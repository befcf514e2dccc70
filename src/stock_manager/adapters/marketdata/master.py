"""Symbol metadata from the KIS KOSPI stock master file (``kospi_code.mst``; KIS reference §7.5).

Each line is one record, cp949, fixed width. After decoding, the tail is the last 227 characters (ASCII, so
it is sliced from the end; the Korean name in front of it has a variable character count) and the head is
the rest: short code ``[0:9]``, standard code (ISIN) ``[9:21]``, Korean name ``[21:]``. The tail starts
with the two-character group code (``ST`` stock, ``EF`` ETF, ``EN`` ETN, …).
"""

from dataclasses import dataclass
from functools import cache

from stock_manager.adapters.marketdata.bundled import KOSPI_MASTER_FILE, read_bytes
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.model import InstrumentKind

#: Characters of the fixed ASCII tail of a KOSPI master record, without the newline.
KOSPI_TAIL_CHARS = 227

#: Group codes the project trades, mapped to their instrument kind; other groups have no kind.
GROUP_KINDS: dict[str, InstrumentKind] = {"ST": InstrumentKind.STOCK, "EF": InstrumentKind.ETF}


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """One listed product from the master file.

    Attributes
    ----------
    symbol : str
        KRX short code, e.g. ``"005930"``.
    standard_code : str
        ISIN, e.g. ``"KR7005930003"``.
    name : str
        Korean name, e.g. ``"삼성전자"``.
    group_code : str
        Master ``그룹코드`` (``ST``, ``EF``, ``EN``, …).
    kind : InstrumentKind | None
        STOCK for ``ST``, ETF for ``EF``; None for groups the project does not trade.
    market : str
        ``"KOSPI"``.
    """

    symbol: str
    standard_code: str
    name: str
    group_code: str
    kind: InstrumentKind | None
    market: str


def parse_kospi_master(data: bytes) -> dict[str, SymbolInfo]:
    """Parse a whole KOSPI master file into symbol metadata by short code.

    Raises
    ------
    ValueError
        If a non-empty line is too short to hold the fixed tail and the codes.
    """
    infos: dict[str, SymbolInfo] = {}
    for number, line in enumerate(data.decode("cp949").split("\n"), start=1):
        line = line.rstrip("\r")
        if not line:
            continue
        if len(line) < KOSPI_TAIL_CHARS + 21:
            raise ValueError(f"KOSPI master line {number} is too short ({len(line)} characters)")
        head, tail = line[:-KOSPI_TAIL_CHARS], line[-KOSPI_TAIL_CHARS:]
        symbol = head[0:9].strip()
        group = tail[0:2]
        infos[symbol] = SymbolInfo(
            symbol=symbol,
            standard_code=head[9:21].strip(),
            name=head[21:].strip(),
            group_code=group,
            kind=GROUP_KINDS.get(group),
            market="KOSPI",
        )
    return infos


@cache
def _bundled_master() -> dict[str, SymbolInfo]:
    return parse_kospi_master(read_bytes(KOSPI_MASTER_FILE))


def symbol_info(symbol: str) -> SymbolInfo:
    """Return the metadata of `symbol` from the bundled KOSPI master.

    Raises
    ------
    ConfigurationError
        If the symbol is not in the master file.
    """
    try:
        return _bundled_master()[symbol]
    except KeyError:
        raise ConfigurationError(f"symbol {symbol!r} is not in the bundled KOSPI master") from None


def instrument_kind(symbol: str) -> InstrumentKind:
    """Return the instrument kind (tick table) of `symbol`.

    Raises
    ------
    ConfigurationError
        If the symbol is unknown or of a group the project does not trade.
    """
    info = symbol_info(symbol)
    if info.kind is None:
        raise ConfigurationError(f"symbol {symbol} is of master group {info.group_code}, which is not traded")
    return info.kind
