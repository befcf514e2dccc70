"""What Upbit needs of the columns: fees and taxes to 12 decimal places, and order numbers of 36 characters.

A venue's fee is its rate times the traded amount, exactly as the venue reports it (Upbit's ``paid_fee``
"0.51024117855": 0.05 % of an amount with 8 decimals needs 12), so the fees of fills, positions, settlements and
checkpoints are kept without rounding. Upbit's order numbers are uuids (36 characters): the venue order number of
orders and fills widens from 32 to 64 characters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

On SQLite the columns are exact decimal text already; only the scale applied when values are written changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column): every fee and tax column.
_FEES: tuple[tuple[str, str], ...] = tuple(
    (table, column)
    for table in ("fills", "positions", "daily_settlements", "position_checkpoints", "backtest_fills")
    for column in ("commission_krw", "tax_krw")
)


#: (table, nullable): the venue order number columns.
_ORDER_NUMBERS: tuple[tuple[str, bool], ...] = (("orders", True), ("fills", False))


def _alter(precision: int, scale: int, number_chars: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # exact decimal text and unbounded text on SQLite: nothing to change
    for table, column in _FEES:
        op.alter_column(table, column, type_=sa.Numeric(precision, scale), existing_nullable=False)
    for table, nullable in _ORDER_NUMBERS:
        op.alter_column(table, "broker_order_number", type_=sa.String(number_chars), existing_nullable=nullable)


def upgrade() -> None:
    _alter(36, 12, 64)


def downgrade() -> None:
    _alter(32, 8, 32)
