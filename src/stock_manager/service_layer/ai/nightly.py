"""The daemon's after-close hook: the journal after every close, proposals after every N-th (``AI_*`` settings).

Called by the daemon once a session is settled and before the next one opens. Anything that goes wrong is
recorded by the job (its ``ai_job_runs`` row) and logged here; nothing is raised back into the daemon.
"""

from datetime import date

import structlog

from stock_manager.service_layer.ai.journal import JournalJob
from stock_manager.service_layer.ai.proposals import ProposalJob
from stock_manager.service_layer.ports.storage import DailySettlement

log = structlog.get_logger("stockbot.ai")


class NightlyJobs:
    """**The daemon's `AfterClose`:** runs the enabled jobs for a settled session; never raises.

    Parameters
    ----------
    journal : JournalJob | None
        Writes the session's journal (``AI_JOURNAL_AFTER_CLOSE``); None: off.
    proposals : ProposalJob | None
        Drafts parameters on data up to the session (``AI_PROPOSE_NIGHTLY``); None: off.
    every_sessions : int
        Proposals after every this many closes of the run (``AI_PROPOSE_EVERY_SESSIONS``; 1: nightly).
    """

    def __init__(self, journal: JournalJob | None, proposals: ProposalJob | None, every_sessions: int = 1) -> None:
        self.journal = journal
        self.proposals = proposals
        self.every_sessions = max(1, every_sessions)
        self.closed = 0
        self.journals: list[date] = []
        self.draft_ids: list[int] = []

    async def __call__(self, account_id: str, settlement: DailySettlement) -> None:
        """Run the enabled jobs for `settlement`'s session."""
        self.closed += 1
        day = settlement.trading_date
        if self.journal is not None:
            try:
                outcome = await self.journal.run(day, account_id, triggered_by="daemon")
                if outcome.journal is not None:
                    self.journals.append(day)
            except Exception as e:  # the daemon goes on whatever happens here
                log.error("ai_journal_failed", day=str(day), error=f"{type(e).__name__}: {e}")
        if self.proposals is not None and self.closed % self.every_sessions == 0:
            try:
                proposed = await self.proposals.run(day, triggered_by="daemon")
                self.draft_ids.extend(proposed.draft_ids)
            except Exception as e:
                log.error("ai_propose_failed", day=str(day), error=f"{type(e).__name__}: {e}")
