"""Write ai_developer_guides/DB_SCHEMA_DDL.md: the schema exactly as the Alembic migrations build it.

The DDL is the migrations' own SQL (Alembic offline mode, no database needed) for PostgreSQL, the reference
dialect, and for SQLite, whose differences are listed. Every table and column needs a description below; the
script refuses to write a document with a column it cannot describe, or a description of a column that no
longer exists.

    uv run python scripts/generate_schema_doc.py           # rewrite the document
    uv run python scripts/generate_schema_doc.py --check   # exit 1 if the document is out of date
"""

import argparse
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from alembic import command

from stock_manager.adapters.storage.migrate import alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "ai_developer_guides" / "DB_SCHEMA_DDL.md"

POSTGRES_URL = "postgresql+psycopg://offline/stockbot"
SQLITE_URL = "sqlite+aiosqlite:///offline.db"  # offline mode never opens it

# -- DESCRIPTIONS -------------------------------------------------------------------------------------

TABLES: dict[str, str] = {
    "alembic_version": "Alembic's bookkeeping: the revision the database is at (one row).",
    "strategies": "Every strategy the daemon knows (spec 000 §4.1).",
    "strategy_params": (
        "Dated, versioned parameters of each strategy. The daemon uses the ACTIVE row with the latest "
        "`effective_date` on or before the trading date, highest `version` first."
    ),
    "symbols": "Instruments the daemon may trade, per venue (KRX listings from the KIS master files; Upbit markets).",
    "accounts": "Every venue account a daemon traded, with its venue and mode (revision 0004).",
    "market_bars": "Price bars per symbol; a daily bar has interval `1d` and `ts_bar` 09:00 KST of its date.",
    "orders": (
        "Every order the daemon decided to place: the single source of truth of its state. A row is "
        "committed as NEW before the broker is called; status changes follow `domain/order_status.py`."
    ),
    "fills": (
        "Executions reported by the broker. Append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on "
        "PostgreSQL). A fill without `order_id` is external (not placed by the daemon)."
    ),
    "positions": "Current position per account and symbol; recovery recomputes it from fills.",
    "position_snapshots": "Each position at a session's close, valued at the closing price.",
    "daily_settlements": "One account's result for one session.",
    "events": "System events: market open/close, recovery, errors, risk blocks, the kill switch.",
    "kill_switch": "The kill switches, one per scope (every daemon, or one venue's), latched until `stockbot resume`.",
    "daemon_state": "What the running (or last) daemon reported about itself, per account; its heartbeat.",
    "recovery_logs": "One row per recovery run (`stockbot recover`, and at every daemon start).",
    "risk_events": (
        "Every risk decision that blocked or stopped trading: a denied order (DENY), stop mode (STOP), a kill "
        "switch trip (KILL), with the inputs the rule saw (spec 001 §11)."
    ),
    "risk_limit_changes": (
        "History of risk limit changes (`stockbot risk set`): the effective limits are the settings "
        "overridden, per limit, by the newest row of that name."
    ),
    "observed_orders": (
        "Would-be orders of observe mode (ORDER_MODE=observe): decided and risk-checked, never sent. Kept "
        "apart from `orders` so recovery never treats them as live orders."
    ),
    "position_checkpoints": (
        "Positions folded from every fill of an account up to a point, written at each session's close (one "
        "row per symbol, the point repeated on each), so a restart folds only the fills recorded after it. "
        "Used only when that gives exactly the fold of every fill (`service_layer/position_history.py`)."
    ),
    "backtest_runs": (
        "Research runs kept by name with `--record` (revision 0011): a backtest, an optimisation or a "
        "backtest-to-paper divergence report, with what was run and its summary. Never read by the daemon."
    ),
    "backtest_fills": "The fills of a recorded backtest run, in execution order (revision 0011).",
    "optimize_trials": (
        "Every trial of a recorded optimisation: the parameters tried in one walk-forward window, with the "
        "in-sample figures they were chosen on and the out-of-sample figures of the window after it (0011)."
    ),
    "ai_job_runs": (
        "Every run of an AI batch job (revision 0015; ai_developer_guides/AI_USAGE_GUIDE.md): which job, for "
        "which day, through which provider and model, the prompt and the answer with secrets masked, tokens, "
        "cost, outcome and error. The night's sum of tokens and cost is the budget's count."
    ),
    "trade_journals": (
        "The trade journal (매매일지) of one account's session: the facts gathered from the database and the "
        "text written from them, with the language model's narrative when one is configured (0015)."
    ),
    "strategy_param_drafts": (
        "Proposed strategy parameters (0015): from the walk-forward optimizer or a language model, with their "
        "evidence against the ACTIVE parameters and the validation gate's verdict. Only `stockbot params "
        "approve` turns one into an ACTIVE `strategy_params` row; who decided, when and why is kept."
    ),
}

_KRW = "KRW, exact decimal"
_TS = "aware UTC"

COLUMNS: dict[str, dict[str, str]] = {
    "alembic_version": {"version_num": "Current revision id."},
    "strategies": {
        "strategy_id": "Stable identifier, e.g. `ma_cross`.",
        "name": "Human-readable name.",
        "description": "What the strategy does.",
        "ts_created": f"When the strategy was first recorded ({_TS}).",
    },
    "strategy_params": {
        "id": "Surrogate key.",
        "strategy_id": "The strategy (`strategies.strategy_id`).",
        "effective_date": "First trading date (KST) the parameters apply to.",
        "version": "1, 2, ... per (strategy, effective date); a new version supersedes the previous ones.",
        "status": "DRAFT (proposed), ACTIVE (in use) or RETIRED.",
        "params": "The parameters as a JSON object; decimals are stored as strings.",
        "source": "Where the parameters came from (file name, operator, tool).",
        "ts_created": f"When the row was inserted ({_TS}).",
    },
    "symbols": {
        "symbol": "The venue's code, e.g. `005930` (KRX) or `KRW-BTC` (Upbit).",
        "name": "Name of the product.",
        "market": "Listing market: KOSPI, KOSDAQ, or the quote market (KRW).",
        "kind": "STOCK, ETF or CRYPTO (tick sizes differ).",
        "ts_updated": f"When the metadata was last written ({_TS}).",
        "venue": "The venue it trades on: `krx` or `upbit`.",
    },
    "accounts": {
        "account_id": "The venue's account id (KIS `CANO-ACNT_PRDT_CD`, the simulator's `SIM-…`, an Upbit account).",
        "venue": "`krx` or `upbit`.",
        "mode": "`sim`, `paper` or `live`, as last run.",
        "name": "The venue's name for the account, for people.",
        "ts_first_seen": f"When a daemon first traded it ({_TS}).",
        "ts_last_seen": f"When a daemon last started on it ({_TS}).",
    },
    "market_bars": {
        "symbol": "KRX short code.",
        "interval": "Bar length: `1d` for daily bars.",
        "ts_bar": f"Bar open ({_TS}); 09:00 KST of the trading date for daily bars.",
        "open": f"Opening price ({_KRW}).",
        "high": f"Highest price ({_KRW}).",
        "low": f"Lowest price ({_KRW}).",
        "close": f"Closing price ({_KRW}).",
        "volume": "Traded volume (shares).",
        "source": "Where the bar came from (e.g. `kis`, a bundled CSV).",
    },
    "orders": {
        "id": "Surrogate key; `fills.order_id` refers to it.",
        "idempotency_key": (
            "Deterministic key of the decision (strategy, symbol, intent, signal time); unique, so the same "
            "decision never makes two orders."
        ),
        "account_id": "Broker account (KIS `CANO-ACNT_PRDT_CD`) or the simulator's account.",
        "mode": "Where the order went: `sim`, `paper` or `live`.",
        "strategy_id": "Strategy that decided the order.",
        "symbol": "KRX short code.",
        "side": "BUY or SELL.",
        "order_type": "LIMIT or MARKET (KIS `ORD_DVSN` 00 / 01).",
        "intent": "ENTRY or EXIT.",
        "quantity": "Ordered quantity (shares, > 0).",
        "limit_price": f"Limit price on the tick grid ({_KRW}); NULL for MARKET orders.",
        "signal_price": f"Last price when the strategy decided ({_KRW}); the reference for slippage.",
        "status": "NEW, SENT, PARTIAL, FILLED, CANCELED or REJECTED.",
        "status_reason": "Why the order was cancelled or rejected (the broker's code and message).",
        "reason": "Why the strategy placed the order.",
        "correlation_id": "Ties the order to its log lines and events.",
        "broker_order_number": (
            "The broker's order number (KIS `ODNO`) as the broker first returned it; lookups ignore leading "
            "zeros. NULL until the broker acknowledges the order."
        ),
        "venue_order_ref": (
            "What else the venue's adapter needs to address the order (KIS: the branch `KRX_FWDG_ORD_ORGNO`, "
            "needed to cancel); empty where the order number suffices. Was `broker_branch` before revision 0004."
        ),
        "client_order_id": (
            "Our id of the order at venues that take one (Upbit `identifier`, single-use there); unique per "
            "account; NULL where the venue has none (KIS)."
        ),
        "filled_quantity": "Sum of the order's fill quantities (shares).",
        "filled_amount_krw": f"Sum of quantity × price over the order's fills ({_KRW}).",
        "trading_date": "KST trading date the order belongs to.",
        "ts_created": f"When the order was decided and inserted ({_TS}).",
        "ts_sent": f"When the broker acknowledged it ({_TS}).",
        "ts_partial": f"First partial fill ({_TS}).",
        "ts_filled": f"When the whole quantity had filled ({_TS}).",
        "ts_canceled": f"When it was cancelled, expired or found never placed ({_TS}).",
        "ts_rejected": f"When the broker rejected it ({_TS}).",
        "ts_updated": f"Last change of the row ({_TS}).",
    },
    "fills": {
        "id": "Surrogate key, in recording order.",
        "broker_fill_id": (
            "The broker's identity of the execution; unique, so the same fill from the WebSocket notice and "
            "from a REST inquiry is recorded once."
        ),
        "order_id": "Our order (`orders.id`); NULL for an external fill.",
        "account_id": "Broker account.",
        "broker_order_number": "The broker order number the execution belongs to (KIS `ODNO`).",
        "symbol": "KRX short code.",
        "side": "BUY or SELL.",
        "quantity": "Executed quantity (shares, > 0).",
        "price": f"Execution price per share ({_KRW}).",
        "commission_krw": f"Brokerage commission of this execution ({_KRW}).",
        "tax_krw": f"Securities transaction tax, sells only ({_KRW}).",
        "ts_filled": f"When the execution happened at the broker ({_TS}).",
        "ts_recorded": f"When the daemon recorded it ({_TS}).",
        "source": "How it arrived: `notice` (real-time) or `recovery` (inquiry).",
        "trading_date": (
            "The venue's trading date of the execution (its order's day where orders are day orders); rows "
            "before revision 0004 got the KST date of `ts_filled`."
        ),
        "amount_krw": (
            f"The exact executed amount ({_KRW}) where `quantity` × `price` cannot carry it: a fill rebuilt from "
            "an order's totals (KIS `tot_ccld_amt`), whose `price` is that amount ÷ quantity rounded to 8 "
            "places; NULL where `quantity` × `price` is the amount (revision 0016)."
        ),
    },
    "positions": {
        "account_id": "Broker account.",
        "symbol": "KRX short code.",
        "quantity": "Shares held (negative only if the broker reports more sold than bought).",
        "avg_price": f"Average entry price of the open quantity, excluding costs ({_KRW}).",
        "realized_pnl_krw": f"Gross realized PnL of closed quantity, before costs ({_KRW}).",
        "commission_krw": f"Commission paid on all fills of the symbol ({_KRW}).",
        "tax_krw": f"Transaction tax paid on all fills of the symbol ({_KRW}).",
        "ts_updated": f"Last change ({_TS}).",
    },
    "position_snapshots": {
        "account_id": "Broker account.",
        "trading_date": "KST trading date of the session.",
        "symbol": "KRX short code.",
        "quantity": "Shares held at the close.",
        "avg_price": f"Average entry price ({_KRW}).",
        "close_price": f"The session's closing price ({_KRW}).",
        "market_value_krw": f"quantity × close_price ({_KRW}).",
        "unrealized_pnl_krw": f"(close_price − avg_price) × quantity, before exit costs ({_KRW}).",
        "realized_pnl_krw": f"Gross realized PnL so far ({_KRW}).",
        "ts_created": f"When the snapshot was taken ({_TS}).",
    },
    "daily_settlements": {
        "account_id": "Broker account.",
        "trading_date": "KST trading date of the session.",
        "mode": "`sim`, `paper` or `live`.",
        "start_equity_krw": f"Equity at the open ({_KRW}).",
        "end_equity_krw": f"Equity at the close ({_KRW}).",
        "cash_krw": f"Cash at the close ({_KRW}).",
        "realized_pnl_krw": f"Gross realized PnL of the session, before costs ({_KRW}).",
        "unrealized_pnl_krw": f"Unrealized PnL at the close ({_KRW}).",
        "commission_krw": f"Commission paid in the session ({_KRW}).",
        "tax_krw": f"Transaction tax paid in the session ({_KRW}).",
        "orders_count": "Orders placed in the session.",
        "fills_count": "Fills recorded in the session.",
        "return_pct": "Session return, percent (exact decimal, 6 places).",
        "summary": "Details as a JSON object (decimals as strings, times as ISO 8601).",
        "ts_created": f"When the settlement was written ({_TS}).",
    },
    "events": {
        "id": "Surrogate key, in insertion order.",
        "ts_event": f"When it happened ({_TS}).",
        "kind": "What happened, e.g. `market_open`, `risk_block`, `kill_switch`.",
        "severity": "DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        "message": "One-line human-readable text.",
        "payload": "Details as a JSON object (decimals as strings, times as ISO 8601).",
        "correlation_id": "Ties the event to an order or a request.",
        "account_id": "Broker account, or NULL for an event of the whole daemon.",
    },
    "kill_switch": {
        "scope": (
            "Whose switch: `*` (every daemon: `stockbot kill`) or a venue, `krx` or `upbit` (`stockbot kill "
            "--venue ...`, and a daemon's own stop such as its daily loss limit). A daemon honours `*` and its "
            "venue's (revision 0014; before it, one row `id = 1`)."
        ),
        "active": "True while trading is stopped.",
        "reason": "Why it was set or cleared.",
        "set_by": "Who changed it (`stockbot kill`, the daemon, an operator).",
        "ts_changed": f"When it last changed ({_TS}).",
        "action": (
            "What the daemon does when it sees the switch: `halt` (send nothing new), `cancel_open` (also "
            "cancel working orders) or `flatten` (also sell every position)."
        ),
    },
    "daemon_state": {
        "account_id": "Broker account.",
        "mode": "`sim`, `paper` or `live`.",
        "trading_state": "STARTING, WAITING (between sessions), TRADING, STOPPED, CLOSED or EXITED.",
        "stop_reason": "Why trading stopped (kill switch, loss limit, failed recovery).",
        "trading_date": "KST trading date of the current session, if any.",
        "start_equity_krw": f"Equity at the session's open ({_KRW}).",
        "pid": "Operating-system process id of the daemon.",
        "ts_started": f"When the daemon started ({_TS}).",
        "ts_heartbeat": f"Last sign of life ({_TS}); a stale heartbeat means the daemon is gone.",
        "ts_next_session": f"While WAITING: when the next session's first order phase begins ({_TS}).",
    },
    "position_checkpoints": {
        "account_id": "Broker account.",
        "symbol": "KRX short code.",
        "quantity": "Shares held at the point.",
        "avg_price": f"Average entry price of the open quantity, excluding costs ({_KRW}).",
        "realized_pnl_krw": f"Gross realized PnL of closed quantity, before costs ({_KRW}).",
        "commission_krw": f"Commission paid on the symbol's fills up to the point ({_KRW}).",
        "tax_krw": f"Transaction tax paid on the symbol's fills up to the point ({_KRW}).",
        "trading_date": "KST trading date of the session whose close wrote it.",
        "through_fill_id": (
            "Every fill of the account with `fills.id` up to this one is folded in (transactions run one at "
            "a time, so none with a smaller id is recorded later)."
        ),
        "last_ts_filled": f"Execution time of the last fill folded in, in execution order ({_TS}).",
        "last_broker_fill_id": "Broker fill id of that fill (ties within one second sort by it).",
        "ts_created": f"When the checkpoint was written ({_TS}).",
        "last_trading_date": "The trading date of that fill.",
    },
    "recovery_logs": {
        "id": "Surrogate key.",
        "account_id": "Broker account.",
        "mode": "`sim`, `paper` or `live`.",
        "dry_run": "True when the run only reported what it would change.",
        "outcome": "CLEAN, CORRECTED or FAILED.",
        "summary": "What was compared and changed, as a JSON object.",
        "ts_started": f"Start of the run ({_TS}).",
        "ts_finished": f"End of the run ({_TS}).",
    },
    "risk_events": {
        "id": "Surrogate key.",
        "ts_event": f"When the rule decided (market clock, {_TS}).",
        "account_id": "Broker account; NULL when not tied to one.",
        "rule": "The rule, e.g. `max_symbol_weight`, `kill_switch`, `daily_loss_limit`, `broker_failures`.",
        "decision": "DENY (the order was not created or not sent), STOP (stop mode) or KILL (kill switch set).",
        "symbol": "KRX short code of the denied order; NULL for account-wide decisions.",
        "message": "Why, in one line.",
        "snapshot": "The proposal and the account and market state the rule saw, as a JSON object.",
        "correlation_id": "Ties the decision to the signal's log lines and events.",
    },
    "risk_limit_changes": {
        "id": "Surrogate key; the newest row per name wins.",
        "name": "The limit (a `RiskLimits` field, e.g. `max_symbol_weight_pct`).",
        "old_value": "The effective value before the change, as text; NULL when the rule was off.",
        "new_value": "The new value, as text; NULL turns the rule off.",
        "changed_by": "Who changed it (`cli`, an operator name).",
        "reason": "Why.",
        "ts_changed": f"When ({_TS}).",
    },
    "backtest_runs": {
        "id": "Surrogate key.",
        "name": "The name given with `--name` (several runs may share one; the newest is the latest).",
        "kind": "BACKTEST, OPTIMIZE or DIVERGENCE.",
        "strategy_id": "The strategy run, e.g. `ma_cross_50_200`.",
        "period_from": "First session of the period (KST date).",
        "period_to": "Last session of the period (KST date).",
        "symbols": "The symbols, as a JSON array in the order their signals were submitted.",
        "params": "The strategy parameters (for OPTIMIZE: the best out-of-sample ones), as a JSON object.",
        "config": "Fill model, cash, participation, risk limits and data source, as a JSON object.",
        "summary": "The run's figures (return, CAGR, drawdown, Sharpe, trades, costs...), as a JSON object.",
        "ts_created": f"When the run was recorded ({_TS}).",
    },
    "backtest_fills": {
        "run_id": "The run (`backtest_runs.id`); deleted with it.",
        "seq": "Position in execution order, from 1.",
        "trading_date": "KST trading date.",
        "ts_filled": f"Execution time at the replayed print ({_TS}).",
        "symbol": "KRX short code.",
        "side": "BUY or SELL.",
        "intent": "ENTRY or EXIT: the intent of the order it filled.",
        "quantity": "Shares filled.",
        "price": f"Execution price ({_KRW}).",
        "commission_krw": f"Commission of the fill ({_KRW}).",
        "tax_krw": f"Sell-side transaction tax of the fill ({_KRW}).",
    },
    "optimize_trials": {
        "run_id": "The optimisation run (`backtest_runs.id`); deleted with it.",
        "window_index": "Walk-forward window, from 0.",
        "trial": "Optuna trial number within the window.",
        "params": "The parameters tried, as a JSON object.",
        "in_sample": "Summary figures on the window's in-sample period, as a JSON object.",
        "out_of_sample": "Summary figures on the out-of-sample period after it, as a JSON object.",
        "objective_in_sample": "The objective's value in sample; NULL when it is undefined (no trade).",
        "objective_out_of_sample": "The objective's value out of sample; NULL when it is undefined.",
    },
    "ai_job_runs": {
        "id": "Surrogate key.",
        "job": "`journal` or `propose`.",
        "triggered_by": "`daemon` (after a session's close) or `cli` (`stockbot ai journal`, `stockbot ai propose`).",
        "night": "The venue's date of the wall clock when the run started (KST for KRX): the budget's night.",
        "subject_date": "The session journaled, or the last day of data the proposals were searched on.",
        "account_id": "The account journaled; NULL for proposals (parameters belong to a strategy).",
        "provider": "`none` (keyless), `openai` (OpenAI-compatible chat completions) or `anthropic`.",
        "model": "The model as the provider named it in its answer (or `AI_MODEL`); empty without a model call.",
        "ts_started": f"When the run started ({_TS}, wall clock).",
        "ts_ended": f"When it ended ({_TS}); NULL while RUNNING or if the process died.",
        "outcome": (
            "RUNNING, OK, PARTIAL (the keyless part done, the model's failed: see `error`), BUDGET_EXCEEDED "
            "(stopped before a model call that would pass the night's budget) or FAILED."
        ),
        "error": "Why it failed or was partial, one line, secrets masked.",
        "prompt": "The prompt sent to the model, secrets masked; empty without a model call.",
        "response": "The model's answer as received, secrets masked; empty without one.",
        "input_tokens": "Prompt tokens the provider counted (0 without a model call).",
        "output_tokens": "Answer tokens the provider counted.",
        "cost_krw": f"Cost from `AI_PRICE_*_KRW_PER_MTOK` ({_KRW}); NULL when the prices are not set.",
        "attempts": "Requests made, retries included.",
        "details": "What the run produced (journal id, draft ids, strategies skipped and why), as a JSON object.",
    },
    "trade_journals": {
        "id": "Surrogate key.",
        "trading_date": "The venue's trading date of the session.",
        "account_id": "The account.",
        "venue": "`krx` or `upbit`.",
        "strategies": "The strategies the account ran, as a JSON array of ids.",
        "language": "`ko` or `en` (`AI_JOURNAL_LANGUAGE`).",
        "version": "1, 2, ... per account and day; the newest is shown (`stockbot ai journal show`).",
        "facts": (
            "What happened, as a JSON object: orders with their reasons, fills with slippage and costs, risk "
            "decisions, the settlement, the parameters in force, the day's comparison with its backtest."
        ),
        "text": "The journal as sent, written from the facts (secrets masked), the narrative appended.",
        "narrative": "The language model's part, secrets masked; empty without a model.",
        "model": "`facts` (the keyless writer) or `<provider>:<model>`.",
        "status": "WRITTEN, or ANNOUNCED once handed to the notifier (Slack's trades channel when configured).",
        "job_run_id": "The run that wrote it (`ai_job_runs.id`).",
        "ts_created": f"When it was stored ({_TS}).",
    },
    "strategy_param_drafts": {
        "id": "Surrogate key; `stockbot params show ID`.",
        "strategy_id": "The strategy (`strategies.strategy_id`).",
        "origin": "`optimizer` (walk-forward search) or `model` (a language model's proposal).",
        "job_run_id": "The run that proposed it (`ai_job_runs.id`).",
        "data_until": "The last day of data the proposal saw; it may only apply after this day.",
        "base_params": "The ACTIVE parameters it was compared with, as a JSON object.",
        "base_source": "Where those came from (`strategy_params`, a file, the built-in defaults).",
        "proposed_params": "The proposed parameters as received, as a JSON object (empty if unreadable).",
        "rationale": "Why, in words (the search's verdict, or the model's reasoning, secrets masked).",
        "evidence": "Backtest and walk-forward figures of the proposal against the ACTIVE parameters, as JSON.",
        "validation": "The gate's verdict: every rule with passed and reason, as a JSON object.",
        "status": "DRAFT, VALIDATED, INVALID, APPROVED, REJECTED or APPLIED.",
        "created_by": "Who proposed it: the job, its trigger and the provider and model.",
        "ts_created": f"When it was proposed ({_TS}).",
        "ts_validated": f"When the gate judged it ({_TS}).",
        "decided_by": "Who approved or rejected it (`--by`, default the operating-system user).",
        "ts_decided": f"When ({_TS}).",
        "decision_reason": "Why (`--reason`).",
        "effective_from": "The first session an approval applies to (the ACTIVE row's `effective_date`).",
        "params_id": "The ACTIVE `strategy_params` row the approval wrote.",
        "applied_on": "The first session the daemon opened with it.",
        "ts_applied": f"When that session opened ({_TS}).",
    },
    "observed_orders": {
        "id": "Surrogate key.",
        "idempotency_key": "Same key an order of that decision would have had; unique.",
        "account_id": "Broker account.",
        "mode": "`sim`, `paper` or `live`: where the order would have gone.",
        "strategy_id": "Strategy that decided the order.",
        "symbol": "KRX short code.",
        "side": "BUY or SELL.",
        "order_type": "LIMIT or MARKET.",
        "intent": "ENTRY or EXIT.",
        "quantity": "Quantity that would have been ordered (shares).",
        "limit_price": f"Limit price on the tick grid ({_KRW}); NULL for MARKET.",
        "signal_price": f"Last price when the strategy decided ({_KRW}).",
        "reason": "Why the strategy wanted the order.",
        "correlation_id": "Ties the decision to its log lines and events.",
        "trading_date": "KST trading date.",
        "ts_observed": f"When it was decided ({_TS}).",
    },
}

#: (PostgreSQL, SQLite, why) for each difference of the embedded database.
SQLITE_DIFFERENCES = [
    (
        "`NUMERIC(p, s)`",
        "`VARCHAR(40)`: the decimal as text, rounded to `s` places (ties away from zero, as PostgreSQL)",
        "SQLite's NUMERIC goes through binary floating point",
    ),
    (
        "`TIMESTAMP WITH TIME ZONE`",
        "`DATETIME`: text `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, without offset",
        "no time-zone type; the application reads it back as aware UTC",
    ),
    ("`JSONB`", "`JSON` (text)", ""),
    ("`SERIAL`", "`INTEGER` primary key (the rowid)", ""),
    ("`BOOLEAN`", "`BOOLEAN` (0 or 1)", ""),
    ("trigger function raising `restrict_violation`", "triggers with `RAISE(ABORT, ...)`", "no TRUNCATE in SQLite"),
]

SQLITE_CONNECTIONS = (
    "Connections: WAL journal, `foreign_keys=ON`, `synchronous=FULL`, a busy timeout, and every transaction "
    "starts with `BEGIN IMMEDIATE`. On PostgreSQL every transaction first takes one advisory lock "
    "instead. On both, transactions run one at a time, and a second process (`stockbot kill`) waits for "
    "the lock rather than fails."
)


# -- RENDERING ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column as the migration's CREATE TABLE declares it."""

    name: str
    type: str
    nullable: bool
    default: str | None


def migration_sql(db_url: str) -> list[str]:
    """Return the statements the migrations run on `db_url`'s dialect, without transaction bookkeeping."""
    config = alembic_config(db_url)
    buffer = io.StringIO()
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    statements = []
    for chunk in re.split(r";\n\s*\n", buffer.getvalue()):
        lines = [line.rstrip() for line in chunk.strip().splitlines() if not line.startswith("-- ")]
        statement = "\n".join(lines).strip().rstrip(";")
        if statement and statement not in ("BEGIN", "COMMIT") and not statement.startswith("INSERT INTO alembic"):
            statements.append(statement)
    return statements


def tables_of(statements: list[str]) -> dict[str, tuple[str, list[str], list[Column]]]:
    """Return, per table in creation order: its CREATE TABLE, its CREATE INDEX statements, its columns.

    Later revisions' changes are folded into the table's CREATE TABLE, so it shows the table as it is at
    the head: ``ALTER TABLE ... ADD COLUMN / ADD CONSTRAINT`` (PostgreSQL), and SQLite's batch copy
    (``CREATE TABLE _alembic_tmp_<table>`` replaces the definition; its copy, drop and rename are skipped).
    """
    tables: dict[str, tuple[str, list[str], list[Column]]] = {}
    for statement in statements:
        if match := re.match(r"CREATE TABLE _alembic_tmp_(\w+) \(", statement):
            create = statement.replace(f"_alembic_tmp_{match[1]}", match[1], 1)
            tables[match[1]] = (create, [], _columns(create))  # the copy's indexes are created again
        elif match := re.match(r"ALTER TABLE (\w+) ALTER COLUMN (\w+) (TYPE .+|SET NOT NULL)$", statement):
            _alter_column(tables, match[1], match[2], match[3])
        elif match := re.match(r"ALTER TABLE (\w+) RENAME (?:COLUMN )?(\w+) TO (\w+)$", statement):
            create, indexes, _ = tables[match[1]]
            create = re.sub(rf"^(\s+){match[2]} ", rf"\g<1>{match[3]} ", create, flags=re.MULTILINE)
            tables[match[1]] = (create, indexes, _columns(create))
        elif match := re.match(r"CREATE TABLE (\w+) \(", statement):
            tables[match[1]] = (statement, [], _columns(statement))
        elif match := re.match(r"CREATE (?:UNIQUE )?INDEX \w+ ON (\w+) ", statement):
            tables[match[1]][1].append(statement)
        elif match := re.match(r"ALTER TABLE (\w+) ADD (COLUMN (.+)|CONSTRAINT .+)$", statement, re.DOTALL):
            create, indexes, _ = tables[match[1]]
            lines = create.splitlines()
            if match[3] is not None:  # a column goes after the last column, before the constraints
                at = next((i for i, line in enumerate(lines) if line.strip().startswith("CONSTRAINT ")), len(lines) - 1)
                lines.insert(at, f"    {match[3]},")
            else:
                lines[-2] = lines[-2].rstrip(",") + ","
                lines.insert(len(lines) - 1, f"    {match[2]}")
            create = "\n".join(lines)
            tables[match[1]] = (create, indexes, _columns(create))
    return tables


def _alter_column(tables: dict[str, tuple[str, list[str], list[Column]]], table: str, column: str, change: str) -> None:
    # PostgreSQL's in-place changes of a column's type or nullability, folded into its CREATE TABLE line.
    create, indexes, _ = tables[table]
    lines = create.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{column} "):
            name, rest = line.strip().rstrip(",").split(" ", 1)
            comma = "," if line.rstrip().endswith(",") else ""
            if change == "SET NOT NULL":
                rest = rest if rest.endswith(" NOT NULL") else f"{rest} NOT NULL"
            else:
                kept = rest.split(" ", 1)[1] if " " in rest and not rest.startswith("NUMERIC(") else ""
                if rest.startswith("NUMERIC("):
                    kept = rest.split(")", 1)[1].strip()
                rest = f"{change.removeprefix('TYPE ')} {kept}".strip()
            lines[i] = f"    {name} {rest}{comma}"
    create = "\n".join(lines)
    tables[table] = (create, indexes, _columns(create))


def _columns(create_table: str) -> list[Column]:
    columns = []
    for raw in create_table.splitlines()[1:-1]:
        line = raw.strip().rstrip(",")
        if line.startswith("CONSTRAINT "):
            continue
        name, rest = line.split(" ", 1)
        nullable = not rest.endswith(" NOT NULL")
        rest = rest.removesuffix(" NOT NULL")
        column_type, _, default = rest.partition(" DEFAULT ")
        columns.append(Column(name, column_type, nullable, default or None))
    return columns


def _triggers(statements: list[str]) -> list[str]:
    # Each function and trigger as last created (a migration may drop and create one again).
    latest: dict[str, str] = {}
    for statement in statements:
        if match := re.match(r"CREATE (FUNCTION|TRIGGER) (\w+)", statement):
            latest.pop(match[2], None)
            latest[match[2]] = statement
    return list(latest.values())


def _check_descriptions(tables: dict[str, tuple[str, list[str], list[Column]]]) -> None:
    problems = [f"table {t} has no description" for t in tables if t not in TABLES]
    problems += [f"description of table {t}, which the migrations do not create" for t in TABLES if t not in tables]
    for table, (_, _, columns) in tables.items():
        described = COLUMNS.get(table, {})
        names = {c.name for c in columns}
        problems += [f"column {table}.{c} has no description" for c in sorted(names - described.keys())]
        problems += [f"description of {table}.{c}, which does not exist" for c in sorted(described.keys() - names)]
    if problems:
        raise SystemExit("generate_schema_doc: update the descriptions:\n  " + "\n  ".join(problems))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """Return the document for the migrations' head revision."""
    postgres = migration_sql(POSTGRES_URL)
    sqlite = migration_sql(SQLITE_URL)
    pg_tables, sqlite_tables = tables_of(postgres), tables_of(sqlite)
    _check_descriptions(pg_tables)
    pg_tables["alembic_version"] = pg_tables.pop("alembic_version")  # bookkeeping last

    out = [
        "# Database schema (DDL)",
        "",
        f"Generated by `scripts/generate_schema_doc.py` from the Alembic migrations at revision "
        f"`{head_revision()}`; do not edit by hand. To change the schema: change "
        "`src/stock_manager/adapters/storage/tables.py`, add a migration under `migrations/versions/`, "
        "describe new columns in the script, then run `uv run python scripts/generate_schema_doc.py`. "
        "A test fails while this file differs from what the script generates.",
        "",
        "Conventions: money in KRW and quantities (shares, coins) are exact decimals to 8 places (never "
        "floats); times are "
        "stored in UTC and shown in KST; JSON documents keep decimals as strings. Constraint names follow "
        "`pk_<table>`, `uq_<table>_<column>`, `ck_<table>_<name>`, `fk_<table>_<column>_<referred table>`.",
        "",
        "The DDL below is PostgreSQL's (the reference dialect); see [SQLite differences](#sqlite-differences).",
        "",
        "## Tables",
        "",
    ]
    for table, (create, indexes, columns) in pg_tables.items():
        sqlite_types = {c.name: c.type for c in sqlite_tables[table][2]}
        out += [f"### {table}", "", TABLES[table], ""]
        out += [
            "| column | PostgreSQL | SQLite | null | default | description |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in columns:
            default = f"`{c.default}`" if c.default else ""
            null = "NULL" if c.nullable else "NOT NULL"
            description = _cell(COLUMNS[table][c.name])
            out.append(f"| `{c.name}` | {c.type} | {sqlite_types[c.name]} | {null} | {default} | {description} |")
        out += ["", "```sql", *(s + ";" for s in [create, *indexes]), "```", ""]
    out += [
        "## Append-only fills",
        "",
        "Recorded fills are facts: the database itself refuses to change or remove them.",
        "",
        "PostgreSQL:",
        "",
        "```sql",
        *(s + ";" for s in _triggers(postgres)),
        "```",
        "",
        "SQLite:",
        "",
        "```sql",
        *(s + ";" for s in _triggers(sqlite)),
        "```",
        "",
        "## SQLite differences",
        "",
        "The embedded database (the default, a file in the data directory) runs the same migrations. What differs:",
        "",
        "| PostgreSQL | SQLite | why |",
        "| --- | --- | --- |",
        *(f"| {pg} | {lite} | {why} |" for pg, lite, why in SQLITE_DIFFERENCES),
        "",
        SQLITE_CONNECTIONS,
    ]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` report whether it is up to date (exit status 1 if not)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    document = render()
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
    if args.check:
        if current != document:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: uv run python scripts/generate_schema_doc.py")
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    if current != document:
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(document, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
