"""Read-only views of parameter drafts and of the history of strategy and risk changes (PRD §9, §15).

`draft_detail`: one draft with the parameters in force now to compare it with. `change_history`: who changed
what, when and why, oldest first: approved and rejected drafts, drafts the daemon applied, and risk-limit
changes (``stockbot risk set``). An application is timed by the market clock of the session that applied it
(a replay's, in sim) and listed after its approval.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import differences
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.params import load_params
from stock_manager.service_layer.ports.ai_storage import ParamDraft
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class DraftDetail:
    """A draft and what it would change.

    Attributes
    ----------
    active : Mapping[str, Any]
        The parameters in force on `on` (the next session), from `active_source`.
    changes : list[tuple[str, Any, Any]]
        (name, in force, proposed) of every parameter the draft changes.
    """

    draft: ParamDraft
    on: date
    active: Mapping[str, Any]
    active_source: str
    changes: list[tuple[str, Any, Any]]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change: when, what kind (``params approved``, ``params rejected``, ``params applied``, ``risk
    limit``), of what, how, by whom and why."""

    ts: datetime
    kind: str
    subject: str
    change: str
    who: str
    why: str


async def draft_detail(
    uow_factory: UnitOfWorkFactory,
    draft_id: int,
    specs: Mapping[str, StrategySpec],
    on: date,
    params_file: Path | None = None,
) -> DraftDetail:
    """Return draft `draft_id` with the parameters in force on `on`.

    Raises
    ------
    ConfigurationError
        For an unknown draft, or one of a strategy the account does not run.
    """
    async with uow_factory() as uow:
        draft = await uow.ai.get_draft(draft_id)
        if draft is None:
            raise ConfigurationError(f"no parameter draft {draft_id} (see `stockbot params drafts`)")
        spec = specs.get(draft.strategy_id)
        if spec is None:
            raise ConfigurationError(
                f"draft {draft_id} is for strategy {draft.strategy_id}, which this account does not run"
            )
        loaded = await load_params(uow, on, params_file, spec)
    active = loaded.params.to_mapping()
    return DraftDetail(draft, on, active, loaded.source, differences(spec, active, draft.proposed_params))


async def change_history(uow_factory: UnitOfWorkFactory, specs: Mapping[str, StrategySpec]) -> list[HistoryEntry]:
    """Return every decided or applied draft and every risk-limit change, oldest first."""
    async with uow_factory() as uow:
        drafts = await uow.ai.list_drafts()
        limits = await uow.risk.limit_changes()
    entries = [
        (
            c.ts_changed,
            HistoryEntry(
                c.ts_changed,
                "risk limit",
                c.name,
                f"{c.old_value or 'off'} → {c.new_value or 'off'}",
                c.changed_by,
                c.reason,
            ),
        )
        for c in limits
    ]
    for d in reversed(drafts):  # oldest first: decisions at the same instant keep their order
        spec = specs.get(d.strategy_id)
        moved = (
            differences(spec, d.base_params, d.proposed_params)
            if spec is not None
            else [(k, d.base_params.get(k), v) for k, v in d.proposed_params.items() if d.base_params.get(k) != v]
        )
        said = ", ".join(f"{k} {a} → {b}" for k, a, b in moved) or "no change"
        if d.ts_decided is not None and d.status in ("APPROVED", "APPLIED"):
            entries.append(
                (
                    d.ts_decided,
                    HistoryEntry(
                        d.ts_decided,
                        "params approved",
                        d.strategy_id,
                        f"draft {d.id}: {said}, from {d.effective_from}",
                        d.decided_by,
                        d.decision_reason,
                    ),
                )
            )
        elif d.ts_decided is not None and d.status == "REJECTED":
            entries.append(
                (
                    d.ts_decided,
                    HistoryEntry(
                        d.ts_decided,
                        "params rejected",
                        d.strategy_id,
                        f"draft {d.id}: {said}",
                        d.decided_by,
                        d.decision_reason,
                    ),
                )
            )
        if d.ts_applied is not None:
            # A replay applies on its own clock, which may be years before the approval: listed after it.
            after = max(d.ts_applied, d.ts_decided) if d.ts_decided is not None else d.ts_applied
            entries.append(
                (
                    after,
                    HistoryEntry(
                        d.ts_applied,
                        "params applied",
                        d.strategy_id,
                        f"draft {d.id} in force from session {d.applied_on}",
                        "daemon",
                        f"approved by {d.decided_by}",
                    ),
                )
            )
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


@dataclass(frozen=True, slots=True)
class StrategyInForce:
    """A strategy's parameters in force on one day, and where they come from.

    Attributes
    ----------
    source : str
        ``strategy_params`` (an ACTIVE row), ``file <path>`` or ``built-in defaults``; "" when `problem` is set.
    fallback : bool
        True when no ACTIVE row is in force (the daemon says so at its open).
    problem : str
        Why the parameters in force cannot be read (an invalid row or file); empty when they can.
    """

    strategy_id: str
    name: str
    on: date
    params: Mapping[str, Any]
    source: str
    fallback: bool
    problem: str = ""


async def params_in_force(
    uow_factory: UnitOfWorkFactory, wanted: Sequence[tuple[StrategySpec, date]], params_file: Path | None = None
) -> list[StrategyInForce]:
    """Return the parameters each strategy of `wanted` runs with on its day (the ACTIVE row, else `params_file`,
    else its defaults, as the daemon reads them at the open), in the order asked. Nothing is written."""
    found = []
    async with uow_factory() as uow:
        for spec, on in wanted:
            try:
                loaded = await load_params(uow, on, params_file, spec)
            except ConfigurationError as e:
                found.append(StrategyInForce(spec.strategy_id, spec.name, on, {}, "", True, str(e)))
                continue
            found.append(
                StrategyInForce(
                    spec.strategy_id, spec.name, on, loaded.params.to_mapping(), loaded.source, loaded.fallback
                )
            )
    return found
