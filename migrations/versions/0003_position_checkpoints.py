"""Position checkpoints: each close stores the positions folded from every fill so far, and the point reached,
so a restart folds only the fills recorded after it (recovery time with a long history).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Same conventions as 0001: final constraint names (``op.f``), plain SQLAlchemy column types (NUMERIC(p, s) and
TIMESTAMPTZ on PostgreSQL, exact decimal text and naive-UTC text on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(precision: int, scale: int) -> sa.types.TypeEngine[object]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "position_checkpoints",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("quantity", _decimal(20, 4), nullable=False),
        sa.Column("avg_price", _decimal(20, 4), nullable=False),
        sa.Column("realized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("commission_krw", _decimal(24, 4), nullable=False),
        sa.Column("tax_krw", _decimal(24, 4), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("through_fill_id", sa.Integer(), nullable=False),
        sa.Column("last_ts_filled", _UTC, nullable=False),
        sa.Column("last_broker_fill_id", sa.String(64), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_position_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("position_checkpoints")
