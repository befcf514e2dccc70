"""`divergence --venue upbit` against the daemon's Upbit direct replay (sim) of the bundled KRW-BTC candles, on
SQLite and PostgreSQL migrated by Alembic: nothing when the daemon traded as the backtest (it is the daemon's
logic); a known slippage, a simulator filling every buy one price unit worse, exactly (KRW and bps, per fill and in
total, per strategy and overall)."""

from dataclasses import replace
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from stock_manager.adapters.broker.sim import matching
from stock_manager.adapters.storage import tables
from stock_manager.adapters.storage.engine import create_engine
from stock_manager.domain.model import Side
from stock_manager.entrypoints.bootstrap import open_storage
from stock_manager.entrypoints.research_upbit import upbit_divergence
from tests.e2e.support import replay_settings
from tests.research.support import upbit_daemon_replay

START, END = date(2024, 3, 1), date(2024, 3, 5)
BITCOIN = ["volatility_breakout", "grid", "turtle"]  # the venue's three, in the daemon's order
SHIFT_KRW = Decimal(1000)  # one price unit of KRW-BTC (1,000 KRW above 1,000,000 KRW)
EIGHT_DECIMALS = Decimal("0.00000001")
BPS = Decimal("0.0001")
FEE_RATE = Decimal("0.0005")  # Upbit's fee per side (UPBIT_FEE_RATE's default)


async def _bought(db_url: str, account: str) -> Decimal:
    # The BTC the daemon's stored fills bought.
    engine = create_engine(db_url)
    fills = tables.fills
    try:
        async with engine.connect() as conn:
            statement = select(fills.c.quantity).where(fills.c.account_id == account, fills.c.side == "BUY")
            return sum((q for (q,) in await conn.execute(statement)), Decimal(0))
    finally:
        await engine.dispose()


async def _report(tmp_path: Path, db_url: str, strategies: str | None = None) -> dict:
    settings = replay_settings(tmp_path / "data", db_url, venue="upbit", sim_symbols="KRW-BTC")
    async with open_storage(settings, upgrade=False) as storage:
        return await upbit_divergence(
            settings, storage, (START, END), strategies=strategies, symbols=None, account=None, params_file=None
        )


async def test_upbit_divergence_when_the_daemon_replayed_the_period_then_every_trade_matches(tmp_path, db_url):
    account = await upbit_daemon_replay(tmp_path, db_url, START, END)

    report = await _report(tmp_path, db_url)

    assert (report["account"], report["mode"], report["venue"]) == (account, "sim", "upbit")
    assert report["strategies"] == BITCOIN and report["symbols"] == ["KRW-BTC"]
    assert report["missing"] == [] and report["extra"] == []
    assert report["orders_daemon"] == report["orders_backtest"] == len(report["pairs"]) > 10
    assert report["fills_daemon"] == report["fills_backtest"]
    assert {p["strategy"] for p in report["pairs"]} == set(BITCOIN)
    for p in report["pairs"]:
        assert p["quantity_daemon"] == p["quantity_backtest"] == p["quantity_daemon"].quantize(EIGHT_DECIMALS)
        assert p["price_daemon"] == p["price_backtest"] and p["costs_daemon"] == p["costs_backtest"]
        assert p["slippage_krw"] == 0 and p["delay_secs"] == 0
        assert p["first_fill_daemon"] == p["first_fill_backtest"] and p["first_fill_daemon"].tzinfo == UTC
    assert report["pnl_difference_krw"] == 0 and report["pnl_daemon_krw"] == report["pnl_backtest_krw"] != 0
    assert set(report["decomposition_krw"].values()) == {0}
    assert report["costs_daemon_krw"] == report["costs_backtest_krw"] > 0
    assert list(report["by_strategy"]) == BITCOIN
    for figures in report["by_strategy"].values():
        assert figures["pairs"] > 0 and figures["missing"] == figures["extra"] == 0
        assert figures["pnl_difference_krw"] == 0 and set(figures["decomposition_krw"].values()) == {0}
    assert sum(f["pnl_daemon_krw"] for f in report["by_strategy"].values()) == report["pnl_daemon_krw"]
    # The equity the daemon settled each day is the backtest's (stored as NUMERIC(.., 8)).
    assert [(d, e) for d, e in report["equity_daemon"]] == [
        (d, e.quantize(EIGHT_DECIMALS)) for d, e in report["equity_backtest"]
    ]
    assert report["params_by_day"]["grid"] == [{"from": START, "params": report["params_by_day"]["grid"][0]["params"]}]


async def test_upbit_divergence_when_every_buy_filled_1000_krw_worse_then_reports_exactly_that(
    tmp_path, db_url, monkeypatch
):
    # Arrange: a sim run whose venue fills every buy 1,000 KRW above the print (a known slippage; its fee on it).
    original = matching.MatchingEngine._execute

    def worse_buys(self, order, quantity, tick):
        if order.request.side is Side.BUY:
            tick = replace(tick, price=tick.price + SHIFT_KRW)
        return original(self, order, quantity, tick)

    with monkeypatch.context() as patch:
        patch.setattr(matching.MatchingEngine, "_execute", worse_buys)
        account = await upbit_daemon_replay(tmp_path, db_url, START, END)
    bought = await _bought(db_url, account)
    # Act
    report = await _report(tmp_path, db_url)
    # Assert: every buy pair 1,000 KRW a bitcoin worse, in KRW and in bps of the backtest's price; sells exact.
    buys = [p for p in report["pairs"] if p["side"] == "BUY" and p["quantity_daemon"]]
    sells = [p for p in report["pairs"] if p["side"] == "SELL" and p["quantity_daemon"]]
    assert buys and sells and report["missing"] == [] and report["extra"] == []
    for p in buys:
        assert p["slippage_krw_per_share"] == SHIFT_KRW
        assert p["price_daemon"] == p["price_backtest"] + SHIFT_KRW
        assert p["slippage_krw"] == SHIFT_KRW * p["quantity_daemon"]  # exact: 8-decimal BTC × whole KRW
        assert p["slippage_bps"] == (SHIFT_KRW / p["price_backtest"] * 10_000).quantize(BPS)
    assert all(p["slippage_krw"] == 0 and p["slippage_bps"] == 0 for p in sells)
    assert sum(p["quantity_daemon"] for p in buys) == bought
    assert report["slippage_total_krw"] == SHIFT_KRW * bought
    slipped = [p["slippage_bps"] for p in report["pairs"] if p.get("slippage_bps") is not None]
    assert report["slippage_mean_bps"] == (sum(slipped, Decimal(0)) / len(slipped)).quantize(BPS)
    buckets = report["decomposition_krw"]
    assert buckets["slippage"] == -SHIFT_KRW * bought
    # The fee was charged on the worse price: 0.05 % of the slippage, a bucket of its own.
    assert buckets["fees"] == -SHIFT_KRW * bought * FEE_RATE
    assert report["costs_daemon_krw"] - report["costs_backtest_krw"] == SHIFT_KRW * bought * FEE_RATE
    assert buckets["missed_fills"] == buckets["extra_fills"] == buckets["risk_denials"] == buckets["residual"] == 0
    assert report["pnl_difference_krw"] == buckets["slippage"] + buckets["fees"]
    # Per strategy: each one's own buys, adding up to the whole.
    for strategy_id, figures in report["by_strategy"].items():
        mine = sum((p["quantity_daemon"] for p in buys if p["strategy"] == strategy_id), Decimal(0))
        assert figures["slippage_total_krw"] == SHIFT_KRW * mine
        assert figures["decomposition_krw"]["slippage"] == -SHIFT_KRW * mine
        assert figures["pnl_difference_krw"] == -SHIFT_KRW * mine * (1 + FEE_RATE)
    assert sum(f["pnl_difference_krw"] for f in report["by_strategy"].values()) == report["pnl_difference_krw"]


async def test_upbit_divergence_when_strategies_are_named_then_only_theirs_are_compared(tmp_path, db_url):
    await upbit_daemon_replay(tmp_path, db_url, START, END)

    report = await _report(tmp_path, db_url, strategies="grid")

    assert report["strategies"] == ["grid"] and list(report["by_strategy"]) == ["grid"]
    assert {p["strategy"] for p in report["pairs"]} == {"grid"}
    assert report["orders_daemon"] == len(report["pairs"])
