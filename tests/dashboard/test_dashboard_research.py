"""The reports page lists the recorded research runs (``stockbot backtest|optimize|divergence --record``)."""

import asyncio
from datetime import UTC, date, datetime

import httpx

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.research.store import record_run
from tests.dashboard.support import config_for, serving


def record(db_url: str) -> None:
    async def main() -> None:
        engine = create_engine(db_url)
        try:
            await record_run(
                engine,
                name="feb crosses",
                kind="BACKTEST",
                period=(date(2023, 2, 1), date(2023, 2, 28)),
                symbols=["005930"],
                params={"short_window_days": 50},
                config={},
                summary={"return_pct": "-1.25", "max_drawdown_pct": "2.10", "sharpe": "-0.4", "trades": 3},
                ts_created=datetime(2023, 3, 1, 6, 0, tzinfo=UTC),
            )
            await record_run(
                engine,
                name="paper vs backtest",
                kind="DIVERGENCE",
                period=(date(2023, 2, 1), date(2023, 2, 28)),
                symbols=["005930"],
                params={},
                config={},
                summary={"pnl_difference_krw": "-1500"},
                ts_created=datetime(2023, 3, 2, 6, 0, tzinfo=UTC),
            )
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_reports_when_runs_were_recorded_then_each_shows_with_its_headline(db_url, tmp_path):
    before = None
    with serving(config_for(db_url, tmp_path)) as url, httpx.Client(base_url=url) as client:
        before = client.get("/reports").text
        record(db_url)
        after = client.get("/reports").text

    assert "No recorded run." in before
    assert "feb crosses" in after and "return -1.25%, max drawdown 2.10%, Sharpe -0.4, 3 trades" in after
    assert "paper vs backtest" in after and "PnL difference -1,500 KRW" in after
    assert "2023-03-01 15:00:00" in after  # recorded at 06:00 UTC, shown in KST
    assert after.index("paper vs backtest") < after.index("feb crosses")  # newest first
