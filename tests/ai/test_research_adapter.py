"""The research engine behind the proposal job, on the bundled data: what it covers, a search that stays within
the gate's step limit, the verification of a proposal, and stale bars refused."""

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import GateRules, check_proposal
from stock_manager.domain.strategies.grid import GRID
from stock_manager.domain.strategies.ma_cross import MA_CROSS, MaCrossParams
from stock_manager.research.ai_research import BacktestResearch
from stock_manager.research.data import bundled
from stock_manager.research.engine import BacktestConfig
from stock_manager.service_layer.ports.ai import SearchPlan

DEFAULTS = MaCrossParams().to_mapping()


def research(uow_factory, symbols=("005930", "069500")) -> BacktestResearch:
    return BacktestResearch(
        lambda: bundled(list(symbols)),
        BacktestConfig(date(2023, 1, 2), date(2023, 12, 22)),
        storage=SimpleNamespace(uow_factory=uow_factory),
        settings=None,
    )


def test_research_when_a_strategy_has_no_backtest_then_it_says_so(uow_factory):
    assert research(uow_factory).unsupported(MA_CROSS) is None
    assert "backtests only ma_cross_50_200; grid has no backtest yet" in research(uow_factory).unsupported(GRID)


async def test_search_when_run_on_the_bundled_data_then_a_candidate_within_the_step_and_its_evidence(uow_factory):
    plan = SearchPlan(data_until=date(2023, 2, 21), trials=8, windows=2)

    finding = await research(uow_factory).search(MA_CROSS, DEFAULTS, plan)

    verdict = check_proposal(MA_CROSS, DEFAULTS, finding.candidate, finding.evidence.out_of_sample, GateRules())
    assert {c.rule: c.passed for c in verdict.checks}["step"] is True  # the space stays within 30 %
    assert finding.evidence.figures["out_of_sample_span"] == "2022-08-26..2023-02-21"
    assert len(finding.evidence.figures["search"]["windows"]) == 2
    assert finding.evidence.out_of_sample.active is not None
    assert finding.candidate["position_value_krw"] == DEFAULTS["position_value_krw"]  # held, never fitted


async def test_verify_when_the_proposal_is_the_active_one_then_both_figures_are_equal(uow_factory):
    plan = SearchPlan(data_until=date(2023, 6, 30))

    evidence = await research(uow_factory).verify(MA_CROSS, DEFAULTS, DEFAULTS, plan)

    oos = evidence.out_of_sample
    assert oos.proposed == oos.active and oos.proposed_max_drawdown_pct is not None
    assert evidence.figures["backtests"]["proposed"] == evidence.figures["backtests"]["active"]


async def test_search_when_the_bars_stop_before_the_day_then_refused_saying_so(uow_factory):
    plan = SearchPlan(data_until=date(2026, 3, 2))

    with pytest.raises(
        ConfigurationError,
        match=re.escape("the bundled bars do not reach 2026-03-02 (005930 ends 2026-01-15, 069500 ends 2023-12-22)"),
    ):
        await research(uow_factory).search(MA_CROSS, DEFAULTS, plan)


def test_search_space_of_the_plan_follows_the_gate_setting():
    from stock_manager.research.ai_research import search_space

    space, _ = search_space(DEFAULTS, Decimal(10))

    assert space["short_window_days"] == {"low": 45, "high": 55}
