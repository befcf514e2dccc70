"""The nightly proposal job for the Bitcoin strategies, keyless (the optimizer alone): each of volatility
breakout, grid and turtle is searched walk-forward on the replayed KRW-BTC prints and verified by the same
backtest, and gets a judged draft with its evidence; none is skipped."""

from datetime import date

from stock_manager.entrypoints.ai_jobs import ai_context
from stock_manager.entrypoints.bootstrap import open_storage
from stock_manager.service_layer.ai.proposals import ProposalJob
from tests.e2e.support import replay_settings
from tests.fakes import RecordingNotifier
from tests.research.support import fresh_sqlite

DATA_UNTIL = date(2024, 6, 30)


async def test_propose_when_keyless_on_upbit_then_each_bitcoin_strategy_gets_a_backtested_draft(
    tmp_path, _sqlite_template
):
    settings = replay_settings(
        tmp_path / "data",
        fresh_sqlite(_sqlite_template, tmp_path),
        venue="upbit",
        sim_symbols="KRW-BTC",
        sim_from=date(2024, 3, 1),
        sim_to=DATA_UNTIL,
        ai_propose_trials=4,
        ai_propose_in_sample_days=30,
        ai_propose_out_of_sample_days=10,
        ai_propose_windows=2,
    )
    async with open_storage(settings, upgrade=False) as storage:
        ctx = ai_context(settings, storage, RecordingNotifier())
        assert ctx.model is None  # the keyless default: proposals come from the optimizer alone

        outcome = await ProposalJob(ctx).run(DATA_UNTIL)

        async with storage.uow_factory() as uow:
            drafts = [await uow.ai.get_draft(i) for i in outcome.draft_ids]
    assert outcome.skipped == {}
    assert outcome.run.outcome == "OK"
    assert sorted(d.strategy_id for d in drafts) == ["grid", "turtle", "volatility_breakout"]
    for draft in drafts:
        assert draft.origin == "optimizer" and draft.status in {"VALIDATED", "INVALID"}
        assert draft.evidence["out_of_sample_span"] == "2024-06-21..2024-06-30"
        backtests = draft.evidence["backtests"]
        assert backtests["active"]["period"] == "2024-06-21..2024-06-30"
        assert set(backtests) == {"proposed", "active"}
        assert len(draft.evidence["search"]["windows"]) == 2
        assert [c["rule"] for c in draft.validation["checks"]][:2] == ["shape", "bounds"]
