"""Today's strategy parameters (spec 001 §4.1 step 4): the ACTIVE row, else a stated fallback."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.base import StrategyParams, StrategySpec
from stock_manager.domain.strategies.ma_cross import MA_CROSS
from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.service_layer.ports.storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class LoadedParams:
    """Parameters in force and where they came from (``strategy_params``, a file, or the defaults)."""

    params: StrategyParams
    source: str
    fallback: bool


def read_params_file(path: Path, spec: StrategySpec = MA_CROSS) -> StrategyParams:
    """Read a strategy's parameters (the MA cross's by default) from a YAML or JSON file (UTF-8): the file's
    mapping of name: value, or, where several strategies run, its entry under the strategy's id.

    Raises
    ------
    ConfigurationError
        When the file is missing, is not a mapping, or holds an unknown key or a bad value.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigurationError(f"cannot read strategy parameter file {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigurationError(
            f"strategy parameter file {path} is not UTF-8 (byte at offset {e.start}); save it as UTF-8"
        ) from None
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigurationError(f"strategy parameter file {path} is not valid: {' '.join(str(e).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"strategy parameter file {path} must hold a mapping of name: value")
    if raw and all(isinstance(v, dict) for v in raw.values()):  # a file of entries per strategy
        if unknown := sorted(str(k) for k in raw if k not in STRATEGIES):
            raise ConfigurationError(
                f"strategy parameter file {path}: unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGIES)}"
            )
        if spec.strategy_id not in raw:
            return spec.default_params()  # none for this one
        raw = raw[spec.strategy_id]
    if problems := spec.problems(raw):
        raise ConfigurationError(f"strategy parameter file {path}: {'; '.join(problems)}")
    return spec.params_from(raw)


async def load_params(
    uow: UnitOfWork, on: date, fallback_file: Path | None, spec: StrategySpec = MA_CROSS
) -> LoadedParams:
    """Return today's ACTIVE parameters, else the file's, else the built-in defaults (flagged as fallback).

    Raises
    ------
    ConfigurationError
        When the ACTIVE row or the fallback file holds invalid parameters.
    """
    row = await uow.strategies.active_params(spec.strategy_id, on)
    if row is not None:
        if not isinstance(row, Mapping):
            raise ConfigurationError(f"the ACTIVE strategy_params row for {on} is not a mapping of name: value")
        if problems := spec.problems(row):
            raise ConfigurationError(f"the ACTIVE strategy_params row for {on}: {'; '.join(problems)}")
        return LoadedParams(spec.params_from(row), "strategy_params", fallback=False)
    if fallback_file is not None:
        return LoadedParams(read_params_file(fallback_file, spec), f"file {fallback_file}", fallback=True)
    return LoadedParams(spec.default_params(), "built-in defaults", fallback=True)
