"""Positions from fills without folding the whole history at every open: a checkpoint plus the fills after it.

Positions are defined by the fills alone, folded in execution order (`domain.positions.positions_from_fills`).
Folding every fill of a long-running account at each start grows with the history (100,000 orders: seconds),
so each session's close stores the fold as a checkpoint (``position_checkpoints``) with the point it reached:
the largest fill row id folded and the execution-order key of the last fill. Fill row ids grow in the order
fills are recorded (transactions run one at a time, see `adapters.storage.engine`; fills are never deleted),
so the fills recorded since are those with a larger id. Folding them onto the checkpoint gives exactly the
fold of every fill when

* every one of them sorts after the last fill folded (a late fill executed earlier, e.g. one that recovery
  found a day later, would change the order of the fold), and
* every fill folded was executed before the session being opened (so the positions before that session can
  be told apart from today's).

Otherwise every fill is read and folded, as without a checkpoint.
"""

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from stock_manager.domain.fills import Fill
from stock_manager.domain.positions import Position, execution_order, positions_from_fills
from stock_manager.service_layer.ports.storage import PositionCheckpoint, UnitOfWork


@dataclass(frozen=True, slots=True)
class PositionHistory:
    """Every recorded fill of an account, as a checkpoint's positions plus the fills recorded after it.

    Attributes
    ----------
    base : dict[str, Position]
        Positions folded from the fills up to the checkpoint (empty without one).
    base_key : tuple[datetime, str] | None
        Execution-order key of the last fill folded into `base`; every fill of `later` sorts after it.
    base_trading_date : date | None
        The trading date of that fill.
    later : tuple[Fill, ...]
        Every other recorded fill (all of them without a checkpoint).
    through_fill_id : int
        The largest fill row id among all of them (0: none).

    Folds of `later` in execution order are kept, so asking for the positions before today and then for
    all of them (the open), or for all of them and then with the missed fills of a recovery added, folds
    each fill once.
    """

    account_id: str
    base: dict[str, Position] = field(default_factory=dict)
    base_key: tuple[datetime, str] | None = None
    later: tuple[Fill, ...] = ()
    through_fill_id: int = 0
    base_trading_date: date | None = None
    _ordered: list[Fill] = field(default_factory=list, init=False, repr=False, compare=False)
    _folds: dict[int, dict[str, Position]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def from_checkpoint(self) -> bool:
        """Return True when the history starts from a checkpoint (not every fill was read)."""
        return self.base_key is not None

    def sorts_after(self, fills: Sequence[Fill]) -> bool:
        """Return True when every fill in `fills` executed after the checkpoint's last fill, so that a fill
        with the same time and any identity (recovery re-identifies the broker's executions) sorts after
        everything folded into the checkpoint."""
        return self.base_key is None or all(f.ts_filled > self.base_key[0] for f in fills)

    def positions(self, extra: Sequence[Fill] = (), *, before: date | None = None) -> dict[str, Position]:
        """Return the positions of every recorded fill plus `extra`; only those of trading dates before
        `before` when it is given.

        Raises
        ------
        ValueError
            If a fill of `extra` sorts before the checkpoint's last fill, or `before` is not after every
            fill folded into the checkpoint: the result would differ from folding every fill.
        """
        if self.base_key is not None:
            if any(execution_order(f) <= self.base_key for f in extra):
                raise ValueError("a fill executed before the position checkpoint cannot be folded onto it")
            if before is not None and (self.base_trading_date is None or self.base_trading_date >= before):
                raise ValueError(f"the position checkpoint holds fills of {before} or later")
        ordered = self._in_execution_order()
        extra = list(extra)
        count = len(ordered)
        if before is not None:  # the fills before `before` are a prefix of `ordered`
            count = bisect_left(ordered, before, key=lambda f: f.trading_date)
            extra = [f for f in extra if f.trading_date < before]
        last = execution_order(ordered[count - 1]) if count else self.base_key
        if last is None or all(execution_order(f) > last for f in extra):
            return positions_from_fills(self.account_id, extra, start=self._folded(count))
        return positions_from_fills(self.account_id, [*ordered[:count], *extra], start=self.base)

    def _in_execution_order(self) -> list[Fill]:
        if len(self._ordered) != len(self.later):
            self._ordered[:] = sorted(self.later, key=execution_order)
        return self._ordered

    def _folded(self, count: int) -> dict[str, Position]:
        # The checkpoint's positions plus the first `count` later fills in execution order, from the longest
        # fold already made that is not longer.
        if count not in self._folds:
            start = max((n for n in self._folds if n <= count), default=0)
            self._folds[count] = positions_from_fills(
                self.account_id, self._in_execution_order()[start:count], start=self._folds.get(start, self.base)
            )
        return dict(self._folds[count])

    def checkpoint(self, trading_date: date, ts_created: datetime) -> PositionCheckpoint | None:
        """Return the checkpoint of every fill of this history (None when the account has no fill)."""
        last_fill = max(self.later, key=execution_order, default=None)
        if last_fill is not None:
            last, last_day = execution_order(last_fill), last_fill.trading_date
        elif self.base_key is not None and self.base_trading_date is not None:
            last, last_day = self.base_key, self.base_trading_date
        else:
            return None
        return PositionCheckpoint(
            self.account_id,
            self.positions(),
            trading_date,
            self.through_fill_id,
            last[0],
            last[1],
            ts_created,
            last_day,
        )


async def load_position_history(uow: UnitOfWork, account_id: str, today: date | None) -> PositionHistory:
    """Read the account's fills as a `PositionHistory`: from its checkpoint when that is provably exact for a
    session of trading date `today` (see the module's conditions), else every fill (also when `today` is
    None)."""
    checkpoint = await uow.positions.get_checkpoint(account_id)
    if checkpoint is not None and today is not None and checkpoint.last_trading_date < today:
        key = (checkpoint.last_ts_filled, checkpoint.last_broker_fill_id)
        later = await uow.fills.list_after(account_id, checkpoint.through_fill_id)
        if all(execution_order(s.fill) > key for s in later):
            return PositionHistory(
                account_id,
                dict(checkpoint.positions),
                key,
                tuple(s.fill for s in later),
                max((s.id or 0 for s in later), default=checkpoint.through_fill_id),
                checkpoint.last_trading_date,
            )
    stored = await uow.fills.list_for_account(account_id)
    return PositionHistory(
        account_id, {}, None, tuple(s.fill for s in stored), max((s.id or 0 for s in stored), default=0)
    )


async def strategy_positions(uow: UnitOfWork, account_id: str) -> dict[tuple[str, str], Position]:
    """Return each (strategy, symbol)'s position: the fold of the fills of that strategy's orders (external
    fills belong to no strategy). Folds every fill of the account: used where several strategies share it."""
    strategy_of = await uow.orders.strategy_of_orders(account_id)
    by_strategy: dict[str, list[Fill]] = {}
    for stored in await uow.fills.list_for_account(account_id):
        if stored.order_id is not None and stored.order_id in strategy_of:
            by_strategy.setdefault(strategy_of[stored.order_id], []).append(stored.fill)
    return {
        (strategy, symbol): position
        for strategy, fills in by_strategy.items()
        for symbol, position in positions_from_fills(account_id, fills).items()
    }
