"""The Upbit account's trade journal against its backtest, on SQLite and PostgreSQL migrated by Alembic: a day the
daemon traded on the direct replay of the bundled KRW-BTC candles is the backtest's (the day's pairs, nothing
missing or extra, no PnL difference, per strategy too); a day without candles, or without the account's orders,
has none and says why."""

import json
from datetime import date
from decimal import Decimal

from stock_manager.entrypoints.ai_jobs import ai_context
from stock_manager.entrypoints.bootstrap import open_storage
from stock_manager.service_layer.ai.journal import JournalJob
from tests.e2e.support import replay_settings
from tests.fakes import RecordingNotifier
from tests.research.support import upbit_daemon_replay

START, DAY, END = date(2024, 3, 1), date(2024, 3, 3), date(2024, 3, 4)
SHAPE = {
    "period",
    "strategies",
    "orders_daemon",
    "orders_backtest",
    "pairs",
    "missing",
    "extra",
    "pnl_difference_krw",
    "held_at_start",
    "by_strategy",
}


def _settings(tmp_path, db_url, **overrides):
    return replay_settings(
        tmp_path / "data", db_url, venue="upbit", sim_symbols="KRW-BTC", sim_from=START, sim_to=END, **overrides
    )


async def test_upbit_journal_when_the_daemon_traded_the_day_then_its_pairs_are_the_backtests(tmp_path, db_url):
    account = await upbit_daemon_replay(tmp_path, db_url, START, END)

    settings = _settings(tmp_path, db_url, ai_journal_language="en")
    async with open_storage(settings, upgrade=False) as storage:
        ctx = ai_context(settings, storage, RecordingNotifier())
        outcome = await JournalJob(ctx).run(DAY, account)

    journal = outcome.journal
    assert journal is not None and outcome.run.outcome == "OK"
    bt = journal.facts["backtest"]
    assert set(bt) == SHAPE, bt.get("unavailable")
    # The strategies on the period's orders, in the daemon's order (turtle's first trade comes on 2024-03-04).
    assert bt["period"] == f"{START}..{DAY}" and bt["strategies"] == ["volatility_breakout", "grid"]
    assert bt["missing"] == [] and bt["extra"] == [] and bt["held_at_start"] == {}
    assert bt["orders_daemon"] == bt["orders_backtest"] == len(bt["pairs"]) == len(journal.facts["orders"]) > 0
    for p in bt["pairs"]:
        assert p["trading_date"] == DAY.isoformat() and p["strategy"] in bt["strategies"] and p["symbol"] == "KRW-BTC"
        assert p["quantity_daemon"] == p["quantity_backtest"] and p["price_daemon"] == p["price_backtest"]
        assert Decimal(p["slippage_krw"]) == 0 and p["costs_daemon"] == p["costs_backtest"]
    assert Decimal(bt["pnl_difference_krw"]) == 0
    assert list(bt["by_strategy"]) == bt["strategies"]
    assert sum(f["pairs"] for f in bt["by_strategy"].values()) == len(bt["pairs"])
    for figures in bt["by_strategy"].values():
        assert figures["missing"] == figures["extra"] == 0 and Decimal(figures["pnl_difference_krw"]) == 0
    text = journal.text
    assert (
        f"Against the backtest: period {START}..{DAY}: today the daemon placed {len(bt['pairs'])} order(s), "
        f"the backtest {len(bt['pairs'])}\n • today's trades are the backtest's\n"
        " • period PnL difference (daemon − backtest) 0 KRW\n"
    ) in text
    grid = bt["by_strategy"]["grid"]
    assert (
        f" • grid: today {grid['pairs']} matched, 0 backtest only, 0 daemon only; period PnL difference 0 KRW" in text
    )
    json.dumps(journal.facts)  # JSON-safe: Decimals as exact strings, dates as ISO text


async def test_upbit_day_comparison_when_the_day_has_no_bundled_candles_then_unavailable_saying_why(tmp_path, db_url):
    settings = _settings(tmp_path, db_url)
    async with open_storage(settings, upgrade=False) as storage:
        research = ai_context(settings, storage, RecordingNotifier()).research

        outside = await research.day_comparison("SIM-0a1b2c3d", date(2026, 3, 2))
        untraded = await research.day_comparison("SIM-0a1b2c3d", DAY)

    assert outside == {
        "unavailable": "no 30-minute candles of KRW-BTC on 2026-03-02 in the bundled Upbit data "
        "(2024-01-23..2025-01-26)"
    }
    assert untraded == {"unavailable": f"account SIM-0a1b2c3d has no Upbit orders in {DAY}..{DAY}; nothing to compare"}
