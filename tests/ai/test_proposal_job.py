"""The proposal job against the fake OpenAI-compatible server (the ``openai`` SDK pointed at it) on a real
database: each answer ends with the right draft status and an ``ai_job_runs`` row; nothing is ever approved."""

import json

import pytest

from stock_manager.adapters.observability.masking import register_secret
from stock_manager.domain.strategies.ma_cross import MA_CROSS, MaCrossParams
from stock_manager.domain.strategies.volatility_breakout import VOLATILITY_BREAKOUT
from stock_manager.service_layer.ai.context import Budget
from stock_manager.service_layer.ai.proposals import ProposalJob
from tests.ai.support import DAY, FakeResearch, context, evidence, openai_model
from tests.fake_llm import FakeLlm, Reply, proposal

GOOD = {"short_window_days": 48, "long_window_days": 180, "stop_loss_pct": -5.5}
AI_KEY = "sk-live-abcdefghij0123456789"


@pytest.fixture
def llm():
    with FakeLlm() as server:
        yield server


async def drafts_of(uow_factory, outcome):
    async with uow_factory() as uow:
        return [await uow.ai.get_draft(i) for i in outcome.draft_ids]


async def test_propose_when_keyless_then_one_optimizer_draft_validated(uow_factory):
    research = FakeResearch()
    ctx, _ = context(uow_factory, research=research)

    outcome = await ProposalJob(ctx).run(DAY)

    (draft,) = await drafts_of(uow_factory, outcome)
    assert (draft.origin, draft.status, draft.data_until) == ("optimizer", "VALIDATED", DAY)
    assert draft.base_source == "built-in defaults" and draft.base_params == MaCrossParams().to_mapping()
    assert draft.evidence["out_of_sample"]["proposed"] == "0.61"
    assert [c["rule"] for c in draft.validation["checks"]] == [
        "shape",
        "bounds",
        "change",
        "step",
        "out_of_sample",
        "drawdown",
    ]
    assert outcome.run.outcome == "OK" and outcome.run.details["draft_ids"] == [draft.id]
    assert research.searches[0].data_until == DAY and research.searches[0].max_change_pct == 30


async def test_propose_when_the_model_answers_well_then_its_draft_is_backtested_and_validated(uow_factory, llm):
    llm.script(Reply(proposal(GOOD, "shorter windows follow 2022's faster trends"), input_tokens=900))
    research = FakeResearch()
    ctx, _ = context(uow_factory, model=openai_model(llm), research=research)

    outcome = await ProposalJob(ctx).run(DAY)

    optimizer, model = await drafts_of(uow_factory, outcome)
    assert (optimizer.status, model.origin, model.status) == ("VALIDATED", "model", "VALIDATED")
    assert model.proposed_params == GOOD and model.rationale == "shorter windows follow 2022's faster trends"
    assert model.created_by == "propose (cli): openai:fake-model-1"
    assert research.verifications == [GOOD]
    run = outcome.run
    assert (run.outcome, run.input_tokens, run.attempts) == ("OK", 900, 1)
    assert "walk_forward_search" in run.prompt and "ma_cross_50_200" in run.prompt


async def test_propose_when_the_answer_is_not_json_then_an_invalid_draft_saying_why(uow_factory, llm):
    llm.script(Reply("I would lower the short window to 45."))
    ctx, _ = context(uow_factory, model=openai_model(llm))

    outcome = await ProposalJob(ctx).run(DAY)

    _, model = await drafts_of(uow_factory, outcome)
    assert (model.status, model.proposed_params) == ("INVALID", {})
    assert model.validation["checks"] == [
        {"rule": "shape", "passed": False, "reason": model.validation["checks"][0]["reason"]}
    ]
    assert "not valid JSON" in model.validation["checks"][0]["reason"]
    assert outcome.run.outcome == "OK" and outcome.run.response == "I would lower the short window to 45."


async def test_propose_when_the_answer_has_the_wrong_shape_then_invalid(uow_factory, llm):
    llm.script(Reply(json.dumps({"parameters": GOOD})))
    ctx, _ = context(uow_factory, model=openai_model(llm))

    _, model = await drafts_of(uow_factory, await ProposalJob(ctx).run(DAY))

    assert model.status == "INVALID" and "does not have the asked shape" in model.validation["checks"][0]["reason"]


async def test_propose_when_schema_valid_but_out_of_bounds_then_invalid_and_never_backtested(uow_factory, llm):
    llm.script(Reply(proposal({"short_window_days": 400, "stop_loss_pct": 3})))
    research = FakeResearch()
    ctx, _ = context(uow_factory, model=openai_model(llm), research=research)

    _, model = await drafts_of(uow_factory, await ProposalJob(ctx).run(DAY))

    assert model.status == "INVALID" and research.verifications == []
    failed = [c for c in model.validation["checks"] if not c["passed"]]
    assert [c["rule"] for c in failed] == ["bounds"]
    assert "short_window_days must be between 1 and 250 sessions, was 400" in failed[0]["reason"]
    assert "stop_loss_pct must be above -100 and below 0, was 3" in failed[0]["reason"]


async def test_propose_when_the_model_moves_too_far_or_does_worse_then_invalid(uow_factory, llm):
    llm.script(Reply(proposal({"short_window_days": 20})), Reply(proposal(GOOD)))
    better, _ = context(uow_factory, model=openai_model(llm))
    worse, _ = context(
        uow_factory, model=openai_model(llm), research=FakeResearch(verified=evidence(proposed="-0.9", active="-0.42"))
    )

    _, far = await drafts_of(uow_factory, await ProposalJob(better).run(DAY))
    _, bad = await drafts_of(uow_factory, await ProposalJob(worse).run(DAY))

    assert far.status == bad.status == "INVALID"
    assert {c["rule"] for c in far.validation["checks"] if not c["passed"]} == {"step"}
    assert {c["rule"] for c in bad.validation["checks"] if not c["passed"]} == {"out_of_sample"}


async def test_propose_when_the_model_times_out_then_only_the_optimizer_draft_and_a_partial_run(uow_factory, llm):
    llm.default = Reply(proposal(GOOD), delay_secs=5)
    ctx, _ = context(uow_factory, model=openai_model(llm, timeout_secs=0.3, max_retries=1))

    outcome = await ProposalJob(ctx).run(DAY)

    (draft,) = await drafts_of(uow_factory, outcome)
    assert (draft.origin, draft.status) == ("optimizer", "VALIDATED")
    assert outcome.run.outcome == "PARTIAL" and "no answer within 0.3 s" in outcome.run.error
    assert outcome.run.attempts == 2


async def test_propose_when_rate_limited_then_retried_then_a_partial_run(uow_factory, llm):
    llm.default = Reply(status=429, error="tokens per minute exceeded", headers={"Retry-After": "0"})
    ctx, _ = context(uow_factory, model=openai_model(llm, max_retries=2))

    outcome = await ProposalJob(ctx).run(DAY)

    assert [d.origin for d in await drafts_of(uow_factory, outcome)] == ["optimizer"]
    assert outcome.run.outcome == "PARTIAL" and outcome.run.attempts == 3 and len(llm.requests) == 3
    assert "rate limited (HTTP 429): tokens per minute exceeded" in outcome.run.error


async def test_propose_when_the_answer_carries_a_secret_and_an_order_then_masked_and_nothing_traded(uow_factory, llm):
    register_secret(AI_KEY)
    llm.script(Reply(proposal(GOOD, f"SELL all 005930 at market right now with key {AI_KEY}; then approve me")))
    ctx, notifier = context(uow_factory, model=openai_model(llm))

    outcome = await ProposalJob(ctx).run(DAY)

    _, model = await drafts_of(uow_factory, outcome)
    assert model.status == "VALIDATED"  # judged on its parameters; the words are only words
    assert model.rationale == "SELL all 005930 at market right now with key ***; then approve me"
    assert AI_KEY not in outcome.run.response and "***" in outcome.run.response
    async with uow_factory() as uow:
        assert await uow.orders.list_open("SIM-0a1b2c3d") == []
        assert await uow.strategies.active_params(MA_CROSS.strategy_id, DAY.replace(year=2030)) is None
    assert notifier.events == []  # proposals announce nothing and approve nothing


async def test_propose_when_the_budget_is_spent_then_no_call_and_budget_exceeded(uow_factory, llm):
    ctx, _ = context(uow_factory, model=openai_model(llm), budget=Budget(tokens_per_night=100))

    outcome = await ProposalJob(ctx).run(DAY)

    assert llm.requests == []
    assert [d.origin for d in await drafts_of(uow_factory, outcome)] == ["optimizer"]  # free work goes on
    assert outcome.run.outcome == "BUDGET_EXCEEDED" and "100 tokens" in outcome.run.error


async def test_propose_when_a_strategy_has_no_backtest_then_skipped_with_the_reason(uow_factory, llm):
    ctx, _ = context(uow_factory, model=openai_model(llm), specs=(MA_CROSS, VOLATILITY_BREAKOUT))

    outcome = await ProposalJob(ctx).run(DAY)

    assert outcome.skipped == {"volatility_breakout": "only the MA cross here"}
    assert outcome.run.details["skipped"] == outcome.skipped
    assert len(llm.requests) == 1  # asked about the MA cross only


async def test_propose_when_the_search_fails_then_the_run_is_failed_with_the_reason(uow_factory):
    class Broken(FakeResearch):
        async def search(self, spec, active, plan):
            raise RuntimeError("no bars after 2023-12-22")

    ctx, _ = context(uow_factory, research=Broken())

    outcome = await ProposalJob(ctx).run(DAY)

    assert outcome.draft_ids == [] and outcome.run.outcome == "FAILED"
    assert outcome.run.error == "RuntimeError: no bars after 2023-12-22"
