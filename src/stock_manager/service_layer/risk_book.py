"""What the risk rules need to know beyond positions and orders, kept up to date by execution and the session:
the session's hours, each symbol's newest market data, recent order times, failed orders per symbol and
consecutive broker failures. In memory only: it describes the current session.
"""

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from stock_manager.domain.model import OrderType, Side
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import MarketSnapshot, RiskState, SymbolFailures
from stock_manager.domain.sessions import MarketPhase, TradingSession

_RATE_WINDOW = timedelta(seconds=60)


@dataclass(slots=True)
class RiskBook:
    """Per-session inputs of the risk rules (see `RiskState`)."""

    session: TradingSession | None = None
    market: dict[str, MarketSnapshot] = field(default_factory=dict)
    recent_orders: deque[datetime] = field(default_factory=deque)
    failures: dict[str, SymbolFailures] = field(default_factory=dict)
    broker_failures: int = 0

    def begin_session(self, session: TradingSession | None) -> None:
        """Start a session (its phases); yesterday's market data, order times and failures are forgotten."""
        self.session = session
        self.market.clear()
        self.recent_orders.clear()
        self.failures.clear()

    def phase_at(self, now: datetime) -> MarketPhase | None:
        """Return the session phase at `now`, or None when the session's hours are unknown."""
        return None if self.session is None else self.session.phase_at(now)

    def accepts(self, now: datetime, order_type: OrderType) -> bool:
        """Return True when the session takes an order of `order_type` at `now` (never without a session)."""
        return self.session is not None and self.session.accepts(now, order_type)

    def note_quote(
        self, symbol: str, price: Decimal, ts: datetime, lower: Decimal | None = None, upper: Decimal | None = None
    ) -> None:
        """Record a quote of `symbol` (price KRW at `ts`, with the day's limits when known)."""
        known = self.market.get(symbol)
        self.market[symbol] = MarketSnapshot(
            price,
            ts,
            lower if lower is not None else (known.lower_limit if known else None),
            upper if upper is not None else (known.upper_limit if known else None),
        )

    def note_order(self, ts: datetime) -> None:
        """Count an order created (or observed) at `ts` for the rate throttle."""
        self.recent_orders.append(ts)

    def note_failed_order(self, symbol: str, ts: datetime) -> None:
        """Count a failed order on `symbol` (rejected, not placed, or lost to a broker error)."""
        known = self.failures.get(symbol)
        self.failures[symbol] = SymbolFailures((known.count if known else 0) + 1, ts)

    def note_accepted_order(self, symbol: str) -> None:
        """An order on `symbol` was accepted: its failures and the broker failures start again from zero."""
        self.failures.pop(symbol, None)
        self.broker_failures = 0

    def state(
        self,
        *,
        now: datetime,
        positions: Mapping[str, Position],
        open_orders: Iterable[Order],
        realized_pnl_today_krw: Decimal,
        start_of_day_equity_krw: Decimal,
        stopped: bool,
    ) -> RiskState:
        """Return the `RiskState` at `now` for these positions and open orders."""
        while self.recent_orders and self.recent_orders[0] <= now - _RATE_WINDOW:
            self.recent_orders.popleft()
        working: dict[str, Decimal] = {}
        working_value: dict[str, Decimal] = {}
        for order in open_orders:
            if order.side is Side.BUY:
                remaining = order.remaining_quantity
                price = order.limit_price or order.signal_price or Decimal(0)
                working[order.symbol] = working.get(order.symbol, Decimal(0)) + remaining
                working_value[order.symbol] = working_value.get(order.symbol, Decimal(0)) + remaining * price
        unrealized = Decimal(0)
        for symbol, position in positions.items():
            snapshot = self.market.get(symbol)
            if snapshot is not None and not position.is_flat:
                unrealized += position.unrealized_pnl_krw(snapshot.last_price)
        return RiskState(
            positions=positions,
            working_buy_quantity=working,
            realized_pnl_today_krw=realized_pnl_today_krw,
            start_of_day_equity_krw=start_of_day_equity_krw,
            stopped=stopped,
            now=now,
            phase=self.phase_at(now),
            order_types_now=self._order_types_at(now),
            market=dict(self.market),
            working_buy_value_krw=working_value,
            recent_orders=tuple(self.recent_orders),
            failures=dict(self.failures),
            unrealized_pnl_krw=unrealized,
        )

    def _order_types_at(self, now: datetime) -> frozenset[OrderType]:
        window = None if self.session is None else self.session.window_at(now)
        return window.order_types if window is not None else frozenset()
