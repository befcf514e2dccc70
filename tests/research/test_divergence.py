"""`divergence` against a daemon replay: nothing when the daemon traded as the backtest; a known slippage exactly."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from stock_manager.adapters.broker.sim import matching
from stock_manager.domain.model import Side
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.entrypoints.bootstrap import open_storage, risk_limits
from stock_manager.research.divergence_run import divergence_report
from tests.e2e.support import SYMBOLS, replay_settings
from tests.research.support import daemon_replay, fresh_sqlite

START, END = date(2023, 2, 13), date(2023, 3, 3)
SHIFT_KRW = Decimal(100)


async def _report(tmp_path, db_url):
    settings = replay_settings(tmp_path / "data", db_url)
    async with open_storage(settings, upgrade=False) as storage:
        return await divergence_report(
            storage,
            START,
            END,
            SYMBOLS.split(","),
            account=None,
            settings=settings,
            fallback=MaCrossParams(),
            limits=risk_limits(settings),
        )


async def test_divergence_when_daemon_traded_as_the_backtest_then_every_trade_matches(tmp_path, _sqlite_template):
    db_url = fresh_sqlite(_sqlite_template, tmp_path)
    await daemon_replay(tmp_path, db_url, START, END, SYMBOLS)
    report = await _report(tmp_path, db_url)
    assert len(report["pairs"]) == 2 and report["missing"] == [] and report["extra"] == []
    assert all(p["slippage_krw"] == 0 and p["delay_secs"] == 0 for p in report["pairs"])
    assert report["pnl_difference_krw"] == 0
    assert set(report["decomposition_krw"].values()) == {0}


async def test_divergence_when_every_buy_filled_100_krw_worse_then_reports_exactly_that(
    tmp_path, _sqlite_template, monkeypatch
):
    # Arrange: a sim run whose venue fills every buy 100 KRW above the print (a known slippage).
    original = matching.MatchingEngine._execute

    def worse_buys(self, order, quantity, tick):
        if order.request.side is Side.BUY:
            tick = replace(tick, price=tick.price + SHIFT_KRW)
        return original(self, order, quantity, tick)

    db_url = fresh_sqlite(_sqlite_template, tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(matching.MatchingEngine, "_execute", worse_buys)
        _, fills = await daemon_replay(tmp_path, db_url, START, END, SYMBOLS)
    # Act
    report = await _report(tmp_path, db_url)
    # Assert: each pair is 100 KRW a share worse, in KRW and bps of the backtest's price; nothing else differs.
    assert [(p["symbol"], p["slippage_krw_per_share"]) for p in report["pairs"]] == [
        ("005930", SHIFT_KRW),
        ("069500", SHIFT_KRW),
    ]
    shares = sum(p["quantity_daemon"] for p in report["pairs"])
    assert report["slippage_total_krw"] == SHIFT_KRW * shares
    for p in report["pairs"]:
        assert p["slippage_bps"] == (SHIFT_KRW / p["price_backtest"] * 10_000).quantize(Decimal("0.0001"))
    buckets = report["decomposition_krw"]
    assert buckets["slippage"] == -SHIFT_KRW * shares
    assert buckets["fees"] == sum(p["costs_backtest"] - p["costs_daemon"] for p in report["pairs"])
    assert buckets["missed_fills"] == buckets["extra_fills"] == buckets["risk_denials"] == buckets["residual"] == 0
    assert report["pnl_difference_krw"] == buckets["slippage"] + buckets["fees"]
    assert len(fills) == 2
