"""The one state object execution's collaborators share, and the ports they talk to.

Memory mirrors the database: `positions` and `open_orders` are replaced only after a commit, and every write
happens under `lock`.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from stock_manager.domain.clock import Clock
from stock_manager.domain.modes import Mode, OrderMode
from stock_manager.domain.orders import Order
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import RiskLimits, RiskState
from stock_manager.service_layer.kill_switch import KillSwitch
from stock_manager.service_layer.ports.broker import Broker
from stock_manager.service_layer.ports.metrics import Metrics
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory
from stock_manager.service_layer.ports.venue import VenueProfile
from stock_manager.service_layer.risk_book import RiskBook


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Fixed facts of one daemon run."""

    account_id: str
    mode: Mode
    risk_limits: RiskLimits
    order_mode: OrderMode = OrderMode.SEND


@dataclass(frozen=True, slots=True)
class ExecutionPorts:
    """What execution talks to; `on_stop` is told once when stop mode is entered."""

    uow: UnitOfWorkFactory
    broker: Broker
    clock: Clock
    notifier: Notifier
    metrics: Metrics
    venue: VenueProfile
    kill_switch: KillSwitch
    on_stop: Callable[[str], Awaitable[None]] | None = None


@dataclass(slots=True)
class ExecutionState:
    """Execution's memory of the account and the session (see module docstring).

    Attributes
    ----------
    notice_refs : set[str]
        The adapters' references of fill notices applied this session.
    deficits_seen : dict[str, Decimal]
        Order number → the venue's executed quantity at the last unconfirmed look.
    rest_covered : dict[tuple[date, str], tuple[Decimal, datetime]]
        (order's day, order number) → (quantity recorded from the venue's totals that no notice has reported
        yet, market time they were read).
    cancels_taken : set[int]
        Orders whose cancel the venue accepted this session.
    strategy_positions : dict[tuple[str, str], Position] | None
        Where several strategies share the account: each (strategy, symbol)'s position, the fold of that
        strategy's own fills; None where one strategy runs (it sees the account's positions).
    """

    config: ExecutionConfig
    limits: RiskLimits
    book: RiskBook = field(default_factory=RiskBook)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    positions: dict[str, Position] = field(default_factory=dict)
    open_orders: dict[int, Order] = field(default_factory=dict)
    stopped_reason: str | None = None
    loss_limit_hit: bool = False
    trading_date: date | None = None
    start_of_day_equity_krw: Decimal = Decimal(0)
    net_realized_at_open: Decimal = Decimal(0)
    handled_keys: set[str] = field(default_factory=set)
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    notice_refs: set[str] = field(default_factory=set)
    deficits_seen: dict[str, Decimal] = field(default_factory=dict)
    rest_covered: dict[tuple[date, str], tuple[Decimal, datetime]] = field(default_factory=dict)
    cancels_taken: set[int] = field(default_factory=set)
    strategy_positions: dict[tuple[str, str], Position] | None = None

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def account_id(self) -> str:
        """Return the account traded."""
        return self.config.account_id

    def remember(self, order: Order) -> None:
        """Put `order` as committed into memory: kept while open, dropped once terminal."""
        assert order.id is not None
        if order.is_open:
            self.open_orders[order.id] = order
        else:
            self.open_orders.pop(order.id, None)

    def net_realized(self) -> Decimal:
        """Return realized PnL after costs of every position, KRW."""
        return sum((p.net_realized_pnl_krw for p in self.positions.values()), Decimal(0))

    @property
    def realized_pnl_today_krw(self) -> Decimal:
        """Return realized PnL after commission and tax since the session began, KRW."""
        return self.net_realized() - self.net_realized_at_open

    def risk_state(self, now: datetime, kill_switch: KillSwitch) -> RiskState:
        """Return the account and the market as the risk rules see them at `now`."""
        return self.book.state(
            now=now,
            positions=self.positions,
            open_orders=self.open_orders.values(),
            realized_pnl_today_krw=self.realized_pnl_today_krw,
            start_of_day_equity_krw=self.start_of_day_equity_krw,
            stopped=self.stopped_reason is not None or kill_switch.tripped,
        )
