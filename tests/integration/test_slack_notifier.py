"""Slack alerts against a local fake of the Slack Web API (real slack-sdk client, real loopback sockets):
routing by level and kind, the 5-minute warning batch, duplicate suppression, the daily report with its
equity-curve PNG, and outages that never reach the caller."""

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from stock_manager.adapters.notifications.slack import SlackChannels, SlackNotifier
from stock_manager.adapters.notifications.slack_client import SlackPoster
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.service_layer.ports.storage import DailySettlement, EventRecord
from stock_manager.service_layer.views.reports import build_daily_report
from tests.fake_slack import TOKEN, FakeSlack, refused_base_url

ALERTS, TRADES = "C0ALERTS01", "C0TRADES01"
T0 = datetime(2025, 6, 13, 1, 0, tzinfo=UTC)  # 10:00 KST


def event(kind: str, severity: str, message: str, **payload: object) -> EventRecord:
    return EventRecord(
        ts_event=T0, kind=kind, severity=severity, message=message, payload=payload, account_id="SIM-test"
    )


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def make_notifier(base_url: str, clock: FixedClock, **options: object) -> SlackNotifier:
    poster = SlackPoster(TOKEN, base_url=base_url, timeout_secs=2, retries=0)
    notifier = SlackNotifier(
        poster, SlackChannels(ALERTS, TRADES), clock=clock, label="sim", poll_interval_secs=0.02, **options
    )  # type: ignore[arg-type]
    notifier.start()
    return notifier


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m["text"] for m in slack.messages(channel)]


# -- ROUTING ------------------------------------------------------------------------------------------


def test_route_when_critical_error_and_trade_events_then_sent_at_once_to_their_channels(slack, clock):
    notifier = make_notifier(slack.base_url, clock)

    notifier.event(event("order_outcome_unknown", "ERROR", "005930 order outcome unknown"))
    notifier.event(event("fill", "INFO", "BUY 31 005930 @ 62900 (order 0000000001)"))
    notifier.event(event("stop_mode", "CRITICAL", "stop mode: daily loss limit"))
    notifier.event(event("market_open", "INFO", "session 2025-06-13: equity 10,000,000 KRW"))
    notifier.event(event("recovery", "INFO", "recovery clean: 0 correction(s)", clean=True))
    notifier.event(event("recovery", "INFO", "recovery corrected: 1 correction(s)", clean=False))
    assert notifier.close()

    # Without any wait for a batch window: ERROR and CRITICAL to alerts, the trading story to trades.
    alerts, trades = texts(slack, ALERTS), texts(slack, TRADES)
    assert [t.split("\n")[1] for t in alerts] == ["005930 order outcome unknown", "stop mode: daily loss limit"]
    assert [t.split("\n")[1] for t in trades] == [
        "BUY 31 005930 @ 62900 (order 0000000001)",
        "stop mode: daily loss limit",
        "recovery corrected: 1 correction(s)",
    ]
    assert "*CRITICAL* `stop_mode` [sim] 2025-06-13 10:00:00 KST" in alerts[1]
    # INFO that is not part of the trading story is never sent.
    assert not any("market" in t or "recovery clean" in t for t in alerts + trades)
    assert notifier.stats.not_sent == 2


def test_route_when_channel_ids_are_used_then_every_post_names_an_id_and_the_bot_token(slack, clock):
    notifier = make_notifier(slack.base_url, clock)
    notifier.event(event("fill", "INFO", "SELL 5 005930 @ 70000 (order 0000000002)"))
    assert notifier.close()

    assert slack.calls("auth.test")  # the token is checked when the worker starts
    posts = slack.calls("chat.postMessage")
    assert [p.fields["channel"] for p in posts] == [TRADES]
    assert all(p.authorization == f"Bearer {TOKEN}" for p in slack.requests if p.method != "upload")


# -- WARNING BATCH AND DUPLICATES ---------------------------------------------------------------------


def test_batch_when_warnings_arrive_then_one_message_after_five_minutes(slack, clock):
    notifier = make_notifier(slack.base_url, clock)
    notifier.event(event("risk_denied", "WARNING", "005930 BUY ENTRY denied by max_open_positions"))
    notifier.event(event("risk_denied", "WARNING", "005930 BUY ENTRY denied by max_open_positions"))
    notifier.event(event("params_fallback", "WARNING", "no ACTIVE strategy_params; using defaults"))
    time.sleep(0.3)  # the worker has seen them all
    clock.advance(timedelta(minutes=4, seconds=59))
    time.sleep(0.2)
    assert texts(slack, ALERTS) == []  # still inside the window

    clock.advance(timedelta(seconds=1))
    slack.wait_for(lambda s: len(s.messages(ALERTS)) == 1)

    batch = texts(slack, ALERTS)[0]
    assert batch.startswith(":warning: *3 warning(s)* [sim] since 10:00 KST")
    assert "`risk_denied` 005930 BUY ENTRY denied by max_open_positions (×2)" in batch
    assert "`params_fallback` no ACTIVE strategy_params; using defaults" in batch
    assert notifier.close() and len(texts(slack, ALERTS)) == 1  # nothing left to flush


def test_batch_when_closing_before_the_window_ends_then_pending_warnings_are_sent(slack, clock):
    notifier = make_notifier(slack.base_url, clock)
    notifier.event(event("order_not_placed", "WARNING", "005930 order never reached the broker"))

    assert notifier.close()

    assert len(texts(slack, ALERTS)) == 1 and "order never reached the broker" in texts(slack, ALERTS)[0]


def test_dedupe_when_the_same_alert_repeats_within_a_minute_then_it_is_sent_once(slack, clock):
    notifier = make_notifier(slack.base_url, clock)
    failure = event("order_outcome_unknown", "ERROR", "005930 order outcome unknown (timeout)")
    notifier.event(failure)
    notifier.event(failure)
    slack.wait_for(lambda s: len(s.messages(ALERTS)) == 1)
    time.sleep(0.1)
    clock.advance(timedelta(seconds=59))
    notifier.event(failure)
    time.sleep(0.2)
    assert len(texts(slack, ALERTS)) == 1

    clock.advance(timedelta(seconds=1))
    notifier.event(failure)
    assert notifier.close()

    assert len(texts(slack, ALERTS)) == 2
    assert notifier.stats.suppressed == 2


def test_dedupe_when_two_fills_read_alike_then_both_are_sent(slack, clock):
    # Partial fills of one order at one price read the same; each is a recorded fact, never suppressed.
    notifier = make_notifier(slack.base_url, clock)
    notifier.event(event("fill", "INFO", "BUY 10 005930 @ 62900 (order 0000000001)", broker_fill_id="1"))
    notifier.event(event("fill", "INFO", "BUY 10 005930 @ 62900 (order 0000000001)", broker_fill_id="2"))
    assert notifier.close()

    assert len(texts(slack, TRADES)) == 2


# -- DAILY REPORT -------------------------------------------------------------------------------------


def settlement(day: date, start: int, end: int, **values: object) -> DailySettlement:
    fields: dict[str, object] = dict(
        account_id="SIM-test",
        trading_date=day,
        mode="sim",
        start_equity_krw=Decimal(start),
        end_equity_krw=Decimal(end),
        cash_krw=Decimal(end),
        realized_pnl_krw=Decimal(0),
        unrealized_pnl_krw=Decimal(0),
        commission_krw=Decimal(0),
        tax_krw=Decimal(0),
        orders_count=0,
        fills_count=0,
        return_pct=Decimal(0),
        summary={},
        ts_created=T0,
    )
    fields.update(values)
    return DailySettlement(**fields)  # type: ignore[arg-type]


def test_report_when_a_session_closes_then_trades_channel_gets_the_report_with_the_equity_curve(slack, clock):
    history = [
        settlement(date(2025, 6, 12), 10_000_000, 10_200_000),
        settlement(
            date(2025, 6, 13),
            10_200_000,
            9_996_000,
            realized_pnl_krw=Decimal(-200_000),
            commission_krw=Decimal(1_433),
            tax_krw=Decimal(2_567),
            orders_count=1,
            fills_count=1,
            return_pct=Decimal("-2.0"),
        ),
    ]
    notifier = make_notifier(slack.base_url, clock)

    sale = Fill(
        broker_fill_id="0000000007-1",
        broker_order_number="0000000007",
        symbol="005930",
        side=Side.SELL,
        quantity=Decimal(20),
        price=Decimal(59_500),
        commission_krw=Decimal(1_433),
        tax_krw=Decimal(2_567),
        ts_filled=T0,
        trading_date=date(2025, 6, 13),
    )
    notifier.session_closed(build_daily_report(history, date(2025, 6, 13), [sale]))
    assert notifier.close(timeout_secs=30)

    [upload] = slack.completed_uploads()
    assert upload["channel_id"] == TRADES
    comment = upload["initial_comment"]
    assert comment.startswith(":bar_chart: *Daily report 2025-06-13* [sim]")
    assert "Realized PnL -204,000 KRW net (-200,000 KRW gross, commission 1,433 KRW, tax 2,567 KRW)" in comment
    assert "Trades: 1 fill(s) of 1 order(s)\n" in comment and "• 10:00:00 SELL 20 005930 @ 59,500" in comment
    assert "Drawdown 2.000% (max 2.000%, 204,000 KRW), peak 10,200,000 KRW" in comment
    [png] = slack.uploads.values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_report_when_the_upload_fails_then_the_text_is_posted_alone(slack, clock):
    notifier = make_notifier(slack.base_url, clock, attach_chart=True)
    slack.set_outage("error500")
    notifier.session_closed(
        build_daily_report([settlement(date(2025, 6, 13), 10_000_000, 10_000_000)], date(2025, 6, 13))
    )
    slack.wait_for(lambda s: len(s.calls("files.getUploadURLExternal")) >= 1)
    slack.set_outage("none")

    assert notifier.close(timeout_secs=30)

    assert slack.completed_uploads() == []
    assert [t.splitlines()[0] for t in texts(slack, TRADES)] == [":bar_chart: *Daily report 2025-06-13* [sim]"]


# -- OUTAGES ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["error500", "ratelimited"])
def test_outage_when_slack_fails_then_nothing_raises_and_messages_go_out_after_it_ends(slack, clock, mode):
    notifier = make_notifier(slack.base_url, clock)
    slack.set_outage(mode, retry_after_secs=0)
    notifier.event(event("stop_mode", "CRITICAL", "stop mode: recovery could not reconcile"))
    slack.wait_for(lambda s: len(s.calls("chat.postMessage")) >= 2)  # both channels tried, both failed
    assert texts(slack, ALERTS) == []

    slack.set_outage("none")
    clock.advance(timedelta(seconds=5))  # the first retry is due

    slack.wait_for(lambda s: len(s.messages(ALERTS)) == 1 and len(s.messages(TRADES)) == 1)
    assert notifier.close()
    assert notifier.stats.failed == 2 and notifier.stats.sent == 2 and notifier.stats.given_up == 0


def test_outage_when_connection_is_refused_then_notices_are_counted_as_given_up(clock):
    notifier = make_notifier(refused_base_url(), clock)

    notifier.event(event("kill_switch", "CRITICAL", "kill switch honoured: test; exiting"))
    assert notifier.close(timeout_secs=30)

    assert notifier.stats.sent == 0 and notifier.stats.given_up == 2  # trades and alerts copies


def test_outage_when_slack_hangs_and_the_queue_is_full_then_event_returns_at_once_and_drops(slack, clock):
    notifier = make_notifier(slack.base_url, clock, queue_size=3)
    slack.wait_for(lambda s: len(s.calls("auth.test")) == 1)
    slack.set_outage("hang", hang_secs=20)
    notifier.event(event("fill", "INFO", "first fill"))
    slack.wait_for(lambda s: s.in_flight >= 1)  # the worker is stuck in the first post

    started = time.perf_counter()
    for n in range(100):
        notifier.event(event("fill", "INFO", f"fill {n}"))
    elapsed = time.perf_counter() - started

    assert elapsed < 0.5  # 100 notices while Slack hangs: no waiting on the caller's side
    assert notifier.stats.overflow == 97  # three fit in the queue, the rest are dropped and counted
    slack.set_outage("none")
    notifier.close(timeout_secs=5)
