"""A person's decision on a parameter draft (PRD §9, §15: every strategy change approved, with its history).

Approve: only a VALIDATED draft, only from a day after the data it saw and not before `earliest` (the next
session the daemon has not opened yet), and only if the strategy's own validation still accepts it; the
complete parameters become an ACTIVE ``strategy_params`` row effective from that day (the daemon reads it at
that session's open and marks the draft APPLIED), with an event. Reject: a VALIDATED or INVALID draft; nothing
else changes. Both record who, when and why. Nothing calls these but a person's command: the CLI (``stockbot
params approve`` and ``reject``, which ask for confirmation) and the dashboard's Approve and Reject (behind a
confirmation page with a reason; who is ``dashboard <remote address>``).
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import DraftStatus, complete, require_transition
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.ports.ai_storage import ParamDraft
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWork, UnitOfWorkFactory


async def _load(uow: UnitOfWork, draft_id: int) -> ParamDraft:
    draft = await uow.ai.get_draft(draft_id)
    if draft is None:
        raise ConfigurationError(f"no parameter draft {draft_id} (see `stockbot params drafts`)")
    return draft


async def approve_draft(
    uow_factory: UnitOfWorkFactory,
    notifier: Notifier,
    draft_id: int,
    *,
    specs: Mapping[str, StrategySpec],
    effective_from: date,
    earliest: date,
    by: str,
    reason: str,
    ts: datetime,
) -> ParamDraft:
    """Approve draft `draft_id` from `effective_from`: write its ACTIVE ``strategy_params`` row; return it.

    Raises
    ------
    ConfigurationError
        For an unknown draft or strategy, a draft that is not VALIDATED, a date not after the draft's data or
        before `earliest`, parameters the strategy no longer accepts, or an empty reason.
    """
    if not reason.strip():
        raise ConfigurationError("--reason is required: say why the parameters change")
    async with uow_factory() as uow:
        draft = await _load(uow, draft_id)
        try:
            require_transition(DraftStatus(draft.status), DraftStatus.APPROVED)
        except Exception as e:
            raise ConfigurationError(
                f"draft {draft_id} cannot be approved: {e}"
                + ("; its gate failed (see `stockbot params show`)" if draft.status == DraftStatus.INVALID else "")
            ) from None
        if effective_from <= draft.data_until:
            raise ConfigurationError(
                f"draft {draft_id} saw data up to {draft.data_until}: --from must be later, was {effective_from}"
            )
        if effective_from < earliest:
            raise ConfigurationError(
                f"--from {effective_from} is before the next session the daemon has not opened "
                f"({earliest}); an approval never changes a session already traded"
            )
        spec = specs.get(draft.strategy_id)
        if spec is None:
            raise ConfigurationError(
                f"draft {draft_id} is for strategy {draft.strategy_id}, which this account does not run"
            )
        if problems := spec.problems(draft.proposed_params):
            raise ConfigurationError(f"draft {draft_id} is no longer valid: {'; '.join(problems)}")
        params = spec.params_from(draft.proposed_params).to_mapping()
        await uow.strategies.ensure_strategy(spec.strategy_id, spec.name, spec.source, ts)
        version = await uow.strategies.add_params(
            spec.strategy_id, effective_from, params, "ACTIVE", f"draft {draft_id} approved by {by}"[:200], ts
        )
        params_id = await uow.ai.params_row_id(spec.strategy_id, effective_from, version)
        decided = replace(
            draft,
            status=str(DraftStatus.APPROVED),
            decided_by=by[:64],
            ts_decided=ts,
            decision_reason=reason,
            effective_from=effective_from,
            params_id=params_id,
        )
        await uow.ai.update_draft(decided)
        before, after = complete(spec, draft.base_params), complete(spec, params)
        changed = ", ".join(f"{k} {before.get(k)} → {v}" for k, v in after.items() if before.get(k) != v)
        await record_event(
            uow,
            notifier,
            ts=ts,
            kind="params_approved",
            severity="WARNING",
            message=f"parameter draft {draft_id} of {spec.strategy_id} approved by {by} from "
            f"{effective_from}: {changed or 'no change'} ({reason})",
            payload={
                "draft_id": draft_id,
                "strategy_id": spec.strategy_id,
                "params": params,
                "effective_from": effective_from,
                "by": by,
                "reason": reason,
            },
        )
        await uow.commit()
    return decided


async def reject_draft(
    uow_factory: UnitOfWorkFactory, notifier: Notifier, draft_id: int, *, by: str, reason: str, ts: datetime
) -> ParamDraft:
    """Reject draft `draft_id` (nothing else changes); return it.

    Raises
    ------
    ConfigurationError
        For an unknown draft, one already decided, or an empty reason.
    """
    if not reason.strip():
        raise ConfigurationError("--reason is required: say why the draft is rejected")
    async with uow_factory() as uow:
        draft = await _load(uow, draft_id)
        try:
            require_transition(DraftStatus(draft.status), DraftStatus.REJECTED)
        except Exception as e:
            raise ConfigurationError(f"draft {draft_id} cannot be rejected: {e}") from None
        decided = replace(
            draft, status=str(DraftStatus.REJECTED), decided_by=by[:64], ts_decided=ts, decision_reason=reason
        )
        await uow.ai.update_draft(decided)
        await record_event(
            uow,
            notifier,
            ts=ts,
            kind="params_rejected",
            severity="INFO",
            message=f"parameter draft {draft_id} of {draft.strategy_id} rejected by {by} ({reason})",
            payload={"draft_id": draft_id, "strategy_id": draft.strategy_id, "by": by, "reason": reason},
        )
        await uow.commit()
    return decided
