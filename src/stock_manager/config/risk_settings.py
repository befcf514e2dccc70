"""The risk limits' settings (``RISK_*``; spec 001 §5, PRD §6): one group of `Settings`' fields with their checks.

Limits are positive, or ``off`` (None) for the optional ones; percentages at most 100; amounts in KRW.
`config.limits` turns them into the domain's `RiskLimits`.
"""

from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

#: Risk settings a value of ``off`` (or ``none``) turns off.
_OPTIONAL_RISK = (
    "risk_max_open_positions",
    "risk_max_quantity_per_symbol",
    "risk_daily_loss_limit_pct",
    "risk_max_value_per_symbol_krw",
    "risk_max_symbol_weight_pct",
    "risk_max_order_value_krw",
    "risk_price_collar_pct",
    "risk_max_quote_age_secs",
    "risk_max_orders_per_minute",
    "risk_cooldown_after_failures",
    "risk_max_consecutive_broker_failures",
)


class RiskSettings(BaseModel):
    """The ``RISK_*`` settings (`Settings` has them all)."""

    # Risk limits are positive, or `off` (None) for the optional ones; percentages at most 100.
    risk_max_open_positions: int | None = Field(default=5, gt=0)
    risk_max_quantity_per_symbol: Decimal | None = Field(default=Decimal(1_000), gt=0)
    risk_daily_loss_limit_pct: Decimal | None = Field(default=Decimal(2), gt=0, le=100)
    risk_daily_loss_includes_unrealized: bool = False
    risk_daily_loss_trips_kill_switch: bool = True
    risk_max_value_per_symbol_krw: Decimal | None = Field(default=Decimal(3_000_000), gt=0)
    risk_max_symbol_weight_pct: Decimal | None = Field(default=Decimal(20), gt=0, le=100)
    risk_max_order_value_krw: Decimal | None = Field(default=Decimal(3_000_000), gt=0)
    risk_price_collar_pct: Decimal | None = Field(default=Decimal(5), gt=0, le=100)
    risk_max_quote_age_secs: int | None = Field(default=60, gt=0)
    risk_max_orders_per_minute: int | None = Field(default=10, gt=0)
    risk_cooldown_after_failures: int | None = Field(default=3, gt=0)
    risk_cooldown_secs: int = Field(default=300, gt=0)
    risk_max_consecutive_broker_failures: int | None = Field(default=3, gt=0)

    @field_validator(*_OPTIONAL_RISK, mode="before")
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("off", "none") else value
