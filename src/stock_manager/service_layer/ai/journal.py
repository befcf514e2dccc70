"""The journal job (매매일지): after a session's close, or ``stockbot ai journal --date D``.

facts (`facts.gather_facts`) → the keyless text (`JournalWriter`) → the model's narrative when one is
configured and the night's budget allows → stored (``trade_journals``, masked) → announced as a
``trade_journal`` event (Slack's trades channel). The run is recorded in ``ai_job_runs``. A model that times
out, is rate limited or answers nonsense costs only the narrative: the journal of facts is always written.
"""

import asyncio
from dataclasses import dataclass, replace
from datetime import date

import structlog

from stock_manager.domain.errors import ConfigurationError
from stock_manager.service_layer.ai.context import AiContext
from stock_manager.service_layer.ai.facts import gather_facts
from stock_manager.service_layer.ai.prompts import JournalNarrative, journal_request, parse_answer
from stock_manager.service_layer.ai.runs import RunRecorder, mask_all, one_line
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.ports.ai_storage import ANNOUNCED, FAILED, OK, PARTIAL, WRITTEN, JobRun, TradeJournal

log = structlog.get_logger("stockbot.ai")

#: Heads the model's part of a journal, so nobody mistakes it for a fact or an instruction.
NARRATIVE_HEADING = {
    "ko": "AI 해설 (참고용; AI는 주문할 수 없습니다)",
    "en": "AI narrative (for reading only; the AI cannot place orders)",
}


@dataclass(frozen=True, slots=True)
class JournalOutcome:
    """What a journal run produced: the journal (None when the run failed) and the run's record."""

    journal: TradeJournal | None
    run: JobRun


class JournalJob:
    """Writes, stores and announces one account's journal of one session (module docstring)."""

    def __init__(self, ctx: AiContext) -> None:
        self._ctx = ctx
        self._narrative_problem = ""

    async def run(
        self, day: date | None = None, account_id: str | None = None, *, triggered_by: str = "cli"
    ) -> JournalOutcome:
        """Write the journal of `account_id`'s session `day` (default: the account that traded last, its last
        settled session).

        Raises
        ------
        ConfigurationError
            When there is no such session to journal (nothing is recorded then).
        """
        account_id, day = await self._subject(account_id, day)
        recorder = RunRecorder(self._ctx, "journal", triggered_by, day, account_id)
        await recorder.start()
        try:
            journal = await asyncio.wait_for(self._write(recorder, account_id, day), self._ctx.config.job_timeout_secs)
        except Exception as e:  # recorded, never raised into the daemon
            error = (
                f"the job took longer than {self._ctx.config.job_timeout_secs:g} s"
                if isinstance(e, TimeoutError)
                else one_line(e, self._ctx.mask)
            )
            log.error("ai_journal_failed", day=str(day), error=error)
            return JournalOutcome(None, await recorder.finish(FAILED, error=error))
        outcome = recorder.outcome()
        if outcome == OK and self._narrative_problem:
            outcome = PARTIAL  # the model answered, but not with a usable narrative
        run = await recorder.finish(
            outcome,
            error=self._narrative_problem,
            details={"journal_id": journal.id, "version": journal.version, "status": journal.status},
        )
        return JournalOutcome(journal, run)

    async def _subject(self, account_id: str | None, day: date | None) -> tuple[str, date]:
        async with self._ctx.uow_factory() as uow:
            if account_id is None:
                state = await uow.control.get_daemon_state(None)
                account_id = state.account_id if state is not None else None
            if account_id is None:
                raise ConfigurationError("no daemon has traded in this database: there is no session to journal")
            settled = [s.trading_date for s in await uow.settlements.list_all(account_id, with_summary=False)]
        if day is None:
            if not settled:
                raise ConfigurationError(f"account {self._ctx.mask(account_id)} has no settled session to journal")
            day = settled[-1]
        elif day not in settled:
            span = f"{settled[0]} → {settled[-1]}" if settled else "none"
            raise ConfigurationError(
                f"account {self._ctx.mask(account_id)} has no settled session on {day} (settled: {span})"
            )
        return account_id, day

    async def _write(self, recorder: RunRecorder, account_id: str, day: date) -> TradeJournal:
        ctx = self._ctx
        self._narrative_problem = ""
        facts = mask_all(await gather_facts(ctx, account_id, day), ctx.mask)  # as the model and people see them
        language = ctx.config.language
        text = ctx.writer.write(facts, language)
        narrative, model_used = "", "facts"
        answer = await recorder.ask(journal_request(facts, language, ctx.config.max_output_tokens))
        if answer is not None:
            parsed = parse_answer(answer.text, JournalNarrative)
            if parsed.value is None:
                self._narrative_problem = ctx.mask(parsed.problem)
            else:
                lines = [parsed.value.summary, *(f"• {o}" for o in parsed.value.observations)]
                narrative = ctx.mask("\n".join(lines))
                model_used = f"{ctx.provider}:{answer.model or recorder.run.model}"
        full = f"{text}\n\n{NARRATIVE_HEADING[language]}\n{narrative}" if narrative else text
        journal = TradeJournal(
            trading_date=day,
            account_id=account_id,
            venue=str(facts.get("venue") or ctx.venue),
            strategies=tuple(ctx.specs),
            language=language,
            facts=facts,
            text=ctx.mask(full),
            narrative=narrative,
            model=model_used,
            status=WRITTEN,
            job_run_id=recorder.run.id,
            ts_created=ctx.wall_clock.now(),
        )
        async with ctx.uow_factory() as uow:
            journal = await uow.ai.add_journal(journal)
            await record_event(
                uow,
                ctx.notifier,
                ts=ctx.wall_clock.now(),
                kind="trade_journal",
                severity="INFO",
                message=journal.text,
                account_id=account_id,
                payload={
                    "trading_date": day,
                    "journal_id": journal.id,
                    "version": journal.version,
                    "model": journal.model,
                },
            )
            await uow.commit()  # the notifier has the journal once this returns (after_commit)
            await uow.ai.set_journal_status(journal.id or 0, ANNOUNCED)
            await uow.commit()
        return replace(journal, status=ANNOUNCED)
