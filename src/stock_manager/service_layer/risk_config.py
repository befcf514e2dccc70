"""Risk limits in force: the settings, overridden per limit by the newest ``risk_limit_changes`` row.

A change is appended (who, when, old and new value, why), never edited: the table is the limits' history.
The daemon reads the effective limits at every session's open, so a change applies from the next session.
"""

from dataclasses import fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.risk import RiskLimits
from stock_manager.service_layer.ports.storage import RiskLimitChange, UnitOfWork

_OFF = frozenset({"off", "none"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "0"})

#: Limits that are never off (None is refused).
_REQUIRED = frozenset({"cooldown_secs", "daily_loss_includes_unrealized", "daily_loss_trips_kill_switch"})


def limit_names() -> list[str]:
    """Return the names of every limit, in `RiskLimits` order."""
    return [f.name for f in fields(RiskLimits)]


def format_limit(value: object) -> str | None:
    """Return a limit value as stored text (`str`; booleans as true/false), or None for a rule that is off."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_limit(name: str, text: str | None) -> object:
    """Return the typed value of limit `name` from its text ('off', or None as stored, turns a rule off).

    Raises
    ------
    ConfigurationError
        Naming the limit, for an unknown name, an empty value, a value that is not a number (or true/false),
        a number that is not positive (or a percentage above 100), or 'off' for a limit that cannot be off.
    """
    kinds = {f.name: f.type for f in fields(RiskLimits)}
    if name not in kinds:
        raise ConfigurationError(f"unknown risk limit {name!r}; known: {', '.join(kinds)}")
    if text is None:  # stored: the rule is off
        raw = "off"
    elif not (raw := text.strip().lower()):
        raise ConfigurationError(
            f"risk limit {name} needs a value: a number, true/false or 'off' (`off` is the "
            "only way to switch a rule off)"
        )
    if raw in _OFF:
        if name in _REQUIRED:
            raise ConfigurationError(f"risk limit {name} cannot be off")
        return None
    kind = str(kinds[name])
    if "bool" in kind:
        if raw in _TRUE | _FALSE:
            return raw in _TRUE
        raise ConfigurationError(f"risk limit {name} must be true or false, was {text!r}")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ConfigurationError(f"risk limit {name} must be a number or 'off', was {text!r}") from None
    if not number.is_finite() or number <= 0 or (name.endswith("_pct") and number > 100):
        raise ConfigurationError(
            f"risk limit {name} must be a positive number{' ≤ 100' * name.endswith('_pct')} or 'off', was {text!r}"
        )
    if "int" in kind:
        if number != number.to_integral_value():
            raise ConfigurationError(f"risk limit {name} must be a whole number, was {text!r}")
        return int(number)
    return number


def apply_changes(base: RiskLimits, changes: list[RiskLimitChange]) -> tuple[RiskLimits, dict[str, RiskLimitChange]]:
    """Return `base` with each limit's newest change applied, and those newest changes by name.

    Rows of a name this version does not know are ignored (a newer version may have written them).

    Raises
    ------
    ConfigurationError
        If a stored value is not valid for its limit.
    """
    newest: dict[str, RiskLimitChange] = {}
    for change in changes:
        if change.name in {f.name for f in fields(RiskLimits)}:
            newest[change.name] = change
    # Each value has its own limit's type (parse_limit reads the field's declared kind): Any per name.
    values: dict[str, Any] = {name: parse_limit(name, change.new_value) for name, change in newest.items()}
    return replace(base, **values), newest


async def effective_limits(uow: UnitOfWork, base: RiskLimits) -> RiskLimits:
    """Return the limits in force: `base` (from settings) overridden by the database's newest changes."""
    limits, _ = apply_changes(base, await uow.risk.limit_changes())
    return limits


async def change_limit(
    uow: UnitOfWork, base: RiskLimits, name: str, text: str, *, changed_by: str, reason: str, ts: datetime
) -> RiskLimitChange:
    """Record a new value of limit `name` (validated; 'off' turns the rule off); the caller commits.

    Raises
    ------
    ConfigurationError
        For an unknown limit or an invalid value (see `parse_limit`).
    """
    value = parse_limit(name, text)
    current = await effective_limits(uow, base)
    change = RiskLimitChange(
        name=name,
        old_value=format_limit(getattr(current, name)),
        new_value=format_limit(value),
        changed_by=changed_by,
        reason=reason,
        ts_changed=ts,
    )
    await uow.risk.add_limit_change(change)
    return change
