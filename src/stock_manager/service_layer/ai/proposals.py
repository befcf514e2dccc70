"""The proposal job: at night (or ``stockbot ai propose``), drafts of each strategy's parameters.

For each strategy the account runs, on data up to `data_until`:

1. the parameters in force on the next day (the ACTIVE row, else the stated fallback) are the baseline;
2. the research engine searches around them (walk-forward, within the gate's step limit) and returns the last
   window's in-sample best with its out-of-sample evidence; the gate judges it → a draft, origin
   ``optimizer``;
3. with a language model configured (and the night's budget allowing), the model is shown the baseline and
   the search and proposes parameters; they are backtested out of sample (`ParameterResearch.verify`) and
   judged by the same gate → a draft, origin ``model``. An answer that is not the asked JSON, or one out of
   bounds, becomes an INVALID draft with the reason.

Strategies the research engine cannot backtest get no optimizer draft and no model call (a proposal that
cannot be verified could never pass the gate); the run's details name them and why. Every draft is VALIDATED
or INVALID: none is ever approved here.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog

from stock_manager.domain.param_gate import GateVerdict, check_proposal, malformed
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.ai.context import AiContext
from stock_manager.service_layer.ai.prompts import ParamProposal, parse_answer, proposal_request
from stock_manager.service_layer.ai.runs import RunRecorder, mask_all, one_line
from stock_manager.service_layer.events import jsonable
from stock_manager.service_layer.params import load_params
from stock_manager.service_layer.ports.ai import Evidence, Finding, SearchPlan
from stock_manager.service_layer.ports.ai_storage import FAILED, JobRun, ParamDraft

log = structlog.get_logger("stockbot.ai")


@dataclass(slots=True)
class ProposalOutcome:
    """The drafts a run stored (ids), the strategies it skipped and why, and the run's record."""

    draft_ids: list[int] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    run: JobRun | None = None


class ProposalJob:
    """Searches, asks, judges and stores parameter drafts (module docstring)."""

    def __init__(self, ctx: AiContext) -> None:
        self._ctx = ctx

    def plan(self, data_until: date) -> SearchPlan:
        """Return the search plan of the settings for data up to `data_until`."""
        c = self._ctx.config
        return SearchPlan(
            data_until=data_until,
            trials=c.trials,
            in_sample_days=c.in_sample_days,
            out_of_sample_days=c.out_of_sample_days,
            windows=c.windows,
            objective=c.objective,
            seed=c.seed,
            max_change_pct=c.rules.max_change_pct,
            jobs=c.search_jobs,
        )

    async def run(self, data_until: date, *, triggered_by: str = "cli") -> ProposalOutcome:
        """Draft parameters for every strategy on data up to `data_until`; never raises for a failure of the
        search or the model (the run records it)."""
        recorder = RunRecorder(self._ctx, "propose", triggered_by, data_until)
        await recorder.start()
        outcome = ProposalOutcome()
        try:
            await asyncio.wait_for(
                self._all(recorder, data_until, triggered_by, outcome), self._ctx.config.job_timeout_secs
            )
        except Exception as e:  # recorded, never raised into the daemon
            error = (
                f"the job took longer than {self._ctx.config.job_timeout_secs:g} s"
                if isinstance(e, TimeoutError)
                else one_line(e, self._ctx.mask)
            )
            log.error("ai_propose_failed", data_until=str(data_until), error=error)
            outcome.run = await recorder.finish(FAILED, error=error, details=self._details(outcome))
            return outcome
        outcome.run = await recorder.finish(recorder.outcome(), details=self._details(outcome))
        return outcome

    @staticmethod
    def _details(outcome: ProposalOutcome) -> dict[str, Any]:
        return {"draft_ids": outcome.draft_ids, "skipped": outcome.skipped}

    async def _all(self, recorder: RunRecorder, data_until: date, triggered_by: str, outcome: ProposalOutcome) -> None:
        ctx = self._ctx
        plan = self.plan(data_until)
        for spec in ctx.specs.values():
            if why := ctx.research.unsupported(spec):
                outcome.skipped[spec.strategy_id] = why
                continue
            async with ctx.uow_factory() as uow:
                loaded = await load_params(uow, data_until + timedelta(days=1), ctx.params_file, spec)
            active, source = loaded.params.to_mapping(), loaded.source
            finding = await ctx.research.search(spec, active, plan)
            verdict = check_proposal(spec, active, finding.candidate, finding.evidence.out_of_sample, ctx.config.rules)
            outcome.draft_ids.append(
                await self._store(
                    spec,
                    "optimizer",
                    data_until,
                    active,
                    source,
                    dict(finding.candidate),
                    finding.rationale,
                    finding.evidence,
                    verdict,
                    recorder,
                    f"propose ({triggered_by}): walk-forward search",
                )
            )
            if ctx.model is not None:
                draft_id = await self._ask_model(spec, plan, active, source, finding, recorder, triggered_by)
                if draft_id is not None:
                    outcome.draft_ids.append(draft_id)

    async def _ask_model(
        self,
        spec: StrategySpec,
        plan: SearchPlan,
        active: dict[str, Any],
        source: str,
        finding: Finding,
        recorder: RunRecorder,
        triggered_by: str,
    ) -> int | None:
        ctx = self._ctx
        request = proposal_request(spec, active, source, finding, plan.max_change_pct, ctx.config.max_output_tokens)
        answer = await recorder.ask(request)
        if answer is None:  # the budget or the provider said no; the run records why
            return None
        by = f"propose ({triggered_by}): {ctx.provider}:{answer.model or recorder.run.model}"
        parsed = parse_answer(answer.text, ParamProposal)
        if parsed.value is None:
            raw = parsed.raw or {}
            given = raw.get("params")
            params: dict[str, Any] = given if isinstance(given, dict) else {}
            return await self._store(
                spec,
                "model",
                plan.data_until,
                active,
                source,
                params,
                str(raw.get("rationale") or ""),
                None,
                malformed(parsed.problem),
                recorder,
                by,
            )
        proposal = parsed.value
        evidence: Evidence | None = None
        reason = "no out-of-sample backtest was run"
        if not spec.problems(proposal.params):
            try:
                evidence = await ctx.research.verify(spec, proposal.params, active, plan)
            except Exception as e:  # the verdict says so; the draft stays INVALID
                reason = f"the backtest failed: {one_line(e, ctx.mask)}"
        verdict = check_proposal(
            spec,
            active,
            proposal.params,
            None if evidence is None else evidence.out_of_sample,
            ctx.config.rules,
            no_evidence_reason=reason,
        )
        return await self._store(
            spec,
            "model",
            plan.data_until,
            active,
            source,
            proposal.params,
            proposal.rationale,
            evidence,
            verdict,
            recorder,
            by,
        )

    async def _store(
        self,
        spec: StrategySpec,
        origin: str,
        data_until: date,
        active: dict[str, Any],
        source: str,
        proposed: dict[str, Any],
        rationale: str,
        evidence: Evidence | None,
        verdict: GateVerdict,
        recorder: RunRecorder,
        created_by: str,
    ) -> int:
        ctx = self._ctx
        now = ctx.wall_clock.now()
        figures: dict[str, Any] = {}
        if evidence is not None:
            oos = evidence.out_of_sample
            figures = {
                "objective": oos.objective,
                "higher_is_better": oos.higher_is_better,
                "out_of_sample": {
                    "proposed": oos.proposed,
                    "active": oos.active,
                    "proposed_max_drawdown_pct": oos.proposed_max_drawdown_pct,
                    "proposed_kill_switch": oos.proposed_kill_switch,
                },
                "walk_forward": {"proposed": oos.walk_forward_proposed, "active": oos.walk_forward_active},
                **dict(evidence.figures),
            }
        draft = ParamDraft(
            strategy_id=spec.strategy_id,
            origin=origin,
            job_run_id=recorder.run.id,
            data_until=data_until,
            base_params=active,
            base_source=source,
            proposed_params=mask_all(jsonable(proposed), ctx.mask),
            rationale=ctx.mask(rationale),
            evidence=jsonable(figures),
            validation=mask_all(verdict.to_mapping(), ctx.mask),
            status=str(verdict.status),
            created_by=created_by[:200],
            ts_created=now,
            ts_validated=now,
        )
        async with ctx.uow_factory() as uow:
            await uow.strategies.ensure_strategy(spec.strategy_id, spec.name, spec.source, now)
            draft_id = await uow.ai.add_draft(draft)
            await uow.commit()
        log.info("ai_draft", draft_id=draft_id, strategy=spec.strategy_id, origin=origin, status=str(verdict.status))
        return draft_id
