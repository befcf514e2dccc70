"""The backtest's records: what to run (`BacktestConfig`, `FillModel`) and what it produced (`BtOrder`,
`Denial`, `BacktestResult`). Money in KRW as `Decimal`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.costs import CostModel
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.positions import Position
from stock_manager.domain.risk import RiskLimits
from stock_manager.domain.strategies.ma_cross import MaCrossParams


class FillModel(StrEnum):
    """How a day's prices are replayed (module docstring)."""

    PATH = "path"
    CLOSE = "close"
    NEXT_OPEN = "next-open"


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """What to backtest.

    Attributes
    ----------
    start, end : date
        The period, inclusive (history before `start` feeds the indicators).
    params : MaCrossParams
        The strategy's parameters; `params_by_day` overrides them per session (the ACTIVE ones of a day).
    limits : RiskLimits
        The pre-trade risk limits (the daemon's defaults unless given).
    start_cash_krw, participation_rate : Decimal
        The simulated account's deposit and the largest share of a print's volume it can trade.
    sessions_per_year : int
        Annualises the Sharpe ratio (KRX: 252; a market that trades every day: 365).
    """

    start: date
    end: date
    params: MaCrossParams = field(default_factory=MaCrossParams)
    limits: RiskLimits = field(default_factory=RiskLimits)
    start_cash_krw: Decimal = Decimal(10_000_000)
    participation_rate: Decimal = Decimal("0.25")
    cost_model: CostModel = field(default_factory=krx_cost_model)
    fill_model: FillModel = FillModel.PATH
    params_by_day: Callable[[date], MaCrossParams] | None = None
    sessions_per_year: int = 252


@dataclass(slots=True)
class BtOrder:
    """An order of the backtest, shaped as `RiskBook.state` reads orders (KRW prices)."""

    key: str
    strategy_id: str
    symbol: str
    side: Side
    intent: Intent
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    signal_price: Decimal
    reason: str
    trading_date: date
    ts_created: datetime
    status: str = "NEW"
    broker_order_number: str | None = None
    filled_quantity: Decimal = Decimal(0)
    filled_amount_krw: Decimal = Decimal(0)
    note: str = ""

    @property
    def remaining_quantity(self) -> Decimal:
        """Return the quantity still working."""
        return self.quantity - self.filled_quantity

    @property
    def avg_fill_price(self) -> Decimal | None:
        """Return the average fill price, KRW, or None before a fill."""
        return self.filled_amount_krw / self.filled_quantity if self.filled_quantity else None


@dataclass(frozen=True, slots=True)
class Denial:
    """A proposal the risk gate refused (the daemon's ``risk_denied`` event)."""

    ts: datetime
    trading_date: date
    symbol: str
    side: Side
    intent: Intent
    quantity: Decimal
    rule: str
    message: str


@dataclass(slots=True)
class BacktestResult:
    """Everything a backtest produced, in memory."""

    config: BacktestConfig
    symbols: list[str]
    days: list[date]
    orders: list[BtOrder]
    fills: list[Fill]
    denials: list[Denial]
    equity_fn: Callable[[], list[tuple[date, Decimal]]]
    cash_krw: Decimal
    positions: dict[str, Position]
    kill_reason: str | None
    played_days: int
    bars: int
    _equity: list[tuple[date, Decimal]] | None = None

    @property
    def equity(self) -> list[tuple[date, Decimal]]:
        """Return each session's end equity (cash plus holdings at their last close), KRW; built when asked."""
        if self._equity is None:
            self._equity = self.equity_fn()
        return self._equity

    @property
    def end_equity_krw(self) -> Decimal:
        """Return the equity at the last session's close, KRW."""
        if not self.days:
            return self.cash_krw
        equity = self.cash_krw
        for s, p in self.positions.items():
            if p.quantity:
                bars = self.data_last_close(s, self.days[-1])
                equity += p.quantity * bars
        return equity

    data_last_close: Callable[[str, date], Decimal] = lambda symbol, day: Decimal(0)
