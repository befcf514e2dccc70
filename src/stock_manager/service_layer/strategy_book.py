"""The strategies one account runs, with the parameters in force today (spec 001 §4.1 step 4).

Each strategy (a `StrategySpec`) reads its own ACTIVE ``strategy_params`` row, else a stated fallback (the
parameter file, else its defaults; or stop mode with ``PARAMS_FALLBACK=stop``), at every open; a fallback that
changes is announced once. The first open that uses a row an approved parameter draft wrote marks that draft
APPLIED (``params_applied`` event). Several strategies may run on one account and one symbol: each order
carries its strategy, and each strategy sees only its own position (see `Execution.strategy_position`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from stock_manager.domain.clock import Clock
from stock_manager.domain.strategies.base import Strategy, StrategyParams, StrategySpec
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.params import load_params
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWork


@dataclass(slots=True)
class StrategyBook:
    """The account's strategies and their parameters of the day.

    Attributes
    ----------
    specs : tuple[StrategySpec, ...]
        The strategies, in the order they are asked for signals.
    params_file : Path | None
        The fallback parameter file (its entry per strategy id where several run).
    stop_without_params : bool
        Stop mode for the session when a strategy has no ACTIVE row (``PARAMS_FALLBACK=stop``).
    """

    specs: tuple[StrategySpec, ...]
    params_file: Path | None = None
    stop_without_params: bool = False
    params: dict[str, StrategyParams] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    _bound: dict[str, Strategy] = field(default_factory=dict)
    _all: tuple[Strategy, ...] = ()

    @property
    def single(self) -> bool:
        """Return True when the account runs one strategy (it sees the account's whole position)."""
        return len(self.specs) == 1

    @property
    def enters_intraday(self) -> bool:
        """Return True when any strategy may enter on a print while flat (else flat symbols skip the strategies)."""
        return any(strategy.enters_intraday for strategy in self.strategies())

    def strategies(self) -> tuple[Strategy, ...]:
        """Return every strategy bound to its parameters of the day (the defaults before the first open)."""
        if not self._all:
            for spec in self.specs:
                if spec.strategy_id not in self._bound:
                    self._bound[spec.strategy_id] = spec.build(
                        self.params.get(spec.strategy_id) or spec.default_params()
                    )
            self._all = tuple(self._bound[spec.strategy_id] for spec in self.specs)
        return self._all

    async def load(
        self, uow: UnitOfWork, day: date, *, clock: Clock, notifier: Notifier, account_id: str
    ) -> str | None:
        """Read every strategy's parameters for `day` (in `uow`; the caller commits); return why the session
        must not trade (invalid parameters, or none with ``PARAMS_FALLBACK=stop``), or None."""
        for spec in self.specs:
            await uow.strategies.ensure_strategy(spec.strategy_id, spec.name, spec.source, clock.now())
            try:
                loaded = await load_params(uow, day, self.params_file, spec)
            except Exception as e:
                return f"strategy parameters are invalid: {e}"
            if loaded.fallback and self.stop_without_params:
                return "no ACTIVE strategy_params for today and PARAMS_FALLBACK=stop"
            if not loaded.fallback and (applied := await uow.ai.mark_applied(spec.strategy_id, day, clock.now())):
                await record_event(
                    uow,
                    notifier,
                    ts=clock.now(),
                    kind="params_applied",
                    severity="INFO",
                    account_id=account_id,
                    payload={"draft_ids": applied, **loaded.params.to_mapping()},
                    message=f"approved parameter draft {', '.join(map(str, applied))} of "
                    f"{spec.strategy_id} in force from session {day}",
                )
            changed = loaded.source != self.sources.get(spec.strategy_id) or loaded.params != self.params.get(
                spec.strategy_id
            )
            self.params[spec.strategy_id], self.sources[spec.strategy_id] = loaded.params, loaded.source
            self._bound[spec.strategy_id] = spec.build(loaded.params)
            self._all = ()
            if loaded.fallback and changed:
                where = "" if self.single else f" of {spec.strategy_id}"
                await record_event(
                    uow,
                    notifier,
                    ts=clock.now(),
                    kind="params_fallback",
                    severity="WARNING",
                    account_id=account_id,
                    message=f"no ACTIVE strategy_params{where} for {day}; using {loaded.source}",
                    payload=loaded.params.to_mapping(),
                )
        return None

    def payload(self) -> dict[str, Any]:
        """Return the parameters in force as JSON-safe data (the single strategy's, or one entry per strategy)."""
        if self.single:
            only = self.params.get(self.specs[0].strategy_id)
            return only.to_mapping() if only is not None else {}
        return {sid: p.to_mapping() for sid, p in self.params.items()}


def strategy_ids(specs: Sequence[StrategySpec]) -> list[str]:
    """Return the ids of `specs`, in order."""
    return [spec.strategy_id for spec in specs]
