"""Risk controls: risk_events, risk limit changes with history, observed (would-be) orders, the kill switch's
requested action.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Same conventions as 0001: final constraint names (``op.f``), plain SQLAlchemy column types (NUMERIC(p, s) and
TIMESTAMPTZ on PostgreSQL, exact decimal text and naive-UTC text on SQLite, JSONB on PostgreSQL). The new
``kill_switch.action`` column and its check are added in batch mode, which SQLite needs to add a constraint
(it copies the one-row table).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(precision: int, scale: int) -> sa.types.TypeEngine[object]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _kill_switch_0001() -> sa.Table:
    # The table as 0001 built it: SQLite's batch copy needs it without reflecting (offline SQL included).
    return sa.Table(
        "kill_switch",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("set_by", sa.String(64), server_default="", nullable=False),
        sa.Column("ts_changed", _UTC, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_kill_switch_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_kill_switch"),
    )


def _kill_switch_0002() -> sa.Table:
    table = _kill_switch_0001()
    table.append_column(sa.Column("action", sa.String(16), server_default="halt", nullable=False))
    table.append_constraint(
        sa.CheckConstraint("action IN ('halt','cancel_open','flatten')", name="ck_kill_switch_action")
    )
    return table


def upgrade() -> None:
    op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts_event", _UTC, nullable=False),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("snapshot", _JSON, nullable=False),
        sa.Column("correlation_id", sa.String(64), server_default="", nullable=False),
        sa.CheckConstraint("decision IN ('DENY','STOP','KILL')", name=op.f("ck_risk_events_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_events")),
    )
    op.create_index(op.f("ix_risk_events_ts"), "risk_events", ["ts_event"])
    op.create_index(op.f("ix_risk_events_rule"), "risk_events", ["rule"])
    op.create_table(
        "risk_limit_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("ts_changed", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_limit_changes")),
    )
    op.create_index(op.f("ix_risk_limit_changes_name"), "risk_limit_changes", ["name", "id"])
    op.create_table(
        "observed_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(8), nullable=False),
        sa.Column("intent", sa.String(8), nullable=False),
        sa.Column("quantity", _decimal(20, 4), nullable=False),
        sa.Column("limit_price", _decimal(20, 4), nullable=True),
        sa.Column("signal_price", _decimal(20, 4), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("correlation_id", sa.String(64), server_default="", nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("ts_observed", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observed_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_observed_orders_idempotency_key")),
    )
    op.create_index(op.f("ix_observed_orders_account_date"), "observed_orders", ["account_id", "trading_date"])
    with op.batch_alter_table("kill_switch", copy_from=_kill_switch_0001()) as batch:
        batch.add_column(sa.Column("action", sa.String(16), server_default="halt", nullable=False))
        batch.create_check_constraint(op.f("ck_kill_switch_action"), "action IN ('halt','cancel_open','flatten')")


def downgrade() -> None:
    with op.batch_alter_table("kill_switch", copy_from=_kill_switch_0002()) as batch:
        batch.drop_constraint(op.f("ck_kill_switch_action"), type_="check")
        batch.drop_column("action")
    op.drop_index(op.f("ix_observed_orders_account_date"), table_name="observed_orders")
    op.drop_table("observed_orders")
    op.drop_index(op.f("ix_risk_limit_changes_name"), table_name="risk_limit_changes")
    op.drop_table("risk_limit_changes")
    op.drop_index(op.f("ix_risk_events_rule"), table_name="risk_events")
    op.drop_index(op.f("ix_risk_events_ts"), table_name="risk_events")
    op.drop_table("risk_events")
