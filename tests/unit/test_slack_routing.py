"""Where each event goes on Slack, duplicate windows and warning batches (pure rules, no network)."""

from datetime import UTC, datetime, timedelta

import pytest

from stock_manager.adapters.notifications.slack_routing import Deduper, Route, WarningBatch, alert_key, route
from stock_manager.service_layer.ports.storage import EventRecord

T0 = datetime(2025, 6, 13, 1, 0, tzinfo=UTC)


def ev(kind: str, severity: str, message: str = "m", **payload: object) -> EventRecord:
    return EventRecord(ts_event=T0, kind=kind, severity=severity, message=message, payload=payload)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (ev("order_outcome_unknown", "ERROR"), Route(("A",), batch=False, alert=True)),
        (ev("kill_switch", "CRITICAL"), Route(("T", "A"), batch=False, alert=False)),
        (ev("stop_mode", "CRITICAL"), Route(("T", "A"), batch=False, alert=False)),
        (ev("fill", "INFO"), Route(("T",))),
        (ev("external_fill", "WARNING"), Route(("T",))),
        (ev("order_created", "INFO"), Route(("T",))),
        (ev("order_rejected", "WARNING"), Route(("T",))),
        (ev("risk_denied", "WARNING"), Route((), batch=True)),
        (ev("order_sent", "INFO"), Route(())),
        (ev("market_open", "INFO"), Route(())),
        (ev("recovery", "INFO", clean=True), Route(())),
        (ev("recovery", "INFO", clean=False), Route(("T",))),
        (ev("recovery", "ERROR", clean=False), Route(("T", "A"))),
    ],
)
def test_route_when_an_event_is_recorded_then_it_goes_where_its_kind_and_level_say(record, expected):
    assert route(record, alerts_channel="A", trades_channel="T") == expected


def test_route_when_both_channels_are_one_then_a_stop_is_posted_once():
    assert route(ev("stop_mode", "CRITICAL"), alerts_channel="C1", trades_channel="C1").now == ("C1",)


def test_deduper_when_the_same_key_repeats_then_only_after_the_window_is_it_new_again():
    dedupe = Deduper(timedelta(minutes=1))
    key = alert_key(ev("x", "ERROR", "boom"))

    assert [
        dedupe.first(key, T0),
        dedupe.first(key, T0 + timedelta(seconds=59)),
        dedupe.first(key, T0 + timedelta(seconds=60)),
        dedupe.first("other", T0),
    ] == [True, False, True, True]


def test_batch_when_warnings_repeat_then_each_distinct_warning_is_kept_once_with_its_count():
    batch = WarningBatch(timedelta(minutes=5))
    batch.add(ev("risk_denied", "WARNING", "a"), T0)
    batch.add(ev("risk_denied", "WARNING", "b"), T0 + timedelta(minutes=1))
    batch.add(ev("risk_denied", "WARNING", "a"), T0 + timedelta(minutes=2))

    assert not batch.due(T0 + timedelta(minutes=4, seconds=59)) and batch.due(T0 + timedelta(minutes=5))
    taken, started = batch.take()
    assert [(r.message, n) for r, n in taken] == [("a", 2), ("b", 1)] and started == T0
    assert not batch.due(T0 + timedelta(hours=1))
