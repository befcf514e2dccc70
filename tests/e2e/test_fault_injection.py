"""No crash, restart, disconnect or timeout duplicates an order or loses a fill: `stockbot run --mode sim` with
the simulator's faults on (orders accepted but never answered, 5xx and EGW00201, WebSocket drops, token
expiry, duplicate and late fill notices), killed at random moments and restarted until its period is done,
then its database compared with the exchange's own records (tests/e2e/fault_harness.py)."""

from datetime import date

import pytest

from tests.e2e.fault_harness import HarnessConfig, run_harness

pytestmark = pytest.mark.slow

#: Kills per backend (CI runs both: at least 20 in all).
KILLS = 10


@pytest.mark.timeout(300)
def test_faults_and_kills_when_restarted_until_the_period_is_done_then_the_database_equals_the_exchange(
    tmp_path, db_url: str
):
    # Arrange: three symbols (an ETF among them), aggressive strategy parameters and a tiny participation
    # rate, so most sessions have entries, exits, partial fills and expiries; faults on every start; about
    # 0.6 s per session, so the kills land all over the period.
    config = HarnessConfig(
        data_dir=tmp_path / "data",
        db_url=db_url,
        kills=KILLS,
        seed=20230217 + db_url.startswith("postgresql"),
        symbols="005930,000660,069500",
        period=(date(2023, 2, 13), date(2023, 3, 17)),
        speed="40000",
        trading_kill_secs=(0.1, 1.0),
        faults={
            "error500_probability": "0.03",
            "rate_limit_probability": "0.03",
            "unanswered_probability": "0.25",
            "duplicate_fill_notices": "true",
            "drop_ws_every_secs": "2.5",
            "expire_tokens_every_secs": "3.5",
            "token_gate_secs": "1",
        },
    )

    # Act
    result = run_harness(config)

    # Assert: what was injected (printed for diagnosis), then the invariants.
    report = result.report()
    print(report)
    assert result.finished and not result.failures, report
    assert result.kills == KILLS and result.trading_kills > result.startup_kills, report
    for kind in ("error500", "ws_dropped", "duplicate_fill_notice"):
        assert result.faults[kind] > 0, f"no {kind} injected\n{report}"
    assert sum(n for kind, n in result.faults.items() if kind.startswith("unanswered_")) > 0, report
    assert result.broker_orders > 10 and result.broker_fills > result.broker_orders, report
    assert result.checks == {
        "one order of ours per broker order": True,
        "fills equal the broker's executions": True,
        "positions equal the broker's holdings": True,
        "order states equal the broker's": True,
    }, report
