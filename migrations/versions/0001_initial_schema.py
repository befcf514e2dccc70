"""Initial schema: every table of tables.py, and append-only enforcement on fills.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Constraint and index names are final (``op.f``): they already are what the naming convention of
``tables.metadata`` gives. Column types are plain SQLAlchemy types, so this revision never changes when the
application's types do: money and quantities are NUMERIC(p, s) on PostgreSQL and exact decimal text on
SQLite (as ``types.ExactDecimal``); times are TIMESTAMPTZ on PostgreSQL and naive-UTC text on SQLite (as
``types.UtcDateTime``); JSON documents are JSONB on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(precision: int, scale: int) -> sa.types.TypeEngine[object]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


_UTC = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_ORDER_STATUSES = "'NEW','SENT','PARTIAL','FILLED','CANCELED','REJECTED'"

# -- APPEND-ONLY FILLS --------------------------------------------------------------------------------

FILLS_APPEND_ONLY_MESSAGE = "fills is append-only: a recorded fill cannot be updated or deleted"

SQLITE_FILLS_TRIGGERS = (
    f"""CREATE TRIGGER fills_no_update BEFORE UPDATE ON fills
BEGIN
    SELECT RAISE(ABORT, '{FILLS_APPEND_ONLY_MESSAGE} (UPDATE refused)');
END""",
    f"""CREATE TRIGGER fills_no_delete BEFORE DELETE ON fills
BEGIN
    SELECT RAISE(ABORT, '{FILLS_APPEND_ONLY_MESSAGE} (DELETE refused)');
END""",
)

POSTGRES_FILLS_TRIGGERS = (
    f"""CREATE FUNCTION fills_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{FILLS_APPEND_ONLY_MESSAGE} (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$""",
    """CREATE TRIGGER fills_no_update_delete BEFORE UPDATE OR DELETE ON fills
    FOR EACH ROW EXECUTE FUNCTION fills_append_only()""",
    """CREATE TRIGGER fills_no_truncate BEFORE TRUNCATE ON fills
    FOR EACH STATEMENT EXECUTE FUNCTION fills_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "strategies",
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", name=op.f("pk_strategies")),
    )
    op.create_table(
        "strategy_params",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("source", sa.String(200), server_default="", nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.CheckConstraint("status IN ('DRAFT','ACTIVE','RETIRED')", name=op.f("ck_strategy_params_status")),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.strategy_id"], name=op.f("fk_strategy_params_strategy_id_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_params")),
        sa.UniqueConstraint("strategy_id", "effective_date", "version", name=op.f("uq_strategy_params_version")),
    )
    op.create_table(
        "symbols",
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("market", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ts_updated", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_symbols")),
    )
    op.create_table(
        "market_bars",
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("ts_bar", _UTC, nullable=False),
        sa.Column("open", _decimal(20, 4), nullable=False),
        sa.Column("high", _decimal(20, 4), nullable=False),
        sa.Column("low", _decimal(20, 4), nullable=False),
        sa.Column("close", _decimal(20, 4), nullable=False),
        sa.Column("volume", _decimal(24, 4), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "ts_bar", name=op.f("pk_market_bars")),
    )
    op.create_table(
        "orders",
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
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("status_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("correlation_id", sa.String(64), server_default="", nullable=False),
        sa.Column("broker_order_number", sa.String(32), nullable=True),
        sa.Column("broker_branch", sa.String(16), server_default="", nullable=False),
        sa.Column("filled_quantity", _decimal(20, 4), nullable=False),
        sa.Column("filled_amount_krw", _decimal(24, 4), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.Column("ts_sent", _UTC, nullable=True),
        sa.Column("ts_partial", _UTC, nullable=True),
        sa.Column("ts_filled", _UTC, nullable=True),
        sa.Column("ts_canceled", _UTC, nullable=True),
        sa.Column("ts_rejected", _UTC, nullable=True),
        sa.Column("ts_updated", _UTC, nullable=False),
        sa.CheckConstraint(f"status IN ({_ORDER_STATUSES})", name=op.f("ck_orders_status")),
        sa.CheckConstraint("side IN ('BUY','SELL')", name=op.f("ck_orders_side")),
        sa.CheckConstraint("order_type IN ('LIMIT','MARKET')", name=op.f("ck_orders_order_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_orders_idempotency_key")),
    )
    op.create_index(op.f("ix_orders_account_status"), "orders", ["account_id", "status"])
    op.create_index(op.f("ix_orders_account_broker_number"), "orders", ["account_id", "broker_order_number"])
    op.create_index(op.f("ix_orders_account_date"), "orders", ["account_id", "trading_date"])
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broker_fill_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("broker_order_number", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", _decimal(20, 4), nullable=False),
        sa.Column("price", _decimal(20, 4), nullable=False),
        sa.Column("commission_krw", _decimal(24, 4), nullable=False),
        sa.Column("tax_krw", _decimal(24, 4), nullable=False),
        sa.Column("ts_filled", _UTC, nullable=False),
        sa.Column("ts_recorded", _UTC, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.CheckConstraint("side IN ('BUY','SELL')", name=op.f("ck_fills_side")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("broker_fill_id", name=op.f("uq_fills_broker_fill_id")),
    )
    op.create_index(op.f("ix_fills_account_ts"), "fills", ["account_id", "ts_filled"])
    op.create_index(op.f("ix_fills_order"), "fills", ["order_id"])
    op.create_table(
        "positions",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("quantity", _decimal(20, 4), nullable=False),
        sa.Column("avg_price", _decimal(20, 4), nullable=False),
        sa.Column("realized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("commission_krw", _decimal(24, 4), nullable=False),
        sa.Column("tax_krw", _decimal(24, 4), nullable=False),
        sa.Column("ts_updated", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_positions")),
    )
    op.create_table(
        "position_snapshots",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("quantity", _decimal(20, 4), nullable=False),
        sa.Column("avg_price", _decimal(20, 4), nullable=False),
        sa.Column("close_price", _decimal(20, 4), nullable=False),
        sa.Column("market_value_krw", _decimal(24, 4), nullable=False),
        sa.Column("unrealized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("realized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "trading_date", "symbol", name=op.f("pk_position_snapshots")),
    )
    op.create_table(
        "daily_settlements",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("start_equity_krw", _decimal(24, 4), nullable=False),
        sa.Column("end_equity_krw", _decimal(24, 4), nullable=False),
        sa.Column("cash_krw", _decimal(24, 4), nullable=False),
        sa.Column("realized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("unrealized_pnl_krw", _decimal(24, 4), nullable=False),
        sa.Column("commission_krw", _decimal(24, 4), nullable=False),
        sa.Column("tax_krw", _decimal(24, 4), nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("fills_count", sa.Integer(), nullable=False),
        sa.Column("return_pct", _decimal(20, 6), nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "trading_date", name=op.f("pk_daily_settlements")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts_event", _UTC, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("correlation_id", sa.String(64), server_default="", nullable=False),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_ts"), "events", ["ts_event"])
    op.create_index(op.f("ix_events_kind"), "events", ["kind"])
    op.create_table(
        "kill_switch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("set_by", sa.String(64), server_default="", nullable=False),
        sa.Column("ts_changed", _UTC, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_kill_switch_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kill_switch")),
    )
    op.create_table(
        "daemon_state",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("trading_state", sa.String(10), nullable=False),
        sa.Column("stop_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=True),
        sa.Column("start_equity_krw", _decimal(24, 4), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("ts_started", _UTC, nullable=False),
        sa.Column("ts_heartbeat", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_daemon_state")),
    )
    op.create_table(
        "recovery_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.Column("ts_started", _UTC, nullable=False),
        sa.Column("ts_finished", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_logs")),
    )
    triggers = SQLITE_FILLS_TRIGGERS if op.get_context().dialect.name == "sqlite" else POSTGRES_FILLS_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER fills_no_delete")
        op.execute("DROP TRIGGER fills_no_update")
    else:
        op.execute("DROP TRIGGER fills_no_truncate ON fills")
        op.execute("DROP TRIGGER fills_no_update_delete ON fills")
        op.execute("DROP FUNCTION fills_append_only()")
    for table in (
        "recovery_logs",
        "daemon_state",
        "kill_switch",
        "events",
        "daily_settlements",
        "position_snapshots",
        "positions",
        "fills",
        "orders",
        "market_bars",
        "symbols",
        "strategy_params",
        "strategies",
    ):
        op.drop_table(table)
