"""Research runs: a backtest, an optimisation or a divergence report kept by name (``--record``), the fills
of a backtest, and every trial of an optimisation with its in-sample and out-of-sample figures.

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-02

Same conventions as 0001: final constraint names (``op.f``), plain SQLAlchemy column types (NUMERIC(p, s) and
TIMESTAMPTZ on PostgreSQL, exact decimal text and naive-UTC text on SQLite), JSON documents JSONB on
PostgreSQL. Nothing here is read by the daemon.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(precision: int, scale: int) -> sa.types.TypeEngine[object]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("symbols", _JSON, nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("config", _JSON, nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.CheckConstraint("kind IN ('BACKTEST','OPTIMIZE','DIVERGENCE')", name=op.f("ck_backtest_runs_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
    )
    op.create_index(op.f("ix_backtest_runs_name"), "backtest_runs", ["name"])
    op.create_table(
        "backtest_fills",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("ts_filled", _UTC, nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("intent", sa.String(8), nullable=False),
        sa.Column("quantity", _decimal(28, 8), nullable=False),
        sa.Column("price", _decimal(28, 8), nullable=False),
        sa.Column("commission_krw", _decimal(32, 8), nullable=False),
        sa.Column("tax_krw", _decimal(32, 8), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["backtest_runs.id"], name=op.f("fk_backtest_fills_run_id_backtest_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_backtest_fills")),
    )
    op.create_table(
        "optimize_trials",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("window_index", sa.Integer(), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("in_sample", _JSON, nullable=False),
        sa.Column("out_of_sample", _JSON, nullable=False),
        sa.Column("objective_in_sample", _decimal(32, 8), nullable=True),
        sa.Column("objective_out_of_sample", _decimal(32, 8), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["backtest_runs.id"], name=op.f("fk_optimize_trials_run_id_backtest_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "window_index", "trial", name=op.f("pk_optimize_trials")),
    )


def downgrade() -> None:
    op.drop_table("optimize_trials")
    op.drop_table("backtest_fills")
    op.drop_index(op.f("ix_backtest_runs_name"), table_name="backtest_runs")
    op.drop_table("backtest_runs")
