"""Column types that keep money exact and times aware on both SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(precision, scale)`` on PostgreSQL; text on SQLite, whose NUMERIC would go through float."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 4) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self._precision = precision
        self._scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self._precision, self._scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money and quantities must be Decimal, was {type(value).__name__}")
        if dialect.name == "sqlite":
            # Rounds to the column's scale as PostgreSQL's NUMERIC does (ties away from zero).
            return str(value.quantize(Decimal(1).scaleb(-self._scale), rounding=ROUND_HALF_UP))
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMPTZ`` on PostgreSQL, ISO text on SQLite; refuses naive input and returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime was given for a UTC column: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON everywhere, JSONB on PostgreSQL.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
