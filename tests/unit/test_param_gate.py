"""The validation gate of proposed parameters: pure, every reason named, never an exception for bad input."""

from decimal import Decimal

import pytest

from stock_manager.domain.errors import InvalidTransition
from stock_manager.domain.param_gate import (
    DraftStatus,
    GateRules,
    OutOfSample,
    check_proposal,
    malformed,
    require_transition,
)
from stock_manager.domain.strategies.grid import GRID
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.domain.strategies.turtle import TURTLE
from stock_manager.domain.strategies.volatility_breakout import VOLATILITY_BREAKOUT

ACTIVE = {"short_window_days": 50, "long_window_days": 200}
RULES = GateRules(oos_margin=Decimal(0), max_drawdown_pct=Decimal(10), max_change_pct=Decimal(30))


def evidence(proposed="0.5", active="0.1", drawdown="4", **extra) -> OutOfSample:
    return OutOfSample(
        "sharpe",
        True,
        None if proposed is None else Decimal(proposed),
        None if active is None else Decimal(active),
        None if drawdown is None else Decimal(drawdown),
        **extra,
    )


def rules_of(verdict) -> dict[str, bool]:
    return {c.rule: c.passed for c in verdict.checks}


def test_check_when_within_bounds_better_and_small_step_then_validated():
    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 45, "long_window_days": 190}, evidence(), RULES)

    assert verdict.valid and verdict.status is DraftStatus.VALIDATED
    assert rules_of(verdict) == {
        "shape": True,
        "bounds": True,
        "change": True,
        "step": True,
        "out_of_sample": True,
        "drawdown": True,
    }
    assert "short_window_days 50 → 45" in verdict.checks[2].reason


def test_check_when_out_of_the_declared_bounds_then_invalid_naming_each_value():
    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 300, "stop_loss_pct": 5}, evidence(), RULES)

    assert verdict.status is DraftStatus.INVALID
    assert [c.rule for c in verdict.checks] == ["shape", "bounds"]
    assert "short_window_days must be between 1 and 250 sessions, was 300" in verdict.failures()[0]
    assert "stop_loss_pct must be above -100 and below 0, was 5" in verdict.failures()[0]


@pytest.mark.parametrize(
    "spec, proposal, words",
    [
        (VOLATILITY_BREAKOUT, {"k": "3.5"}, "k must be above 0 and at most 3, was 3.5"),
        (TURTLE, {"entry_days": 1}, "entry_days must be at least 2 and at most 250, was 1"),
        (GRID, {"levels": 500}, "levels must be at least 2 and at most 100, was 500"),
        (MA_CROSS, {"short_window_days": "fifty"}, "short_window_days must be a number, was 'fifty'"),
        (MA_CROSS, {"short_window_days": 40.5}, "short_window_days must be a whole number"),
        (MA_CROSS, {"buy_now": 1}, "unknown strategy parameter(s): buy_now"),
    ],
)
def test_check_when_a_strategy_spec_refuses_then_its_own_reason_is_the_gates(spec, proposal, words):
    verdict = check_proposal(spec, {}, proposal, evidence(), RULES)

    assert not verdict.valid
    assert words in verdict.failures()[0]


@pytest.mark.parametrize("answer", [None, "SELL everything", ["a"], 42, {1: 2}])
def test_check_when_the_answer_is_not_a_mapping_then_invalid_and_no_exception(answer):
    verdict = check_proposal(MA_CROSS, ACTIVE, answer, evidence(), RULES)

    assert rules_of(verdict) == {"shape": False}


def test_check_when_a_parameter_moves_more_than_the_step_then_invalid_with_the_percentage():
    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 20}, evidence(), RULES)

    assert not verdict.valid
    assert verdict.failures() == ["short_window_days moves 60.0 % (50 → 20), more than 30 %"]


def test_check_when_a_parameter_at_zero_moves_then_invalid():
    verdict = check_proposal(VOLATILITY_BREAKOUT, {"ma_filter_days": 0}, {"ma_filter_days": 1}, evidence(), RULES)

    assert "ma_filter_days moves from 0 to 1" in verdict.failures()[0]


def test_check_when_the_proposal_equals_the_active_parameters_then_invalid():
    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": "50"}, evidence(), RULES)

    assert rules_of(verdict)["change"] is False
    assert "the same as the ACTIVE parameters" in verdict.failures()


@pytest.mark.parametrize(
    "proposed, active, margin, passed",
    [
        ("0.5", "0.1", "0", True),
        ("0.1", "0.5", "0", False),
        ("0.5", "0.5", "0", True),
        ("0.5", "0.45", "0.1", False),
        ("0.4", "0.45", "-0.1", True),
        (None, "0.1", "0", False),
        ("0.2", None, "0", True),
    ],
)
def test_check_out_of_sample_against_the_active_parameters_with_the_margin(proposed, active, margin, passed):
    rules = GateRules(oos_margin=Decimal(margin))

    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 45}, evidence(proposed, active), rules)

    assert rules_of(verdict)["out_of_sample"] is passed


def test_check_when_the_objective_is_minimised_then_lower_is_better():
    ev = OutOfSample("max_drawdown_pct", False, Decimal(3), Decimal(5), Decimal(3))

    assert check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 45}, ev, RULES).valid


def test_check_when_the_drawdown_is_too_deep_or_the_loss_limit_was_hit_then_invalid():
    deep = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 45}, evidence(drawdown="12.5"), RULES)
    killed = check_proposal(
        MA_CROSS,
        ACTIVE,
        {"short_window_days": 45},
        evidence(proposed_kill_switch="daily loss limit hit on 2023-03-02"),
        RULES,
    )

    assert deep.failures() == ["out-of-sample maximum drawdown 12.5 % above 10 %"]
    assert killed.failures() == ["the backtest hit the daily loss limit: daily loss limit hit on 2023-03-02"]


def test_check_when_the_walk_forward_mean_is_worse_then_invalid():
    ev = evidence(walk_forward_proposed=Decimal("-0.5"), walk_forward_active=Decimal("-0.2"))

    verdict = check_proposal(MA_CROSS, ACTIVE, {"short_window_days": 45}, ev, RULES)

    assert rules_of(verdict)["walk_forward"] is False


def test_check_when_there_is_no_evidence_then_invalid_saying_why():
    verdict = check_proposal(
        VOLATILITY_BREAKOUT,
        {},
        {"k": "0.55"},
        None,
        RULES,
        no_evidence_reason="the research engine backtests only ma_cross_50_200",
    )

    assert verdict.failures() == [
        "no out-of-sample evidence: the research engine backtests only ma_cross_50_200",
        "no drawdown figure: the research engine backtests only ma_cross_50_200",
    ]


def test_verdict_to_mapping_keeps_every_reason():
    data = malformed("the answer is not JSON: Expecting value").to_mapping()

    assert data == {
        "valid": False,
        "checks": [{"rule": "shape", "passed": False, "reason": "the answer is not JSON: Expecting value"}],
    }


@pytest.mark.parametrize(
    "current, target",
    [
        (DraftStatus.INVALID, DraftStatus.APPROVED),
        (DraftStatus.DRAFT, DraftStatus.APPROVED),
        (DraftStatus.REJECTED, DraftStatus.APPROVED),
        (DraftStatus.APPROVED, DraftStatus.REJECTED),
        (DraftStatus.APPLIED, DraftStatus.APPROVED),
    ],
)
def test_transition_when_not_in_the_table_then_refused(current, target):
    with pytest.raises(InvalidTransition, match=f"a {current} draft cannot become {target}"):
        require_transition(current, target)
