"""What alerting and logging cost the trading path.

Prints the time `SlackNotifier.event` takes on the caller's side while Slack refuses connections, the time
of one masked JSON log line written to the daily file, and the default replayed year end to end three ways:
without logs or Slack, with INFO logs to the daily file, and with those plus Slack (connection refused).

    uv run python benchmarks/alerting_overhead.py
"""

import asyncio
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
from _measured import require

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.slack import SlackChannels, SlackNotifier
from stock_manager.adapters.notifications.slack_client import SlackPoster
from stock_manager.adapters.observability.logging import configure_logging
from stock_manager.adapters.observability.masking import register_account, register_secret
from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage
from stock_manager.entrypoints.venues import open_venue
from stock_manager.service_layer.ports.notifications import Notifier, NullNotifier
from stock_manager.service_layer.ports.storage import EventRecord


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/"


def slack_notifier(queue_size: int = 1000) -> SlackNotifier:
    poster = SlackPoster("xoxb-bench-token-000", base_url=refused_url(), timeout_secs=1, retries=0)
    return SlackNotifier(poster, SlackChannels("C0ALERTS01", "C0TRADES01"), clock=SystemClock(), queue_size=queue_size)


def enqueue_cost(n: int = 100_000) -> float:
    notifier = slack_notifier(queue_size=n)
    notifier.start()
    record = EventRecord(ts_event=datetime.now(UTC), kind="fill", severity="INFO", message="BUY 10 005930 @ 70000")
    started = time.perf_counter()
    for _ in range(n):
        notifier.event(record)
    elapsed = time.perf_counter() - started
    notifier.close(timeout_secs=0.1)
    return elapsed / n * 1e6


def log_line_cost(log_dir: Path, n: int = 20_000) -> float:
    for i in range(20):
        register_secret(f"bench-secret-value-{i:04d}")
    register_account("50123456-01")
    configure_logging("INFO", log_dir=log_dir, console_level="CRITICAL")
    log = structlog.get_logger("stockbot.bench")
    started = time.perf_counter()
    for i in range(n):
        log.info(
            "fill",
            message=f"BUY 10 005930 @ 70000 (order {i:010d})",
            payload={"commission_krw": "98"},
            correlation_id="603f13e2610d2508",
        )
    elapsed = time.perf_counter() - started
    configure_logging("CRITICAL")
    return elapsed / n * 1e6


async def replay_year(log_dir: Path | None, notifier: Notifier) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        if log_dir is not None:
            configure_logging("INFO", log_dir=log_dir, console_level="CRITICAL")
        else:
            configure_logging("CRITICAL")
        started = time.perf_counter()
        async with open_storage(settings, upgrade=True) as storage, open_venue(settings) as venue:
            await build_daemon(settings, storage, venue, notifier=notifier).run()
        return time.perf_counter() - started


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SlackNotifier.event, Slack refused: {enqueue_cost():.2f} µs per call")
        print(f"masked JSON log line to the daily file: {log_line_cost(Path(tmp) / 'a'):.1f} µs per line")
        plain = await replay_year(None, NullNotifier())
        require(plain > 0, "the replayed year took no time")
        logged = await replay_year(Path(tmp) / "b", NullNotifier())
        slack = slack_notifier()
        slack.start()
        with_slack = await replay_year(Path(tmp) / "c", slack)
        slack.close(timeout_secs=1)
        configure_logging("CRITICAL")
        print(
            f"replayed year: {plain:.2f} s bare, {logged:.2f} s with INFO logs to file, "
            f"{with_slack:.2f} s with logs and Slack (refused; {slack.stats.given_up} notices given up, "
            f"{slack.stats.overflow} dropped)"
        )


if __name__ == "__main__":
    asyncio.run(main())
