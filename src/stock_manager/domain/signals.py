"""Signals: what a strategy proposes. Risk decides; execution turns an allowed signal into an order."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from stock_manager.domain.model import Intent, OrderType, Side


@dataclass(frozen=True, slots=True)
class Signal:
    """A proposal to trade one symbol.

    Attributes
    ----------
    strategy_id : str
        The strategy that proposed it (``strategies.strategy_id``).
    intent : Intent
        ENTRY or EXIT; with the symbol and `ts_signal` it makes the idempotency key.
    quantity : Decimal | None
        Shares to trade; None lets execution size it from `target_value_krw`.
    target_value_krw : Decimal | None
        Budget for an entry, KRW, when `quantity` is None.
    order_type : OrderType
        LIMIT at `limit_price` (rounded to the tick grid by execution) or MARKET.
    reference_price : Decimal
        Last price the decision saw, KRW (slippage reference; the limit for a marketable LIMIT entry).
    ts_signal : datetime
        Aware UTC time that identifies the decision: the bar's date for daily signals, the session date
        for intraday exits (so a restarted daemon re-derives the same key).
    reason : str
        Human-readable why, recorded on the order and in events.
    key_suffix : str
        Tells apart decisions of one strategy, symbol, intent and time (e.g. a grid's level); part of the
        idempotency key when not empty.
    """

    strategy_id: str
    symbol: str
    side: Side
    intent: Intent
    order_type: OrderType
    reference_price: Decimal
    ts_signal: datetime
    reason: str
    quantity: Decimal | None = None
    target_value_krw: Decimal | None = None
    limit_price: Decimal | None = None
    key_suffix: str = ""

    def __post_init__(self) -> None:
        if self.quantity is None and self.target_value_krw is None:
            raise ValueError("a signal needs a quantity or a target value")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError(f"signal quantity must be positive, was {self.quantity}")

    @property
    def idempotency_key(self) -> str:
        """Return the deterministic idempotency key of the decision.

        Shape: ``<strategy>:<symbol>:<intent>:<ts_signal ISO UTC>[:<key suffix>]:<8 hex>``; the hex digest
        covers the same fields so two different decisions never share a key.
        """
        ts = self.ts_signal.isoformat(timespec="seconds")
        body = f"{self.strategy_id}:{self.symbol}:{self.intent}:{ts}"
        if self.key_suffix:
            body = f"{body}:{self.key_suffix}"
        return f"{body}:{hashlib.sha256(body.encode()).hexdigest()[:8]}"
