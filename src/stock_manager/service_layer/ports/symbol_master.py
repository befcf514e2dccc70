"""**Port:** the venue's list of listed symbols (its master file), fetched anew on the venue's schedule."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from stock_manager.domain.errors import StockbotError


class SymbolMasterUnavailable(StockbotError):
    """The master could not be fetched or read (unreachable, an HTTP error, a malformed file)."""


@dataclass(frozen=True, slots=True)
class ListedSymbols:
    """One fetched master: the symbols it lists (tradable or not) and when it was fetched (aware UTC)."""

    symbols: frozenset[str]
    ts_fetched: datetime


class SymbolMaster(Protocol):
    """**Port:** fetch the venue's symbol master."""

    async def fetch(self) -> ListedSymbols:
        """Return the master as it is now.

        Raises
        ------
        SymbolMasterUnavailable
            When it cannot be fetched or read.
        """
        ...
