"""Value types shared across the domain: sides, order types, intents, identifiers."""

from enum import StrEnum


class Side(StrEnum):
    """Order or fill direction."""

    BUY = "BUY"
    SELL = "SELL"

    def __str__(self) -> str:
        return self.value

    @property
    def sign(self) -> int:
        """Return +1 for BUY and -1 for SELL (signed quantity arithmetic)."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """Order price condition: at a limit price or better, or at the market."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"

    def __str__(self) -> str:
        return self.value


class Intent(StrEnum):
    """Why a strategy wants an order; one live order per (strategy, symbol, intent) at most."""

    ENTRY = "ENTRY"
    EXIT = "EXIT"

    def __str__(self) -> str:
        return self.value


class TimeInForce(StrEnum):
    """How long an order works: the trading day (expires at the close), until cancelled, or at once
    (immediate-or-cancel, fill-or-kill)."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"

    def __str__(self) -> str:
        return self.value


class InstrumentKind(StrEnum):
    """What kind of product a symbol is (informational; each venue's rules differ by kind)."""

    STOCK = "STOCK"
    ETF = "ETF"
    CRYPTO = "CRYPTO"

    def __str__(self) -> str:
        return self.value
