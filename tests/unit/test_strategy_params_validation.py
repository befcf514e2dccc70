"""Strategy parameters are validated where they are defined (types, signs, windows, bounds) and checked
before a run starts; a bad ``strategy_params`` row stops the session instead of crashing the daemon."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.domain.strategies.ma_cross_rules import MAX_WINDOW_DAYS
from stock_manager.entrypoints.cli import app
from stock_manager.service_layer.params import load_params, read_params_file
from stock_manager.service_layer.trading_day import HISTORY_BARS


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"stop_loss_pct": -150}, "stop_loss_pct must be above -100 and below 0, was -150"),
        ({"stop_loss_pct": 5}, "stop_loss_pct must be above -100 and below 0, was 5"),
        ({"take_profit_pct": 0}, "take_profit_pct must be above 0, was 0"),
        ({"min_volume_ratio": "-0.5"}, "min_volume_ratio must be at least 0"),
        ({"position_value_krw": 0}, "position_value_krw must be above 0, was 0"),
        ({"short_window_days": 200, "long_window_days": 50}, "short_window_days must be below long_window_days"),
        ({"short_window_days": 0}, "short_window_days must be between 1 and 250 sessions, was 0"),
        ({"long_window_days": 400}, "long_window_days must be between 1 and 250 sessions, was 400"),
        ({"long_window_days": 200.5}, "long_window_days must be a whole number, was 200.5"),
        ({"long_window_days": True}, "long_window_days must be a number, was True"),
        ({"stop_loss_pct": None}, "stop_loss_pct must be a number, was None"),
        ({"stop_loss_pct": float("nan")}, "stop_loss_pct must be a number, was nan"),
        ({"take_profit_pct": "ten"}, "take_profit_pct must be a number, was 'ten'"),
        ({"entry_limit_offset_pct": 35}, "entry_limit_offset_pct must be at least 0 and below 30, was 35"),
        ({"stop_loss": -5}, "unknown strategy parameter(s): stop_loss"),
    ],
)
def test_problems_when_a_parameter_is_invalid_then_the_reason_names_it(raw: dict[str, Any], reason: str):
    problems = MaCrossParams.problems(raw)

    assert any(reason in problem for problem in problems), problems
    with pytest.raises(ConfigurationError, match="invalid strategy parameters"):
        MaCrossParams.from_mapping(raw)


def test_problems_when_valid_then_none_and_the_values_are_typed():
    raw = {"short_window_days": "5", "long_window_days": 10.0, "stop_loss_pct": "-2.5", "min_volume_ratio": 0}

    params = MaCrossParams.from_mapping(raw)

    assert MaCrossParams.problems(raw) == []
    assert params.long_window_days == 10 and params.stop_loss_pct == Decimal("-2.5")


def test_every_window_fits_in_the_history_the_session_loads():
    assert MAX_WINDOW_DAYS + 1 <= HISTORY_BARS


def test_params_built_in_code_follow_the_same_rules():
    with pytest.raises(ConfigurationError, match="stop_loss_pct must be above -100"):
        MaCrossParams(stop_loss_pct=Decimal(-150))


def test_read_params_file_when_invalid_then_names_the_file_and_every_reason(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text("stop_loss_pct: -150\ntake_profit_pct: -1\n", encoding="utf-8")

    with pytest.raises(ConfigurationError) as raised:
        read_params_file(path)

    assert str(raised.value) == (
        f"strategy parameter file {path}: stop_loss_pct must be above -100 and below 0, "
        "was -150; take_profit_pct must be above 0, was -1"
    )


def test_read_params_file_when_sections_per_strategy_then_each_validated_and_unknown_names_refused(tmp_path: Path):
    # A file of one section per strategy: a bad value in a section is named; a section named after no strategy
    # (here the MA cross without its id's suffix) is refused rather than silently leaving the defaults in force.
    bad_value = tmp_path / "bad_value.yaml"
    bad_value.write_text("ma_cross_50_200:\n  stop_loss_pct: -150\ngrid:\n  levels: 10\n", encoding="utf-8")
    misnamed = tmp_path / "misnamed.yaml"
    misnamed.write_text("ma_cross:\n  stop_loss_pct: -7\n", encoding="utf-8")
    other_only = tmp_path / "other_only.yaml"
    other_only.write_text("turtle:\n  entry_days: 20\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="stop_loss_pct must be above -100 and below 0, was -150"):
        read_params_file(bad_value)
    with pytest.raises(ConfigurationError, match="unknown strategy ma_cross; known: ma_cross_50_200, "):
        read_params_file(misnamed)
    assert read_params_file(other_only) == MaCrossParams()


def test_read_params_file_when_not_utf8_then_a_configuration_error(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_bytes("# 손절\nstop_loss_pct: -5\n".encode("cp949"))

    with pytest.raises(ConfigurationError, match="is not UTF-8"):
        read_params_file(path)


async def test_load_params_when_the_active_row_is_invalid_then_a_reason_the_session_stops_on():
    # The session catches this and enters stop mode for the day (the daemon does not crash).
    async def active_params(_strategy: str, _on: date) -> dict[str, Any]:
        return {"stop_loss_pct": "-150"}

    uow = SimpleNamespace(strategies=SimpleNamespace(active_params=active_params))

    with pytest.raises(ConfigurationError) as raised:
        await load_params(uow, date(2023, 2, 13), None)  # type: ignore[arg-type]

    assert str(raised.value) == (
        "the ACTIVE strategy_params row for 2023-02-13: stop_loss_pct must be above -100 and below 0, was -150"
    )


def test_run_when_the_params_file_is_invalid_then_exit_2_before_anything_runs(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("stop_loss_pct: -150\n", encoding="utf-8")

    result = CliRunner().invoke(
        app,
        ["run", "--params-file", "params.yaml", "--from", "2023-02-13", "--to", "2023-02-14"],
        env={"DATA_DIR": str(tmp_path / "data"), "DB_URL": None},
    )

    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "Configuration error: strategy parameter file params.yaml: stop_loss_pct must be "
        "above -100 and below 0, was -150"
    )
    assert not (tmp_path / "data").exists()  # no database, no replay journal
