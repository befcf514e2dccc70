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
    """Order price condition (KIS ``ORD_DVSN`` ``00`` limit, ``01`` market)."""

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


class InstrumentKind(StrEnum):
    """What kind of listed product a symbol is; tick sizes differ (KIS master ``그룹코드`` ST / EF)."""

    STOCK = "STOCK"
    ETF = "ETF"

    def __str__(self) -> str:
        return self.value
