"""A replayed sim period seen through its logs and metrics: JSON lines in the day's file with UTC and KST
times and one correlation id from signal to fill; Prometheus figures on 127.0.0.1 that agree with the
database."""

import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.observability.metrics import PrometheusMetrics
from stock_manager.entrypoints.bootstrap import build_daemon, open_observability, open_storage
from stock_manager.entrypoints.venues import open_venue
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings


@pytest.fixture(autouse=True)
def _quiet_logging_after() -> Iterator[None]:
    yield
    configure_logging("CRITICAL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> dict[str, float]:
    text = httpx.get(url, timeout=5).text
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


async def test_run_when_observed_then_logs_and_metrics_tell_the_same_story_as_the_database(tmp_path: Path):
    # Arrange: the daemon with a log directory and a metrics port, as `stockbot run` wires it.
    db_url = f"sqlite+aiosqlite:///{(tmp_path / 'stockbot.db').as_posix()}"
    settings = replay_settings(tmp_path / "data", db_url, log_dir=tmp_path / "logs", metrics_port=free_port())
    log_file = configure_logging("INFO", log_dir=settings.log_dir, console_level="CRITICAL")
    # Act
    async with (
        open_storage(settings, upgrade=False) as storage,
        open_observability(settings, console=NullNotifier()) as obs,
    ):
        assert isinstance(obs.metrics, PrometheusMetrics) and obs.slack is None
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=obs.notifier, metrics=obs.metrics).run()
        async with storage.uow_factory() as uow:
            fills = await uow.fills.list_for_account(result.account_id)
            orders = {
                o.id: o
                for s in result.settlements
                for o in await uow.orders.list_for_date(result.account_id, s.trading_date)
            }
        assert obs.metrics_url is not None
        metrics = scrape(obs.metrics_url)
    # Assert: metrics agree with the database.
    last = result.settlements[-1]
    assert metrics["stockbot_orders_total{outcome=sent}"] == len(orders) == 2
    assert metrics["stockbot_order_failure_ratio"] == 0
    assert metrics["stockbot_order_latency_seconds_count{outcome=sent}"] == 2
    assert metrics["stockbot_fill_ratio"] == 1.0
    assert metrics["stockbot_slippage_bps_count"] == len(fills)
    expected_bps = sum(
        ((s.fill.price - orders[s.order_id].signal_price) / orders[s.order_id].signal_price * 10_000 for s in fills),
        Decimal(0),
    )
    assert metrics["stockbot_slippage_bps_mean"] == pytest.approx(float(expected_bps / len(fills)))
    assert metrics["stockbot_equity_krw"] == float(last.end_equity_krw)
    assert metrics["stockbot_max_drawdown_pct"] == float(last.summary["max_drawdown_pct"]) > 0
    assert metrics["stockbot_exposure_krw"] > 0
    # The day's JSON log file: UTC and KST times, and one correlation id from the signal to the fill.
    assert log_file is not None and log_file.exists()
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert all(line["ts_utc"].endswith("Z") and "ts_kst" in line for line in lines)
    by_event: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        by_event.setdefault(str(line["event"]), []).append(line)
    first = next(o for o in orders.values() if o.symbol == "005930")
    story = [line["event"] for line in lines if line.get("correlation_id") == first.correlation_id]
    # ... through the KIS adapter's own lines (the default sim runs the KIS protocol).
    assert story == ["signal", "order_created", "kis_order_sending", "kis_order_accepted", "order_sent", "fill"]
    [created] = [x for x in by_event["order_created"] if x["correlation_id"] == first.correlation_id]
    assert created["payload"]["reason"] == first.reason and first.reason.startswith("golden cross")  # type: ignore[index]
    assert {"market_open", "market_close", "recovery"} <= set(by_event)
