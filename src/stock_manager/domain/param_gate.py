"""The validation gate of proposed strategy parameters, and the life of a draft (spec 001 §1, §17; PRD §9).

Nothing reaches the ``strategy_params`` the daemon reads without passing here and being approved by a person.
The gate is pure: a proposal (from the optimizer or a language model), the ACTIVE parameters, the strategy's
`StrategySpec` and the out-of-sample evidence in; a verdict with one `GateCheck` per rule out. A malformed
proposal is a failed check, never an exception.

Rules, in order (a failed ``shape`` or ``bounds`` ends the list: nothing else can be judged):

``shape``
    The proposal is a mapping of parameter names to values.
``bounds``
    The strategy's own validation accepts it (`StrategySpec.problems`: names, types, declared bounds).
``change``
    It differs from the ACTIVE parameters (missing names take the strategy's defaults on both sides).
``step``
    No parameter moves more than `GateRules.max_change_pct` percent of its ACTIVE value; a parameter at 0
    may not move at all (no percentage of 0 bounds it).
``out_of_sample``
    Its objective on the out-of-sample span is at least the ACTIVE parameters' on the same span plus
    `GateRules.oos_margin` (in the objective's units; for a minimised objective, at most minus the margin).
    Undefined (no trade) fails for the proposal; an undefined ACTIVE figure ranks below any defined one.
``walk_forward``
    Where the evidence has it (a search), the walk-forward out-of-sample mean of the search is at least the
    ACTIVE parameters' mean over the same windows.
``drawdown``
    Its out-of-sample maximum drawdown is at most `GateRules.max_drawdown_pct` percent, and its backtest never
    reached the daily loss limit (the kill switch of the backtest).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from stock_manager.domain.errors import InvalidTransition
from stock_manager.domain.strategies.base import StrategySpec


class DraftStatus(StrEnum):
    """Where a parameter draft stands (``strategy_param_drafts.status``)."""

    DRAFT = "DRAFT"  # proposed, not yet judged
    VALIDATED = "VALIDATED"  # passed every rule of the gate; waits for a person
    INVALID = "INVALID"  # failed a rule (reasons kept); can only be rejected
    APPROVED = "APPROVED"  # a person approved it: an ACTIVE strategy_params row from its date exists
    REJECTED = "REJECTED"  # a person rejected it; nothing changed
    APPLIED = "APPLIED"  # the daemon opened a session with it

    def __str__(self) -> str:
        return self.value


#: The legal moves of a draft; approval is only ever a person's (`stockbot params approve`).
DRAFT_TRANSITIONS: Final[frozenset[tuple[DraftStatus, DraftStatus]]] = frozenset(
    {
        (DraftStatus.DRAFT, DraftStatus.VALIDATED),
        (DraftStatus.DRAFT, DraftStatus.INVALID),
        (DraftStatus.VALIDATED, DraftStatus.APPROVED),
        (DraftStatus.VALIDATED, DraftStatus.REJECTED),
        (DraftStatus.INVALID, DraftStatus.REJECTED),  # cleared from the list of pending drafts
        (DraftStatus.APPROVED, DraftStatus.APPLIED),
    }
)
#: Drafts waiting for a person.
PENDING: Final = frozenset({DraftStatus.VALIDATED, DraftStatus.INVALID})


def require_transition(current: DraftStatus, target: DraftStatus) -> None:
    """Check that a draft may move from `current` to `target`.

    Raises
    ------
    InvalidTransition
        Naming both statuses (an INVALID draft cannot be approved; a decided one cannot be decided again).
    """
    if (current, target) not in DRAFT_TRANSITIONS:
        raise InvalidTransition(f"a {current} draft cannot become {target}")


@dataclass(frozen=True, slots=True)
class GateRules:
    """The gate's thresholds (``AI_GATE_*`` settings).

    Attributes
    ----------
    oos_margin : Decimal
        Required out-of-sample improvement over the ACTIVE parameters, objective units (negative: tolerance).
    max_drawdown_pct : Decimal
        Largest out-of-sample maximum drawdown, percent.
    max_change_pct : Decimal
        Largest move of any parameter from its ACTIVE value, percent of that value.
    """

    oos_margin: Decimal = Decimal(0)
    max_drawdown_pct: Decimal = Decimal(10)
    max_change_pct: Decimal = Decimal(30)


@dataclass(frozen=True, slots=True)
class OutOfSample:
    """Out-of-sample evidence of a proposal against the ACTIVE parameters on the same span.

    Attributes
    ----------
    objective : str
        The figure compared (``sharpe``, ``return_pct``...).
    higher_is_better : bool
        False for a minimised objective (``max_drawdown_pct``).
    proposed, active : Decimal | None
        The objective of each on the span; None when undefined (no trade, no variance).
    proposed_max_drawdown_pct : Decimal | None
        The proposal's maximum drawdown on the span, percent.
    proposed_kill_switch : str | None
        Why the proposal's backtest latched its kill switch (the daily loss limit), or None.
    walk_forward_proposed, walk_forward_active : Decimal | None
        The search's walk-forward out-of-sample mean and the ACTIVE parameters' over the same windows; None
        when there was no search (a single proposal) or no window with both figures.
    """

    objective: str
    higher_is_better: bool
    proposed: Decimal | None
    active: Decimal | None
    proposed_max_drawdown_pct: Decimal | None
    proposed_kill_switch: str | None = None
    walk_forward_proposed: Decimal | None = None
    walk_forward_active: Decimal | None = None


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One rule's outcome: its name, whether it passed, and why (always said, passed or not)."""

    rule: str
    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """Every check of one proposal; valid when all passed."""

    checks: tuple[GateCheck, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        """Return True when every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def status(self) -> DraftStatus:
        """Return VALIDATED or INVALID."""
        return DraftStatus.VALIDATED if self.valid else DraftStatus.INVALID

    def failures(self) -> list[str]:
        """Return the reasons of the failed checks, in rule order."""
        return [c.reason for c in self.checks if not c.passed]

    def to_mapping(self) -> dict[str, Any]:
        """Return the verdict as JSON-safe data (``strategy_param_drafts.validation``)."""
        return {
            "valid": self.valid,
            "checks": [{"rule": c.rule, "passed": c.passed, "reason": c.reason} for c in self.checks],
        }


def malformed(reason: str) -> GateVerdict:
    """Return the verdict of an answer that is not a proposal at all (bad JSON, wrong shape)."""
    return GateVerdict((GateCheck("shape", False, reason),))


def check_proposal(
    spec: StrategySpec,
    active: Mapping[str, Any],
    proposed: object,
    evidence: OutOfSample | None,
    rules: GateRules,
    *,
    no_evidence_reason: str = "no out-of-sample backtest was run",
) -> GateVerdict:
    """Return the gate's verdict on `proposed` (module docstring for the rules).

    Parameters
    ----------
    spec : StrategySpec
        The strategy whose declared validation and defaults apply.
    active : Mapping[str, Any]
        The ACTIVE parameters (as stored: numbers or numeric strings).
    proposed : object
        The proposal as received; anything that is not a mapping fails ``shape``.
    evidence : OutOfSample | None
        The backtest evidence; None fails ``out_of_sample`` and ``drawdown`` with `no_evidence_reason`.
    """
    if not isinstance(proposed, Mapping) or not all(isinstance(k, str) for k in proposed):
        return malformed(f"the proposal must be a mapping of parameter names to values, was {type(proposed).__name__}")
    checks = [GateCheck("shape", True, f"{len(proposed)} parameter(s)")]
    if problems := spec.problems(proposed):
        checks.append(GateCheck("bounds", False, "; ".join(problems)))
        return GateVerdict(tuple(checks))
    checks.append(GateCheck("bounds", True, f"within {spec.strategy_id}'s declared bounds and types"))
    new, old = complete(spec, proposed), complete(spec, active)
    moved = {k: (old[k], new[k]) for k in new if new[k] != old.get(k)}
    said = ", ".join(f"{k} {a} → {b}" for k, (a, b) in moved.items())
    checks.append(GateCheck("change", bool(moved), f"changes {said}" if moved else "the same as the ACTIVE parameters"))
    checks.append(_step(moved, rules.max_change_pct))
    if evidence is None:
        checks.append(GateCheck("out_of_sample", False, f"no out-of-sample evidence: {no_evidence_reason}"))
        checks.append(GateCheck("drawdown", False, f"no drawdown figure: {no_evidence_reason}"))
        return GateVerdict(tuple(checks))
    checks.append(_out_of_sample(evidence, rules.oos_margin))
    if evidence.walk_forward_proposed is not None or evidence.walk_forward_active is not None:
        checks.append(_walk_forward(evidence))
    checks.append(_drawdown(evidence, rules.max_drawdown_pct))
    return GateVerdict(tuple(checks))


def complete(spec: StrategySpec, params: Mapping[str, Any]) -> dict[str, Decimal]:
    """Return every parameter of `spec` as a Decimal, missing names taking the defaults.

    Raises
    ------
    ConfigurationError
        If `params` is not valid for `spec` (check `spec.problems` first).
    """
    mapping = spec.params_from(params).to_mapping()
    return {k: Decimal(str(v)) for k, v in mapping.items()}


def differences(spec: StrategySpec, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Return (name, before, after) of every parameter that differs, in the strategy's order; values as given
    (completed with the defaults when both sides are valid for `spec`, compared as numbers)."""
    try:
        old, new = complete(spec, before), complete(spec, after)
    except Exception:  # an invalid side: compare the raw values
        names = list(dict.fromkeys([*before, *after]))
        return [(k, before.get(k), after.get(k)) for k in names if str(before.get(k)) != str(after.get(k))]
    return [(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]


def _step(moved: Mapping[str, tuple[Decimal, Decimal]], max_pct: Decimal) -> GateCheck:
    too_far = []
    for name, (old, new) in moved.items():
        if old == 0:
            too_far.append(f"{name} moves from 0 to {new} (no step limit applies to 0, so it may not move)")
            continue
        pct = abs(new - old) / abs(old) * 100
        if pct > max_pct:
            too_far.append(f"{name} moves {pct:.1f} % ({old} → {new}), more than {max_pct} %")
    if too_far:
        return GateCheck("step", False, "; ".join(too_far))
    return GateCheck("step", True, f"no parameter moves more than {max_pct} %")


def _out_of_sample(ev: OutOfSample, margin: Decimal) -> GateCheck:
    name = ev.objective
    if ev.proposed is None:
        return GateCheck("out_of_sample", False, f"out-of-sample {name} of the proposal is undefined (no trade)")
    if ev.active is None:
        return GateCheck(
            "out_of_sample",
            True,
            f"out-of-sample {name} {ev.proposed} against none for the ACTIVE parameters (they did not trade)",
        )
    need = ev.active + margin if ev.higher_is_better else ev.active - margin
    ok = ev.proposed >= need if ev.higher_is_better else ev.proposed <= need
    relation = "at least" if ev.higher_is_better else "at most"
    return GateCheck(
        "out_of_sample",
        ok,
        f"out-of-sample {name} {ev.proposed} against {ev.active} for the ACTIVE "
        f"parameters; needs {relation} {need} (margin {margin})",
    )


def _walk_forward(ev: OutOfSample) -> GateCheck:
    p, a = ev.walk_forward_proposed, ev.walk_forward_active
    if p is None:
        return GateCheck("walk_forward", False, "the search has no walk-forward out-of-sample mean")
    if a is None:
        return GateCheck("walk_forward", True, f"walk-forward out-of-sample mean {p}; the ACTIVE parameters have none")
    ok = p >= a if ev.higher_is_better else p <= a
    return GateCheck("walk_forward", ok, f"walk-forward out-of-sample mean {p} against {a} for the ACTIVE parameters")


def _drawdown(ev: OutOfSample, max_pct: Decimal) -> GateCheck:
    if ev.proposed_kill_switch:
        return GateCheck("drawdown", False, f"the backtest hit the daily loss limit: {ev.proposed_kill_switch}")
    if ev.proposed_max_drawdown_pct is None:
        return GateCheck("drawdown", False, "no out-of-sample maximum drawdown figure")
    ok = ev.proposed_max_drawdown_pct <= max_pct
    return GateCheck(
        "drawdown",
        ok,
        f"out-of-sample maximum drawdown {ev.proposed_max_drawdown_pct} % {'within' if ok else 'above'} {max_pct} %",
    )


def decimal_or_none(value: object) -> Decimal | None:
    """Return `value` as a finite Decimal, or None (for figures that may be missing or undefined)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


__all__ = [
    "DRAFT_TRANSITIONS",
    "PENDING",
    "DraftStatus",
    "GateCheck",
    "GateRules",
    "GateVerdict",
    "OutOfSample",
    "check_proposal",
    "complete",
    "decimal_or_none",
    "differences",
    "malformed",
    "require_transition",
]
