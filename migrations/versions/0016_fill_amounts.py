"""The exact executed amount of a fill where quantity × price cannot carry it.

A venue that reports only an order's totals (KIS ``inquire-daily-ccld``: ``tot_ccld_qty`` and
``tot_ccld_amt``, with ``avg_prvs`` an integer) gives fills whose price is the amount divided by the quantity,
which has no finite decimal form in general (1,893,200 KRW for 28 shares). Such a fill keeps its price rounded
to the column's 8 decimal places and its exact amount in ``fills.amount_krw``; the column is NULL where quantity
× price is the amount (every fill reported with its own price).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Same conventions as 0001: NUMERIC(p, s) on PostgreSQL, exact decimal text on SQLite. Adding a nullable column
touches no row, so the append-only triggers of ``fills`` are not involved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    amount = sa.Numeric(36, 12).with_variant(sa.String(40), "sqlite")
    op.add_column("fills", sa.Column("amount_krw", amount, nullable=True))


def downgrade() -> None:
    op.drop_column("fills", "amount_krw")
