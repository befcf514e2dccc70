"""Strategy parameters from files and ``strategy_params`` rows: typed, bounded, and every reason named.

A strategy's parameters are a frozen dataclass of ints and Decimals; `params_problems` names each unknown
name, value that is not a number (or not a whole number), and value outside its `Bound`; `build_params`
builds the dataclass or raises `ConfigurationError` with all of them. Missing names take their defaults.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross_rules import coerce_parameters

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

type Number = int | Decimal


@dataclass(frozen=True, slots=True)
class Bound:
    """An allowed interval; `low_open`/`high_open` exclude the end itself; None: unbounded on that side."""

    low: Number | None = None
    high: Number | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, name: str, value: Number) -> str | None:
        """Return why `value` is out of the interval, or None."""
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if not (below or above):
            return None
        low = "" if self.low is None else f"{'above' if self.low_open else 'at least'} {self.low}"
        high = "" if self.high is None else f"{'below' if self.high_open else 'at most'} {self.high}"
        return f"{name} must be {' and '.join(part for part in (low, high) if part)}, was {value}"


def params_problems(
    cls: type,
    raw: Mapping[str, Any],
    bounds: Mapping[str, Bound],
    extra: Callable[[Mapping[str, Any]], list[str]] | None = None,
) -> list[str]:
    """Return why `raw` does not make valid `cls` parameters (empty when it does)."""
    values, problems = coerce_parameters(raw, {f.name: f.type for f in fields(cls)})
    if problems:
        return problems
    complete = {**{f.name: f.default for f in fields(cls)}, **values}
    problems = [p for name, bound in bounds.items() if (p := bound.problem(name, complete[name])) is not None]
    if not problems and extra is not None:
        problems = extra(complete)  # nosec B610  # our callback named extra, not Django's QuerySet.extra
    return problems


def build_params[T: "DataclassInstance"](
    cls: type[T],
    raw: Mapping[str, Any],
    bounds: Mapping[str, Bound],
    extra: Callable[[Mapping[str, Any]], list[str]] | None = None,
) -> T:
    """Return `cls` parameters from `raw`.

    Raises
    ------
    ConfigurationError
        Naming every unknown name and invalid value.
    """
    if problems := params_problems(cls, raw, bounds, extra):
        raise ConfigurationError(f"invalid strategy parameters: {'; '.join(problems)}")
    values, _ = coerce_parameters(raw, {f.name: f.type for f in fields(cls)})
    return cls(**values)


def params_mapping(params: "DataclassInstance") -> dict[str, str | int]:
    """Return dataclass parameters as JSON-safe values (Decimals as strings)."""
    return {f.name: (v if isinstance(v := getattr(params, f.name), int) else str(v)) for f in fields(params)}
