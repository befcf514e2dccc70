"""Recording a job's run (``ai_job_runs``) and its model calls: masked prompt and answer, tokens, cost, attempts,
and the night's budget checked before every call.

A run is committed RUNNING when it starts, so a crash leaves a trace; `finish` writes how it ended. Model
failures never raise out of `ask`: they are kept (`model_error`, `budget_stop`) and the job decides its
outcome from them (`outcome`).
"""

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import structlog

from stock_manager.domain.errors import AiProviderError
from stock_manager.service_layer.ai.context import AiContext
from stock_manager.service_layer.ports.ai import ModelAnswer, ModelRequest
from stock_manager.service_layer.ports.ai_storage import BUDGET_EXCEEDED, OK, PARTIAL, JobRun

log = structlog.get_logger("stockbot.ai")


def mask_all(value: Any, mask: Callable[[str], str]) -> Any:
    """Return `value` with every string masked, recursively (mappings and sequences copied)."""
    match value:
        case str():
            return mask(value)
        case Mapping():
            return {k: mask_all(v, mask) for k, v in value.items()}
        case list() | tuple():
            return [mask_all(v, mask) for v in value]
        case _:
            return value


def one_line(error: BaseException, mask: Callable[[str], str]) -> str:
    """Return an error as one masked line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return mask(f"{type(error).__name__}: {text[0]}" if text else type(error).__name__)


class RunRecorder:
    """One job run: started at once (RUNNING), every model call counted, finished with its outcome.

    Attributes
    ----------
    model_error : str
        The last model failure (timeout, rate limit, refusal), masked; empty when none.
    budget_stop : str
        Why the budget refused a call (then no further call is made in this run); empty when none.
    """

    def __init__(
        self, ctx: AiContext, job: str, triggered_by: str, subject_date: date, account_id: str | None = None
    ) -> None:
        self._ctx = ctx
        now = ctx.wall_clock.now()
        self.run = JobRun(
            job=job,
            triggered_by=triggered_by,
            night=ctx.day_boundary.date_of(now),
            subject_date=subject_date,
            account_id=account_id,
            provider=ctx.provider,
            model=ctx.model.model if ctx.model is not None else "",
            ts_started=now,
        )
        self.model_error = ""
        self.budget_stop = ""
        self._prompts: list[str] = []
        self._responses: list[str] = []

    async def start(self) -> int:
        """Store the run as RUNNING (committed) and return its id."""
        async with self._ctx.uow_factory() as uow:
            run_id = await uow.ai.add_run(self.run)
            await uow.commit()
        self.run = replace(self.run, id=run_id)
        return run_id

    async def ask(self, request: ModelRequest) -> ModelAnswer | None:
        """Send `request`, secrets masked, to the model unless the night's budget forbids it; return the answer
        or None.

        None means: no model, the budget refused (`budget_stop`, and every later call is refused too), or the
        provider failed after its retries (`model_error`). Never raises for those.
        """
        ctx = self._ctx
        if ctx.model is None or self.budget_stop:
            return None
        async with ctx.uow_factory() as uow:
            used_tokens, used_krw = await uow.ai.night_usage(self.run.night)
        used_tokens += self.run.input_tokens + self.run.output_tokens  # this run's calls are not stored yet
        used_krw += self.run.cost_krw or Decimal(0)
        if refusal := ctx.config.budget.refusal(used_tokens, used_krw, request):
            self.budget_stop = f"budget of night {self.run.night}: {refusal}"
            log.warning("ai_budget_stop", job=self.run.job, reason=self.budget_stop)
            return None
        request = replace(request, system=ctx.mask(request.system), prompt=ctx.mask(request.prompt))  # as sent
        self._prompts.append(f"[system]\n{request.system}\n[user]\n{request.prompt}")
        try:
            answer = await ctx.model.complete(request)
        except AiProviderError as e:
            self.model_error = one_line(e, ctx.mask)
            self.run = replace(self.run, attempts=self.run.attempts + e.attempts)
            log.warning("ai_model_failed", job=self.run.job, error=self.model_error)
            return None
        self._responses.append(ctx.mask(answer.text))
        cost = ctx.config.budget.cost(answer.input_tokens, answer.output_tokens)
        self.run = replace(
            self.run,
            model=answer.model or self.run.model,
            attempts=self.run.attempts + answer.attempts,
            input_tokens=self.run.input_tokens + answer.input_tokens,
            output_tokens=self.run.output_tokens + answer.output_tokens,
            cost_krw=None if cost is None else (self.run.cost_krw or Decimal(0)) + cost,
        )
        return answer

    def outcome(self) -> str:
        """Return OK, PARTIAL (a model failure) or BUDGET_EXCEEDED, from what the calls met."""
        if self.budget_stop:
            return BUDGET_EXCEEDED
        return PARTIAL if self.model_error else OK

    async def finish(self, outcome: str, *, error: str = "", details: Mapping[str, Any] | None = None) -> JobRun:
        """Store how the run ended (texts masked) and return it."""
        ctx = self._ctx
        error = error or self.budget_stop or self.model_error
        self.run = replace(
            self.run,
            outcome=outcome,
            ts_ended=ctx.wall_clock.now(),
            error=ctx.mask(error),
            prompt="\n\n".join(self._prompts),
            response="\n\n".join(self._responses),
            details=mask_all(dict(details or {}), ctx.mask),
        )
        async with ctx.uow_factory() as uow:
            await uow.ai.update_run(self.run)
            await uow.commit()
        return self.run
