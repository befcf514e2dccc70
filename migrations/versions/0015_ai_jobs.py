"""AI batch jobs: every job run (provider, model, masked prompt and response, tokens, cost, outcome), the trade
journal of each session, and the strategy-parameter drafts with their evidence, validation and who decided
what, when and why.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09

Same conventions as 0001 and 0011: final constraint names (``op.f``), NUMERIC(p, s) and TIMESTAMPTZ on
PostgreSQL (exact decimal text and naive-UTC text on SQLite), JSON documents JSONB on PostgreSQL. The daemon
writes here only to mark an approved draft APPLIED at the open of the first session that uses it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(precision: int, scale: int) -> sa.types.TypeEngine[object]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OUTCOMES = "'RUNNING','OK','PARTIAL','BUDGET_EXCEEDED','FAILED'"
_DRAFT_STATUSES = "'DRAFT','VALIDATED','INVALID','APPROVED','REJECTED','APPLIED'"


def upgrade() -> None:
    op.create_table(
        "ai_job_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("triggered_by", sa.String(16), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("subject_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), server_default="", nullable=False),
        sa.Column("ts_started", _UTC, nullable=False),
        sa.Column("ts_ended", _UTC, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("prompt", sa.Text(), server_default="", nullable=False),
        sa.Column("response", sa.Text(), server_default="", nullable=False),
        sa.Column("input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cost_krw", _decimal(20, 8), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_ai_job_runs_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_job_runs")),
    )
    op.create_index("ix_ai_job_runs_night", "ai_job_runs", ["night"])
    op.create_table(
        "trade_journals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("venue", sa.String(16), nullable=False),
        sa.Column("strategies", _JSON, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("facts", _JSON, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("narrative", sa.Text(), server_default="", nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.CheckConstraint("status IN ('WRITTEN','ANNOUNCED')", name=op.f("ck_trade_journals_status")),
        sa.ForeignKeyConstraint(
            ["job_run_id"], ["ai_job_runs.id"], name=op.f("fk_trade_journals_job_run_id_ai_job_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_journals")),
        sa.UniqueConstraint("account_id", "trading_date", "version", name=op.f("uq_trade_journals_version")),
    )
    op.create_table(
        "strategy_param_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("data_until", sa.Date(), nullable=False),
        sa.Column("base_params", _JSON, nullable=False),
        sa.Column("base_source", sa.String(200), nullable=False),
        sa.Column("proposed_params", _JSON, nullable=False),
        sa.Column("rationale", sa.Text(), server_default="", nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("validation", _JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.Column("ts_validated", _UTC, nullable=True),
        sa.Column("decided_by", sa.String(64), server_default="", nullable=False),
        sa.Column("ts_decided", _UTC, nullable=True),
        sa.Column("decision_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("params_id", sa.Integer(), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("ts_applied", _UTC, nullable=True),
        sa.CheckConstraint(f"status IN ({_DRAFT_STATUSES})", name=op.f("ck_strategy_param_drafts_status")),
        sa.CheckConstraint("origin IN ('optimizer','model')", name=op.f("ck_strategy_param_drafts_origin")),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.strategy_id"], name=op.f("fk_strategy_param_drafts_strategy_id_strategies")
        ),
        sa.ForeignKeyConstraint(
            ["job_run_id"], ["ai_job_runs.id"], name=op.f("fk_strategy_param_drafts_job_run_id_ai_job_runs")
        ),
        sa.ForeignKeyConstraint(
            ["params_id"], ["strategy_params.id"], name=op.f("fk_strategy_param_drafts_params_id_strategy_params")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_param_drafts")),
    )
    op.create_index("ix_strategy_param_drafts_status", "strategy_param_drafts", ["status"])


def downgrade() -> None:
    op.drop_index("ix_strategy_param_drafts_status", table_name="strategy_param_drafts")
    op.drop_table("strategy_param_drafts")
    op.drop_table("trade_journals")
    op.drop_index("ix_ai_job_runs_night", table_name="ai_job_runs")
    op.drop_table("ai_job_runs")
