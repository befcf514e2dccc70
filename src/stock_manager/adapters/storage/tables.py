"""Every table of the schema, as SQLAlchemy Core; Alembic migrations build the real schema from history.

The single reference for the DDL is ai_developer_guides/DB_SCHEMA_DDL.md, generated from the schema that
``alembic upgrade head`` builds (spec 000 §4, 001 §7). Money and quantities are exact decimals with 8
decimal places (KRW; shares or coins); times are aware UTC.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from stock_manager.adapters.storage.ai_tables import ai_tables
from stock_manager.adapters.storage.types import ExactDecimal, JsonDocument, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ORDER_STATUSES = "'NEW','SENT','PARTIAL','FILLED','CANCELED','REJECTED'"

strategies = Table(
    "strategies",
    metadata,
    Column("strategy_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("ts_created", UtcDateTime, nullable=False),
)

strategy_params = Table(
    "strategy_params",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("strategy_id", String(64), ForeignKey("strategies.strategy_id"), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", String(16), nullable=False),  # DRAFT | ACTIVE | RETIRED
    Column("params", JsonDocument, nullable=False),
    Column("source", String(200), nullable=False, server_default=""),
    Column("ts_created", UtcDateTime, nullable=False),
    UniqueConstraint("strategy_id", "effective_date", "version", name="uq_strategy_params_version"),
    CheckConstraint("status IN ('DRAFT','ACTIVE','RETIRED')", name="status"),
)

symbols = Table(
    "symbols",
    metadata,
    Column("symbol", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("market", String(16), nullable=False),  # KOSPI | KOSDAQ | KRW
    Column("kind", String(8), nullable=False),  # STOCK | ETF | CRYPTO
    Column("ts_updated", UtcDateTime, nullable=False),
    Column("venue", String(16), nullable=False, server_default="krx"),  # (0004)
)

# -- ACCOUNTS (revision 0004) ----------------------------------------------------------------------------

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("venue", String(16), nullable=False),  # krx | upbit
    Column("mode", String(8), nullable=False),
    Column("name", String(100), nullable=False, server_default=""),
    Column("ts_first_seen", UtcDateTime, nullable=False),
    Column("ts_last_seen", UtcDateTime, nullable=False),
)

market_bars = Table(
    "market_bars",
    metadata,
    Column("symbol", String(12), primary_key=True),
    Column("interval", String(8), primary_key=True),  # "1d"
    Column("ts_bar", UtcDateTime, primary_key=True),  # bar open, UTC
    Column("open", ExactDecimal(28, 8), nullable=False),
    Column("high", ExactDecimal(28, 8), nullable=False),
    Column("low", ExactDecimal(28, 8), nullable=False),
    Column("close", ExactDecimal(28, 8), nullable=False),
    Column("volume", ExactDecimal(32, 8), nullable=False),
    Column("source", String(100), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("strategy_id", String(64), nullable=False),
    Column("symbol", String(12), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("intent", String(8), nullable=False),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("limit_price", ExactDecimal(28, 8)),
    Column("signal_price", ExactDecimal(28, 8)),
    Column("status", String(10), nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default=""),
    Column("correlation_id", String(64), nullable=False, server_default=""),
    Column("broker_order_number", String(64)),  # 64 characters (0012: Upbit's uuids)
    Column("venue_order_ref", String(64), nullable=False, server_default=""),  # (0004: was broker_branch)
    Column("filled_quantity", ExactDecimal(28, 8), nullable=False),
    Column("filled_amount_krw", ExactDecimal(32, 8), nullable=False),
    Column("trading_date", Date, nullable=False),
    Column("ts_created", UtcDateTime, nullable=False),
    Column("ts_sent", UtcDateTime),
    Column("ts_partial", UtcDateTime),
    Column("ts_filled", UtcDateTime),
    Column("ts_canceled", UtcDateTime),
    Column("ts_rejected", UtcDateTime),
    Column("ts_updated", UtcDateTime, nullable=False),
    Column("client_order_id", String(64)),  # our id at venues that take one (0004)
    CheckConstraint(f"status IN ({ORDER_STATUSES})", name="status"),
    CheckConstraint("side IN ('BUY','SELL')", name="side"),
    CheckConstraint("order_type IN ('LIMIT','MARKET')", name="order_type"),
    Index("ix_orders_account_status", "account_id", "status"),
    Index("ix_orders_account_broker_number", "account_id", "broker_order_number"),
    Index("ix_orders_account_date", "account_id", "trading_date"),
    UniqueConstraint("account_id", "client_order_id", name="uq_orders_account_client_order_id"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("broker_fill_id", String(64), nullable=False, unique=True),
    Column("order_id", Integer, ForeignKey("orders.id")),  # NULL: an external fill (order not ours)
    Column("account_id", String(32), nullable=False),
    Column("broker_order_number", String(64), nullable=False),
    Column("symbol", String(12), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("price", ExactDecimal(28, 8), nullable=False),
    Column("commission_krw", ExactDecimal(36, 12), nullable=False),  # 12 decimals (0012)
    Column("tax_krw", ExactDecimal(36, 12), nullable=False),
    Column("ts_filled", UtcDateTime, nullable=False),
    Column("ts_recorded", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # notice | recovery
    Column("trading_date", Date, nullable=False),  # the venue's trading date of the execution (0004)
    # The exact executed amount where quantity × price cannot carry it (fills from an order's totals), else
    # NULL (0016).
    Column("amount_krw", ExactDecimal(36, 12), nullable=True),
    CheckConstraint("side IN ('BUY','SELL')", name="side"),
    Index("ix_fills_account_ts", "account_id", "ts_filled"),
    Index("ix_fills_order", "order_id"),
    Index("ix_fills_account_date", "account_id", "trading_date"),
)

positions = Table(
    "positions",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("symbol", String(12), primary_key=True),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("avg_price", ExactDecimal(28, 8), nullable=False),
    Column("realized_pnl_krw", ExactDecimal(32, 8), nullable=False),
    Column("commission_krw", ExactDecimal(36, 12), nullable=False),  # 12 decimals (0012)
    Column("tax_krw", ExactDecimal(36, 12), nullable=False),
    Column("ts_updated", UtcDateTime, nullable=False),
)

position_snapshots = Table(
    "position_snapshots",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("trading_date", Date, primary_key=True),
    Column("symbol", String(12), primary_key=True),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("avg_price", ExactDecimal(28, 8), nullable=False),
    Column("close_price", ExactDecimal(28, 8), nullable=False),
    Column("market_value_krw", ExactDecimal(32, 8), nullable=False),
    Column("unrealized_pnl_krw", ExactDecimal(32, 8), nullable=False),
    Column("realized_pnl_krw", ExactDecimal(32, 8), nullable=False),
    Column("ts_created", UtcDateTime, nullable=False),
)

daily_settlements = Table(
    "daily_settlements",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("trading_date", Date, primary_key=True),
    Column("mode", String(8), nullable=False),
    Column("start_equity_krw", ExactDecimal(32, 8), nullable=False),
    Column("end_equity_krw", ExactDecimal(32, 8), nullable=False),
    Column("cash_krw", ExactDecimal(32, 8), nullable=False),
    Column("realized_pnl_krw", ExactDecimal(32, 8), nullable=False),  # gross, before costs
    Column("unrealized_pnl_krw", ExactDecimal(32, 8), nullable=False),
    Column("commission_krw", ExactDecimal(36, 12), nullable=False),  # 12 decimals (0012)
    Column("tax_krw", ExactDecimal(36, 12), nullable=False),
    Column("orders_count", Integer, nullable=False),
    Column("fills_count", Integer, nullable=False),
    Column("return_pct", ExactDecimal(20, 6), nullable=False),
    Column("summary", JsonDocument, nullable=False),
    Column("ts_created", UtcDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts_event", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(10), nullable=False),  # DEBUG | INFO | WARNING | ERROR | CRITICAL
    Column("message", Text, nullable=False),
    Column("payload", JsonDocument, nullable=False),
    Column("correlation_id", String(64), nullable=False, server_default=""),
    Column("account_id", String(32)),
    Index("ix_events_ts", "ts_event"),
    Index("ix_events_kind", "kind"),
)

kill_switch = Table(
    "kill_switch",
    metadata,
    Column("scope", String(16), primary_key=True),  # * (every daemon) or a venue: krx, upbit (0014)
    Column("active", Boolean, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("set_by", String(64), nullable=False, server_default=""),
    Column("ts_changed", UtcDateTime, nullable=False),
    Column("action", String(16), nullable=False, server_default="halt"),  # halt | cancel_open | flatten (0002)
    CheckConstraint("action IN ('halt','cancel_open','flatten')", name="action"),
    CheckConstraint("scope IN ('*','krx','upbit')", name="scope"),
)

daemon_state = Table(
    "daemon_state",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("mode", String(8), nullable=False),
    Column("trading_state", String(10), nullable=False),  # STARTING|WAITING|TRADING|STOPPED|CLOSED|EXITED
    Column("stop_reason", Text, nullable=False, server_default=""),
    Column("trading_date", Date),
    Column("start_equity_krw", ExactDecimal(32, 8)),
    Column("pid", Integer),
    Column("ts_started", UtcDateTime, nullable=False),
    Column("ts_heartbeat", UtcDateTime, nullable=False),
    Column("ts_next_session", UtcDateTime),  # WAITING: when the next session's first order phase begins (0017)
)

recovery_logs = Table(
    "recovery_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(32), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False),  # CLEAN | CORRECTED | FAILED
    Column("summary", JsonDocument, nullable=False),
    Column("ts_started", UtcDateTime, nullable=False),
    Column("ts_finished", UtcDateTime, nullable=False),
)

# -- RISK CONTROLS (revision 0002) -----------------------------------------------------------------------

risk_events = Table(
    "risk_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts_event", UtcDateTime, nullable=False),
    Column("account_id", String(32)),
    Column("rule", String(64), nullable=False),
    Column("decision", String(8), nullable=False),  # DENY | STOP | KILL
    Column("symbol", String(12)),
    Column("message", Text, nullable=False),
    Column("snapshot", JsonDocument, nullable=False),  # the proposal and the state the rule saw
    Column("correlation_id", String(64), nullable=False, server_default=""),
    CheckConstraint("decision IN ('DENY','STOP','KILL')", name="decision"),
    Index("ix_risk_events_ts", "ts_event"),
    Index("ix_risk_events_rule", "rule"),
)

risk_limit_changes = Table(
    "risk_limit_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),  # a RiskLimits field
    Column("old_value", Text),  # the effective value before the change (text; NULL: the rule was off)
    Column("new_value", Text),  # NULL: the rule is off
    Column("changed_by", String(64), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("ts_changed", UtcDateTime, nullable=False),
    Index("ix_risk_limit_changes_name", "name", "id"),
)

observed_orders = Table(
    "observed_orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("strategy_id", String(64), nullable=False),
    Column("symbol", String(12), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("intent", String(8), nullable=False),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("limit_price", ExactDecimal(28, 8)),
    Column("signal_price", ExactDecimal(28, 8)),
    Column("reason", Text, nullable=False, server_default=""),
    Column("correlation_id", String(64), nullable=False, server_default=""),
    Column("trading_date", Date, nullable=False),
    Column("ts_observed", UtcDateTime, nullable=False),
    Index("ix_observed_orders_account_date", "account_id", "trading_date"),
)

# -- POSITION CHECKPOINTS (revision 0003) ----------------------------------------------------------------

position_checkpoints = Table(
    "position_checkpoints",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("symbol", String(12), primary_key=True),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("avg_price", ExactDecimal(28, 8), nullable=False),
    Column("realized_pnl_krw", ExactDecimal(32, 8), nullable=False),
    Column("commission_krw", ExactDecimal(36, 12), nullable=False),  # 12 decimals (0012)
    Column("tax_krw", ExactDecimal(36, 12), nullable=False),
    # The point the fold reached, the same on every row of the account:
    Column("trading_date", Date, nullable=False),  # the session whose close wrote it
    Column("through_fill_id", Integer, nullable=False),  # every fill of the account with id <= this is in
    Column("last_ts_filled", UtcDateTime, nullable=False),  # the last of them in execution order
    Column("last_broker_fill_id", String(64), nullable=False),
    Column("ts_created", UtcDateTime, nullable=False),
    Column("last_trading_date", Date, nullable=False),  # that fill's trading date (0004)
)

# -- RESEARCH (0011): kept by `stockbot backtest|optimize|divergence --record`; never read by the daemon --------

backtest_runs = Table(
    "backtest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # BACKTEST | OPTIMIZE | DIVERGENCE
    Column("strategy_id", String(64), nullable=False),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("symbols", JsonDocument, nullable=False),
    Column("params", JsonDocument, nullable=False),
    Column("config", JsonDocument, nullable=False),
    Column("summary", JsonDocument, nullable=False),
    Column("ts_created", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('BACKTEST','OPTIMIZE','DIVERGENCE')", name="kind"),
)

backtest_fills = Table(
    "backtest_fills",
    metadata,
    Column("run_id", Integer, ForeignKey("backtest_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("trading_date", Date, nullable=False),
    Column("ts_filled", UtcDateTime, nullable=False),
    Column("symbol", String(12), nullable=False),
    Column("side", String(4), nullable=False),
    Column("intent", String(8), nullable=False),
    Column("quantity", ExactDecimal(28, 8), nullable=False),
    Column("price", ExactDecimal(28, 8), nullable=False),
    Column("commission_krw", ExactDecimal(36, 12), nullable=False),  # 12 decimals (0012)
    Column("tax_krw", ExactDecimal(36, 12), nullable=False),
)

optimize_trials = Table(
    "optimize_trials",
    metadata,
    Column("run_id", Integer, ForeignKey("backtest_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("window_index", Integer, primary_key=True),
    Column("trial", Integer, primary_key=True),
    Column("params", JsonDocument, nullable=False),
    Column("in_sample", JsonDocument, nullable=False),
    Column("out_of_sample", JsonDocument, nullable=False),
    Column("objective_in_sample", ExactDecimal(32, 8), nullable=True),
    Column("objective_out_of_sample", ExactDecimal(32, 8), nullable=True),
)


# -- AI BATCH JOBS (0015): outside the trading path (defined in `ai_tables`) ---------------------------------

ai_job_runs, trade_journals, strategy_param_drafts = ai_tables(metadata)
