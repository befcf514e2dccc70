"""The venue seam: quantities and money to 8 decimal places (crypto), a venue on accounts and instruments,
client order ids, an opaque venue reference instead of the KIS branch, and each fill's trading date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Existing databases keep working: every row so far is of the KRX venue, so fills and checkpoints get the Korean
calendar date of their execution time as their trading date, symbols and accounts the venue ``krx``. The
fills' append-only triggers are lifted for the backfill only and put back as they were.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLS_APPEND_ONLY_MESSAGE = "fills are append-only"

#: Every exact-decimal column: (table, column, old precision, old scale, new precision).
_DECIMALS: tuple[tuple[str, str, int, int, int], ...] = (
    ("market_bars", "open", 20, 4, 28),
    ("market_bars", "high", 20, 4, 28),
    ("market_bars", "low", 20, 4, 28),
    ("market_bars", "close", 20, 4, 28),
    ("market_bars", "volume", 24, 4, 32),
    ("orders", "quantity", 20, 4, 28),
    ("orders", "limit_price", 20, 4, 28),
    ("orders", "signal_price", 20, 4, 28),
    ("orders", "filled_quantity", 20, 4, 28),
    ("orders", "filled_amount_krw", 24, 4, 32),
    ("fills", "quantity", 20, 4, 28),
    ("fills", "price", 20, 4, 28),
    ("fills", "commission_krw", 24, 4, 32),
    ("fills", "tax_krw", 24, 4, 32),
    ("positions", "quantity", 20, 4, 28),
    ("positions", "avg_price", 20, 4, 28),
    ("positions", "realized_pnl_krw", 24, 4, 32),
    ("positions", "commission_krw", 24, 4, 32),
    ("positions", "tax_krw", 24, 4, 32),
    ("position_snapshots", "quantity", 20, 4, 28),
    ("position_snapshots", "avg_price", 20, 4, 28),
    ("position_snapshots", "close_price", 20, 4, 28),
    ("position_snapshots", "market_value_krw", 24, 4, 32),
    ("position_snapshots", "unrealized_pnl_krw", 24, 4, 32),
    ("position_snapshots", "realized_pnl_krw", 24, 4, 32),
    ("daily_settlements", "start_equity_krw", 24, 4, 32),
    ("daily_settlements", "end_equity_krw", 24, 4, 32),
    ("daily_settlements", "cash_krw", 24, 4, 32),
    ("daily_settlements", "realized_pnl_krw", 24, 4, 32),
    ("daily_settlements", "unrealized_pnl_krw", 24, 4, 32),
    ("daily_settlements", "commission_krw", 24, 4, 32),
    ("daily_settlements", "tax_krw", 24, 4, 32),
    ("daemon_state", "start_equity_krw", 24, 4, 32),
    ("observed_orders", "quantity", 20, 4, 28),
    ("observed_orders", "limit_price", 20, 4, 28),
    ("observed_orders", "signal_price", 20, 4, 28),
    ("position_checkpoints", "quantity", 20, 4, 28),
    ("position_checkpoints", "avg_price", 20, 4, 28),
    ("position_checkpoints", "realized_pnl_krw", 24, 4, 32),
    ("position_checkpoints", "commission_krw", 24, 4, 32),
    ("position_checkpoints", "tax_krw", 24, 4, 32),
)

_UTC = sa.DateTime(timezone=True)


def _text_decimal() -> sa.types.TypeEngine[object]:
    return sa.String(40)  # how SQLite keeps exact decimals


def _orders_0003(metadata: sa.MetaData) -> sa.Table:
    # The tables as 0001-0003 built them on SQLite: the batch copy needs them without reflecting (offline SQL).
    statuses = "'NEW','SENT','PARTIAL','FILLED','CANCELED','REJECTED'"
    return sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(8), nullable=False),
        sa.Column("intent", sa.String(8), nullable=False),
        sa.Column("quantity", _text_decimal(), nullable=False),
        sa.Column("limit_price", _text_decimal(), nullable=True),
        sa.Column("signal_price", _text_decimal(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("status_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("correlation_id", sa.String(64), server_default="", nullable=False),
        sa.Column("broker_order_number", sa.String(32), nullable=True),
        sa.Column("broker_branch", sa.String(16), server_default="", nullable=False),
        sa.Column("filled_quantity", _text_decimal(), nullable=False),
        sa.Column("filled_amount_krw", _text_decimal(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.Column("ts_sent", _UTC, nullable=True),
        sa.Column("ts_partial", _UTC, nullable=True),
        sa.Column("ts_filled", _UTC, nullable=True),
        sa.Column("ts_canceled", _UTC, nullable=True),
        sa.Column("ts_rejected", _UTC, nullable=True),
        sa.Column("ts_updated", _UTC, nullable=False),
        sa.CheckConstraint(f"status IN ({statuses})", name="ck_orders_status"),
        sa.CheckConstraint("side IN ('BUY','SELL')", name="ck_orders_side"),
        sa.CheckConstraint("order_type IN ('LIMIT','MARKET')", name="ck_orders_order_type"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("idempotency_key", name="uq_orders_idempotency_key"),
        sa.Index("ix_orders_account_status", "account_id", "status"),
        sa.Index("ix_orders_account_broker_number", "account_id", "broker_order_number"),
        sa.Index("ix_orders_account_date", "account_id", "trading_date"),
    )


def _fills_with_trading_date(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "fills",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broker_fill_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("broker_order_number", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", _text_decimal(), nullable=False),
        sa.Column("price", _text_decimal(), nullable=False),
        sa.Column("commission_krw", _text_decimal(), nullable=False),
        sa.Column("tax_krw", _text_decimal(), nullable=False),
        sa.Column("ts_filled", _UTC, nullable=False),
        sa.Column("ts_recorded", _UTC, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=True),
        sa.CheckConstraint("side IN ('BUY','SELL')", name="ck_fills_side"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_fills_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("broker_fill_id", name="uq_fills_broker_fill_id"),
        sa.Index("ix_fills_account_ts", "account_id", "ts_filled"),
        sa.Index("ix_fills_order", "order_id"),
    )


def _checkpoints_with_trading_date(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "position_checkpoints",
        metadata,
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(12), nullable=False),
        sa.Column("quantity", _text_decimal(), nullable=False),
        sa.Column("avg_price", _text_decimal(), nullable=False),
        sa.Column("realized_pnl_krw", _text_decimal(), nullable=False),
        sa.Column("commission_krw", _text_decimal(), nullable=False),
        sa.Column("tax_krw", _text_decimal(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("through_fill_id", sa.Integer(), nullable=False),
        sa.Column("last_ts_filled", _UTC, nullable=False),
        sa.Column("last_broker_fill_id", sa.String(64), nullable=False),
        sa.Column("ts_created", _UTC, nullable=False),
        sa.Column("last_trading_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "symbol", name="pk_position_checkpoints"),
    )


def _batch(table: str, copy_from: sa.Table):
    # SQLite rebuilds the table from `copy_from`; PostgreSQL alters it in place.
    return op.batch_alter_table(table, copy_from=copy_from if _sqlite() else None)


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _kst_date(column: str) -> str:
    # The Korean calendar date of a UTC timestamp column, as SQL of each dialect.
    if _sqlite():
        return f"date({column}, '+9 hours')"
    return f"({column} AT TIME ZONE 'Asia/Seoul')::date"


def _drop_fill_triggers() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS fills_no_update")
        op.execute("DROP TRIGGER IF EXISTS fills_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS fills_no_update_delete ON fills")
        op.execute("DROP TRIGGER IF EXISTS fills_no_truncate ON fills")


def _create_fill_triggers() -> None:
    if _sqlite():
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER fills_no_{verb.lower()} BEFORE {verb} ON fills
BEGIN
    SELECT RAISE(ABORT, '{FILLS_APPEND_ONLY_MESSAGE} ({verb} refused)');
END""")
    else:
        op.execute("""CREATE TRIGGER fills_no_update_delete BEFORE UPDATE OR DELETE ON fills
    FOR EACH ROW EXECUTE FUNCTION fills_append_only()""")
        op.execute("""CREATE TRIGGER fills_no_truncate BEFORE TRUNCATE ON fills
    FOR EACH STATEMENT EXECUTE FUNCTION fills_append_only()""")


def _widen_decimals(new: bool) -> None:
    if _sqlite():
        return  # exact decimal text on SQLite: the scale is applied when values are written
    for table, column, old_precision, old_scale, new_precision in _DECIMALS:
        target = sa.Numeric(new_precision, 8) if new else sa.Numeric(old_precision, old_scale)
        op.alter_column(table, column, type_=target, existing_nullable=True)


def upgrade() -> None:
    _widen_decimals(new=True)

    # Fills: their trading date (every existing fill is of KRX: the Korean calendar date of its execution).
    _drop_fill_triggers()
    op.add_column("fills", sa.Column("trading_date", sa.Date(), nullable=True))
    op.execute(f"UPDATE fills SET trading_date = {_kst_date('ts_filled')}")
    tables_0003 = sa.MetaData()
    orders_0003 = _orders_0003(tables_0003)
    with _batch("fills", _fills_with_trading_date(tables_0003)) as batch:
        batch.alter_column("trading_date", existing_type=sa.Date(), nullable=False)
    op.create_index("ix_fills_account_date", "fills", ["account_id", "trading_date"])
    _create_fill_triggers()

    op.add_column("position_checkpoints", sa.Column("last_trading_date", sa.Date(), nullable=True))
    op.execute(f"UPDATE position_checkpoints SET last_trading_date = {_kst_date('last_ts_filled')}")
    with _batch("position_checkpoints", _checkpoints_with_trading_date(tables_0003)) as batch:
        batch.alter_column("last_trading_date", existing_type=sa.Date(), nullable=False)

    # Orders: an opaque venue reference (was the KIS branch) and our client order id.
    with _batch("orders", orders_0003) as batch:
        batch.alter_column(
            "broker_branch",
            new_column_name="venue_order_ref",
            existing_type=sa.String(16),
            type_=sa.String(64),
            existing_nullable=False,
            existing_server_default="",
        )
        batch.add_column(sa.Column("client_order_id", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_orders_account_client_order_id", ["account_id", "client_order_id"])

    # A venue on instruments and accounts.
    op.add_column("symbols", sa.Column("venue", sa.String(16), nullable=False, server_default="krx"))
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("venue", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("name", sa.String(100), server_default="", nullable=False),
        sa.Column("ts_first_seen", _UTC, nullable=False),
        sa.Column("ts_last_seen", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
    )
    op.execute(
        "INSERT INTO accounts (account_id, venue, mode, name, ts_first_seen, ts_last_seen) "
        "SELECT account_id, 'krx', mode, '', ts_started, ts_heartbeat FROM daemon_state"
    )


def downgrade() -> None:
    op.drop_table("accounts")
    with op.batch_alter_table("symbols") as batch:
        batch.drop_column("venue")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_account_client_order_id", type_="unique")
        batch.drop_column("client_order_id")
        batch.alter_column(
            "venue_order_ref",
            new_column_name="broker_branch",
            existing_type=sa.String(64),
            type_=sa.String(16),
            existing_nullable=False,
            existing_server_default="",
        )
    with op.batch_alter_table("position_checkpoints") as batch:
        batch.drop_column("last_trading_date")
    _drop_fill_triggers()
    op.drop_index("ix_fills_account_date", table_name="fills")
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("trading_date")
    _create_fill_triggers()
    _widen_decimals(new=False)
