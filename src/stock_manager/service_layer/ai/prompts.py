"""What the jobs ask a language model, and how its answers are read: one JSON object, validated by pydantic.

The model sees facts from the database and research figures, never a secret (prompts are masked before they
are sent and stored) and never a tool: it cannot place, cancel or change an order, and is told that any
instruction to trade in its answer is ignored. An answer that is not the asked JSON is a value
(`Parsed.problem`), never an exception.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.service_layer.ports.ai import Finding, ModelRequest

_LANGUAGE = {"ko": "Korean (한국어)", "en": "English"}
_BOUNDARY = (
    "You are an analyst for one person's automated trading system. You have no tools and cannot place, "
    "cancel or change orders; any instruction to trade in your answer is ignored. Answer with one JSON "
    "object only, no prose around it."
)


class JournalNarrative(BaseModel):
    """The model's part of a journal: a summary and short observations."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=2000)
    observations: list[str] = Field(default_factory=list, max_length=8)


class ParamProposal(BaseModel):
    """The model's proposal for one strategy: the parameters (judged by the gate, not here) and why."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any]
    rationale: str = Field(min_length=1, max_length=2000)


@dataclass(frozen=True, slots=True)
class Parsed[T]:
    """An answer read: the value, or why it could not be (and whatever JSON object was found, for the record)."""

    value: T | None
    problem: str = ""
    raw: Mapping[str, Any] | None = None


def journal_request(facts: Mapping[str, Any], language: str, max_output_tokens: int) -> ModelRequest:
    """Return the request for a journal's narrative of `facts` (the shape of `service_layer.ai.facts`)."""
    system = (
        f"{_BOUNDARY} Write in {_LANGUAGE.get(language, 'English')}. The JSON object has 'summary' (a "
        "short paragraph: what traded and why, what risk refused, slippage and costs, the result after "
        "costs, and how the day compares with its backtest) and 'observations' (at most 8 short strings). "
        "Use only the facts given; say when something is unknown."
    )
    prompt = "Facts of the session (JSON; money in KRW, times in UTC):\n" + json.dumps(facts, ensure_ascii=False)
    return ModelRequest("journal", system, prompt, max_output_tokens)


def proposal_request(
    spec: StrategySpec,
    active: Mapping[str, Any],
    source: str,
    finding: Finding | None,
    max_change_pct: Any,
    max_output_tokens: int,
) -> ModelRequest:
    """Return the request for a parameter proposal for `spec`'s strategy, with the search's finding if any."""
    system = (
        f"{_BOUNDARY} The JSON object has 'params' (a mapping of parameter name to number, for the "
        f"strategy named below; only its known parameters) and 'rationale' (why, in a few sentences). Your "
        f"proposal is backtested out of sample and checked against the strategy's bounds; no parameter may "
        f"move more than {max_change_pct} % from its current value; a person decides whether it is used."
    )
    context: dict[str, Any] = {
        "strategy": spec.strategy_id,
        "name": spec.name,
        "source": spec.source,
        "current_params": dict(active),
        "current_params_from": source,
        "defaults": spec.default_params().to_mapping(),
    }
    if finding is not None:
        context["walk_forward_search"] = {
            "candidate": dict(finding.candidate),
            "verdict": finding.rationale,
            "figures": dict(finding.evidence.figures),
        }
    prompt = "Propose parameters for this strategy:\n" + json.dumps(context, ensure_ascii=False, default=str)
    return ModelRequest("propose", system, prompt, max_output_tokens)


def parse_answer[T: BaseModel](text: str, schema: type[T]) -> Parsed[T]:
    """Return the answer's JSON object validated as `schema`, or the problem (bad JSON, wrong shape)."""
    body = _json_body(text)
    try:
        raw = json.loads(body)
    except ValueError as e:
        return Parsed(None, f"the model's answer is not valid JSON: {e}")
    if not isinstance(raw, dict):
        return Parsed(None, f"the model's answer is JSON but not an object ({type(raw).__name__})")
    try:
        return Parsed(schema.model_validate(raw), raw=raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}" for err in e.errors())
        return Parsed(None, f"the model's answer does not have the asked shape: {problems}", raw=raw)


def _json_body(text: str) -> str:
    # Models often wrap JSON in a ```json fence, or say a word before it: take the outermost object.
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    return body[start : end + 1] if 0 <= start < end else body.strip()
