"""**Port:** trading metrics (PRD §3.6, §19): order latency and failure rate, fill ratio, slippage against
the signal price, exposure, current and maximum drawdown.

Implementations must be cheap and never raise into the trading path.
"""

from decimal import Decimal
from typing import Protocol


class OrderTimer(Protocol):
    """Measures one order request, from just before the broker call to its answer."""

    def done(self, outcome: str) -> None:
        """Record the elapsed time with `outcome`: ``sent``, ``rejected``, ``unknown`` or ``fatal``."""
        ...


class Metrics(Protocol):
    """**Port:** where the order path and the session report what they measure."""

    def order_timer(self) -> OrderTimer:
        """Start timing one order request."""
        ...

    def order_accepted(self, side: str, quantity: Decimal) -> None:
        """Count an order quantity the broker accepted (the fill ratio's denominator)."""
        ...

    def fill(self, side: str, quantity: Decimal, price: Decimal, signal_price: Decimal | None) -> None:
        """Count a fill of our order (the fill ratio's numerator) and its slippage against `signal_price`."""
        ...

    def exposure(self, exposure_krw: Decimal) -> None:
        """Set the value of the holdings at the latest known prices, KRW."""
        ...

    def equity(self, equity_krw: Decimal, drawdown_pct: Decimal, max_drawdown_pct: Decimal) -> None:
        """Set equity (KRW), its current decline from the peak and the largest decline, percent."""
        ...


class _NullTimer:
    def done(self, outcome: str) -> None:
        """Drop the measurement."""


class NullMetrics:
    """Metrics that drop everything (metrics disabled, tests)."""

    def order_timer(self) -> OrderTimer:
        """Return a timer that records nothing."""
        return _NullTimer()

    def order_accepted(self, side: str, quantity: Decimal) -> None:
        """Drop it."""

    def fill(self, side: str, quantity: Decimal, price: Decimal, signal_price: Decimal | None) -> None:
        """Drop it."""

    def exposure(self, exposure_krw: Decimal) -> None:
        """Drop it."""

    def equity(self, equity_krw: Decimal, drawdown_pct: Decimal, max_drawdown_pct: Decimal) -> None:
        """Drop it."""
