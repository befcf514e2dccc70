"""The AI batch jobs' tables (revision 0015): job runs, trade journals, parameter drafts.

Outside the trading path: the daemon only marks an approved draft APPLIED when it opens a session with it.
Defined here on the schema's `MetaData` by `tables` (which re-exports them), so `tables` stays one screenful
per concern. Money is exact (KRW); times are aware UTC.
"""

from sqlalchemy import (
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

from stock_manager.adapters.storage.types import ExactDecimal, JsonDocument, UtcDateTime

#: ``ai_job_runs.outcome``: RUNNING until it ends; OK; PARTIAL (the keyless part done, the model's failed);
#: BUDGET_EXCEEDED (stopped before a model call that would pass the night's budget); FAILED (nothing produced).
AI_OUTCOMES = "'RUNNING','OK','PARTIAL','BUDGET_EXCEEDED','FAILED'"
DRAFT_STATUSES = "'DRAFT','VALIDATED','INVALID','APPROVED','REJECTED','APPLIED'"


def ai_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """Define ``ai_job_runs``, ``trade_journals`` and ``strategy_param_drafts`` on `metadata`; return them."""
    ai_job_runs = Table(
        "ai_job_runs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("job", String(32), nullable=False),  # journal | propose
        Column("triggered_by", String(16), nullable=False),  # daemon | cli
        Column("night", Date, nullable=False),  # the venue's date of the wall clock at the start: the budget's night
        Column("subject_date", Date, nullable=False),  # the session journaled, or the last day of data searched
        Column("account_id", String(32)),
        Column("provider", String(16), nullable=False),  # none | openai | anthropic
        Column("model", String(200), nullable=False, server_default=""),
        Column("ts_started", UtcDateTime, nullable=False),
        Column("ts_ended", UtcDateTime),
        Column("outcome", String(16), nullable=False),
        Column("error", Text, nullable=False, server_default=""),
        Column("prompt", Text, nullable=False, server_default=""),  # masked
        Column("response", Text, nullable=False, server_default=""),  # masked
        Column("input_tokens", Integer, nullable=False, server_default="0"),
        Column("output_tokens", Integer, nullable=False, server_default="0"),
        Column("cost_krw", ExactDecimal(20, 8)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("details", JsonDocument, nullable=False),
        CheckConstraint(f"outcome IN ({AI_OUTCOMES})", name="outcome"),
        Index("ix_ai_job_runs_night", "night"),
    )

    trade_journals = Table(
        "trade_journals",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("trading_date", Date, nullable=False),
        Column("account_id", String(32), nullable=False),
        Column("venue", String(16), nullable=False),
        Column("strategies", JsonDocument, nullable=False),
        Column("language", String(2), nullable=False),  # ko | en
        Column("version", Integer, nullable=False),
        Column("facts", JsonDocument, nullable=False),
        Column("text", Text, nullable=False),
        Column("narrative", Text, nullable=False, server_default=""),
        Column("model", String(200), nullable=False),
        Column("status", String(12), nullable=False),  # WRITTEN | ANNOUNCED
        Column("job_run_id", Integer, ForeignKey("ai_job_runs.id")),
        Column("ts_created", UtcDateTime, nullable=False),
        UniqueConstraint("account_id", "trading_date", "version", name="uq_trade_journals_version"),
        CheckConstraint("status IN ('WRITTEN','ANNOUNCED')", name="status"),
    )

    strategy_param_drafts = Table(
        "strategy_param_drafts",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("strategy_id", String(64), ForeignKey("strategies.strategy_id"), nullable=False),
        Column("origin", String(16), nullable=False),  # optimizer | model
        Column("job_run_id", Integer, ForeignKey("ai_job_runs.id")),
        Column("data_until", Date, nullable=False),
        Column("base_params", JsonDocument, nullable=False),
        Column("base_source", String(200), nullable=False),
        Column("proposed_params", JsonDocument, nullable=False),
        Column("rationale", Text, nullable=False, server_default=""),
        Column("evidence", JsonDocument, nullable=False),
        Column("validation", JsonDocument, nullable=False),
        Column("status", String(12), nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("ts_created", UtcDateTime, nullable=False),
        Column("ts_validated", UtcDateTime),
        Column("decided_by", String(64), nullable=False, server_default=""),
        Column("ts_decided", UtcDateTime),
        Column("decision_reason", Text, nullable=False, server_default=""),
        Column("effective_from", Date),
        Column("params_id", Integer, ForeignKey("strategy_params.id")),
        Column("applied_on", Date),
        Column("ts_applied", UtcDateTime),
        CheckConstraint(f"status IN ({DRAFT_STATUSES})", name="status"),
        CheckConstraint("origin IN ('optimizer','model')", name="origin"),
        Index("ix_strategy_param_drafts_status", "status"),
    )
    return ai_job_runs, trade_journals, strategy_param_drafts
