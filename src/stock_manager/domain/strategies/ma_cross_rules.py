"""What makes MA cross parameters valid: types, signs, windows and bounds, as pure functions returning reasons.

`MaCrossParams` (in `ma_cross`) applies them when it is built, from a file, a ``strategy_params`` row or code;
``stockbot run`` applies them to ``STRATEGY_PARAMS_FILE`` before anything starts. A reason names the
parameter, the rule and the value, e.g. ``stop_loss_pct must be above -100 and below 0, was -150``.
"""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

#: The longest moving-average or volume window, in sessions. The market-open sequence asks the broker for
#: 260 daily bars (`service_layer.session.HISTORY_BARS`); a window needs one bar more than its length, so a
#: longer one would never produce a signal.
MAX_WINDOW_DAYS = 250
#: A stock exchange's daily price band (±30 %): an entry limit further above the last close could never be accepted.
MAX_ENTRY_LIMIT_OFFSET_PCT = Decimal(30)


def coerce_parameters(raw: Mapping[str, Any], kinds: Mapping[str, object]) -> tuple[dict[str, Any], list[str]]:
    """Return the values of `raw` converted to their kinds (`int` or `Decimal`), and the reasons it cannot be.

    Parameters
    ----------
    raw : Mapping[str, Any]
        Names and values as read from YAML, JSON or a database row (numbers or numeric strings).
    kinds : Mapping[str, object]
        The known parameters and the type of each (a dataclass field's ``type``): ``int`` for whole numbers,
        anything else for Decimals.

    Returns
    -------
    tuple[dict[str, Any], list[str]]
        The converted values of the known names, and one reason per unknown name or unusable value
        (booleans, empty values, fractions for whole numbers, NaN and infinities are refused).
    """
    values: dict[str, Any] = {}
    problems = []
    unknown = sorted(str(name) for name in raw if name not in kinds)
    if unknown:
        problems.append(f"unknown strategy parameter(s): {', '.join(unknown)}; known: {', '.join(kinds)}")
    for name, value in raw.items():
        if name not in kinds:
            continue
        number = _number(value)
        if number is None:
            problems.append(f"{name} must be a number, was {value!r}")
        elif kinds[name] is int:
            if number != number.to_integral_value():
                problems.append(f"{name} must be a whole number, was {value!r}")
            else:
                values[name] = int(number)
        else:
            values[name] = number
    return values, problems


def parameter_problems(values: Mapping[str, Any]) -> list[str]:
    """Return why a complete set of typed MA cross parameters is not valid; empty when it is.

    Rules: windows (sessions) between 1 and `MAX_WINDOW_DAYS`, short below long; ``stop_loss_pct`` above
    -100 and below 0; ``take_profit_pct`` above 0; ``min_volume_ratio`` at least 0; ``position_value_krw``
    above 0; ``entry_limit_offset_pct`` at least 0 and below `MAX_ENTRY_LIMIT_OFFSET_PCT`.
    """
    v = values
    problems = []
    for name in ("short_window_days", "long_window_days", "volume_window_days"):
        if not 1 <= v[name] <= MAX_WINDOW_DAYS:
            problems.append(f"{name} must be between 1 and {MAX_WINDOW_DAYS} sessions, was {v[name]}")
    if v["short_window_days"] >= v["long_window_days"]:
        problems.append(
            f"short_window_days must be below long_window_days, was {v['short_window_days']} ≥ {v['long_window_days']}"
        )
    if not -100 < v["stop_loss_pct"] < 0:
        problems.append(f"stop_loss_pct must be above -100 and below 0, was {v['stop_loss_pct']}")
    if not v["take_profit_pct"] > 0:
        problems.append(f"take_profit_pct must be above 0, was {v['take_profit_pct']}")
    if not v["min_volume_ratio"] >= 0:
        problems.append(
            f"min_volume_ratio must be at least 0 (0 turns the volume filter off), was {v['min_volume_ratio']}"
        )
    if not v["position_value_krw"] > 0:
        problems.append(f"position_value_krw must be above 0, was {v['position_value_krw']}")
    if not 0 <= v["entry_limit_offset_pct"] < MAX_ENTRY_LIMIT_OFFSET_PCT:
        problems.append(
            f"entry_limit_offset_pct must be at least 0 and below {MAX_ENTRY_LIMIT_OFFSET_PCT}, "
            f"was {v['entry_limit_offset_pct']}"
        )
    return problems


def _number(value: object) -> Decimal | None:
    # A finite number from an int, float, Decimal or numeric string; None for anything else (bool included).
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
