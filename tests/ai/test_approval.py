"""A person's decision on a draft, on both databases: approval writes the ACTIVE row from a session not yet
opened and the daemon's next open applies it; rejection changes nothing; the history says who, when and why;
the jobs themselves run with no broker and no kill switch."""

import inspect
import re
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross import MA_CROSS, MaCrossParams
from stock_manager.service_layer.ai.approval import approve_draft, reject_draft
from stock_manager.service_layer.ai.context import AiContext
from stock_manager.service_layer.ai.journal import JournalJob
from stock_manager.service_layer.ai.proposals import ProposalJob
from stock_manager.service_layer.params import load_params
from stock_manager.service_layer.ports.notifications import NullNotifier
from stock_manager.service_layer.ports.storage import RiskLimitChange
from stock_manager.service_layer.risk_config import change_limit
from stock_manager.service_layer.strategy_book import StrategyBook
from stock_manager.service_layer.views.params import change_history, draft_detail
from tests.ai.support import ACCOUNT, CANDIDATE, DAY, FakeResearch, context, seed_session
from tests.fakes import RecordingNotifier

SPECS = {MA_CROSS.strategy_id: MA_CROSS}
NEXT = date(2023, 2, 20)
DECIDED = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


async def a_draft(uow_factory, research: FakeResearch | None = None) -> int:
    ctx, _ = context(uow_factory, research=research)
    (draft_id,) = (await ProposalJob(ctx).run(DAY)).draft_ids
    return draft_id


async def approve(uow_factory, draft_id: int, **changes):
    values = {
        "specs": SPECS,
        "effective_from": NEXT,
        "earliest": NEXT,
        "by": "owner",
        "reason": "better out of sample",
        "ts": DECIDED,
        **changes,
    }
    return await approve_draft(uow_factory, NullNotifier(), draft_id, **values)


async def test_approve_when_validated_then_active_from_the_date_and_only_from_it(uow_factory):
    draft_id = await a_draft(uow_factory)
    notifier = RecordingNotifier()

    decided = await approve_draft(
        uow_factory,
        notifier,
        draft_id,
        specs=SPECS,
        effective_from=NEXT,
        earliest=NEXT,
        by="owner",
        reason="better out of sample",
        ts=DECIDED,
    )

    assert (decided.status, decided.decided_by, decided.decision_reason, decided.effective_from) == (
        "APPROVED",
        "owner",
        "better out of sample",
        NEXT,
    )
    async with uow_factory() as uow:
        before = await load_params(uow, DAY, None)
        after = await load_params(uow, NEXT, None)
    assert before.source == "built-in defaults" and before.params == MaCrossParams()
    assert after.source == "strategy_params" and after.params == MaCrossParams.from_mapping(CANDIDATE)
    assert [e.kind for e in notifier.events] == ["params_approved"]
    assert "short_window_days 50 → 45, long_window_days 200 → 190" in notifier.events[0].message


async def test_approve_when_the_daemon_opens_that_session_then_the_draft_is_applied(uow_factory):
    draft_id = await approve_and_id(uow_factory)
    book, notifier = StrategyBook((MA_CROSS,)), RecordingNotifier()
    opened = datetime(2023, 2, 19, 23, 30, tzinfo=UTC)

    async with uow_factory() as uow:
        reason = await book.load(uow, NEXT, clock=FixedClock(opened), notifier=notifier, account_id=ACCOUNT)
        await uow.commit()

    assert reason is None and book.params[MA_CROSS.strategy_id] == MaCrossParams.from_mapping(CANDIDATE)
    async with uow_factory() as uow:
        draft = await uow.ai.get_draft(draft_id)
    assert (draft.status, draft.applied_on, draft.ts_applied) == ("APPLIED", NEXT, opened)
    assert [e.kind for e in notifier.events] == ["params_applied"]
    async with uow_factory() as uow:  # a second open with the same row marks nothing again
        await book.load(uow, date(2023, 2, 21), clock=FixedClock(opened), notifier=notifier, account_id=ACCOUNT)
        await uow.commit()
    assert [e.kind for e in notifier.events] == ["params_applied"]


async def approve_and_id(uow_factory) -> int:
    draft_id = await a_draft(uow_factory)
    await approve(uow_factory, draft_id)
    return draft_id


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"effective_from": DAY}, "saw data up to 2023-02-17: --from must be later"),
        (
            {"effective_from": date(2023, 2, 20), "earliest": date(2023, 2, 21)},
            "before the next session the daemon has not opened (2023-02-21)",
        ),
        ({"reason": "  "}, "--reason is required"),
    ],
)
async def test_approve_when_the_date_or_reason_is_wrong_then_refused_and_nothing_written(uow_factory, changes, words):
    draft_id = await a_draft(uow_factory)

    with pytest.raises(ConfigurationError, match=re.escape(words)):
        await approve(uow_factory, draft_id, **changes)

    async with uow_factory() as uow:
        assert (await uow.ai.get_draft(draft_id)).status == "VALIDATED"
        assert await uow.strategies.active_params(MA_CROSS.strategy_id, date(2030, 1, 1)) is None


async def test_approve_when_invalid_or_already_decided_then_refused(uow_factory):
    invalid = await a_draft(uow_factory, FakeResearch(candidate={"short_window_days": 10}))
    approved = await approve_and_id(uow_factory)

    with pytest.raises(ConfigurationError, match="a INVALID draft cannot become APPROVED; its gate failed"):
        await approve(uow_factory, invalid)
    with pytest.raises(ConfigurationError, match="a APPROVED draft cannot become APPROVED"):
        await approve(uow_factory, approved)
    with pytest.raises(ConfigurationError, match="no parameter draft 999"):
        await approve(uow_factory, 999)


async def test_reject_then_nothing_changes_but_the_draft(uow_factory):
    draft_id = await a_draft(uow_factory)

    decided = await reject_draft(uow_factory, NullNotifier(), draft_id, by="owner", reason="too few trades", ts=DECIDED)

    assert (decided.status, decided.decided_by, decided.decision_reason) == ("REJECTED", "owner", "too few trades")
    async with uow_factory() as uow:
        assert (await load_params(uow, NEXT, None)).source == "built-in defaults"
    with pytest.raises(ConfigurationError, match="a REJECTED draft cannot become APPROVED"):
        await approve(uow_factory, draft_id)


async def test_history_when_drafts_decided_and_a_risk_limit_changed_then_who_when_why(uow_factory):
    rejected = await a_draft(uow_factory)
    await reject_draft(uow_factory, NullNotifier(), rejected, by="owner", reason="too few trades", ts=DECIDED)
    approved = await approve_and_id(uow_factory)
    async with uow_factory() as uow:
        from stock_manager.domain.risk import RiskLimits

        await change_limit(
            uow,
            RiskLimits(),
            "max_open_positions",
            "3",
            changed_by="cli",
            reason="smaller book",
            ts=datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        )
        await uow.commit()

    entries = await change_history(uow_factory, SPECS)

    assert [(e.kind, e.who, e.why) for e in entries] == [
        ("params rejected", "owner", "too few trades"),
        ("params approved", "owner", "better out of sample"),
        ("risk limit", "cli", "smaller book"),
    ]
    assert entries[1].change.startswith(f"draft {approved}: short_window_days 50 → 45")
    assert entries[1].change.endswith("from 2023-02-20")
    assert entries[2].change == "5 → 3" and isinstance(entries[2].ts, datetime)


async def test_draft_detail_compares_with_the_parameters_in_force(uow_factory):
    draft_id = await a_draft(uow_factory)

    detail = await draft_detail(uow_factory, draft_id, SPECS, NEXT)

    assert detail.active_source == "built-in defaults"
    assert detail.changes == [
        ("short_window_days", Decimal(50), Decimal(45)),
        ("long_window_days", Decimal(200), Decimal(190)),
    ]


async def test_jobs_when_broker_and_kill_switch_are_absent_then_they_run(uow_factory):
    # Arrange: the jobs' context has no field for a broker, an execution or the kill switch; the switch is set.
    names = {f.name for f in fields(AiContext)}
    annotations = " ".join(str(f.type) for f in fields(AiContext))
    assert not names & {"broker", "execution", "kill_switch"}
    assert not any(word in annotations for word in ("Broker", "Execution", "KillSwitch"))
    for job in (JournalJob, ProposalJob):
        assert list(inspect.signature(job).parameters) == ["ctx"]
    await seed_session(uow_factory)
    async with uow_factory() as uow:
        await uow.control.set_kill_switch(True, "owner stopped trading", "cli", DECIDED, "halt")
        await uow.commit()
    ctx, _ = context(uow_factory)

    journal = await JournalJob(ctx).run()
    proposals = await ProposalJob(ctx).run(DAY)

    assert journal.run.outcome == proposals.run.outcome == "OK" and journal.journal is not None
    async with uow_factory() as uow:
        assert (await uow.control.get_kill_switch()).active  # untouched
        assert [o.status.value for o in await uow.orders.list_for_date(ACCOUNT, DAY)] == ["FILLED"]


def test_risk_limit_change_record_is_what_the_history_reads():
    assert {f.name for f in fields(RiskLimitChange)} >= {
        "name",
        "old_value",
        "new_value",
        "changed_by",
        "reason",
        "ts_changed",
    }
