"""Every venue and the AI drafts over HTTP (no browser): on a database where the KRX daemon (with the keyless
nightly AI jobs) and then the Upbit daemon traded, the JSON endpoints show each venue's daemon and kill switch
as ``stockbot status --venue`` does, kill and resume act per venue, every strategy's parameters are listed, and a
draft is approved or rejected under the rules of ``stockbot params approve|reject`` with the dashboard's client
recorded as who decided. On SQLite and PostgreSQL (`venues_db`)."""

import json
import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from stock_manager.domain.strategies.registry import STRATEGIES
from tests.dashboard.support import config_for, serving
from tests.dashboard.test_dashboard_security import csrf_of
from tests.e2e.support import cli_env, query, stockbot

pytestmark = pytest.mark.slow

WHO = "dashboard 127.0.0.1"


def cli_json(db_url: str, tmp_path: Path, *args: str) -> object:
    # The venue's own symbols and period (the KRX test period of `cli_env` is not Upbit's).
    env = {k: v for k, v in cli_env(tmp_path / "data", db_url).items() if not k.startswith("SIM_")}
    done = stockbot(*args, "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_venues_when_both_traded_then_each_daemon_and_switch_as_status_venue_json(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        board = client.get("/api/venues").json()
        status = {v: client.get("/api/status", params={"venue": v}).json() for v in ("krx", "upbit")}
        latest = client.get("/api/status").json()
        unknown = client.get("/api/status", params={"venue": "nasdaq"})
        upbit_page = client.get("/", params={"venue": "upbit"}).text
        every_event = client.get("/events", params={"venue": "latest", "severity": "WARNING"}).text
    cli = {v: cli_json(venues_db, tmp_path, "status", "--venue", v) for v in ("kis", "upbit")}

    assert [v["venue"] for v in board["venues"]] == ["krx", "upbit"] and board["latest"] == "upbit"
    for row, option in zip(board["venues"], ("kis", "upbit"), strict=True):
        assert row["daemon"]["account_id"] == cli[option]["daemon"]["account_id"]
        assert row["daemon"]["trading_state"] == "EXITED" and row["kill_switch"]["active"] is False
    assert status["krx"] == cli["kis"] and status["upbit"] == cli["upbit"]  # the shapes and values of the CLI's
    assert latest == cli["upbit"]  # without a venue: the latest daemon, as before
    assert unknown.status_code == 422 and "unknown venue 'nasdaq'" in unknown.text
    # The Upbit account's times read in KST and UTC, its quantities to 8 decimals (spec 004).
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", upbit_page)
    # Without a venue the events of both accounts are listed, each in its venue's zones.
    times = re.findall(r"<time>([^<]*)</time>", every_event)
    assert any("UTC" in t for t in times) and any(re.fullmatch(r"2023-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times)
    [quantity] = [p["quantity"] for p in cli["upbit"]["positions"]]
    assert re.search(rf'class="num qty">{re.escape(f"{float(quantity):.8f}")}<', upbit_page)


def test_kill_when_scoped_to_upbit_then_only_upbits_switch_and_resume_clears_it(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        token = csrf_of(client.get("/control/kill?scope=upbit").text)
        bad = client.post("/control/kill", data={"csrf_token": token, "confirm": "yes", "scope": "nasdaq"})
        killed = client.post(
            "/control/kill", data={"csrf_token": token, "confirm": "yes", "scope": "upbit", "reason": "btc only"}
        )
        after_kill = {v["venue"]: v for v in client.get("/api/venues").json()["venues"]}
        krx_status = client.get("/api/status", params={"venue": "krx"}).json()["kill_switch"]
        resumed = client.post("/control/resume", data={"csrf_token": token, "confirm": "yes", "scope": "upbit"})
        after_resume = client.get("/api/venues").json()
    cli_upbit = cli_json(venues_db, tmp_path, "status", "--venue", "upbit")

    assert bad.status_code == 422 and killed.status_code == 303
    assert after_kill["upbit"]["kill_switch"] | {"ts_changed": None} == {
        "scope": "upbit",
        "active": True,
        "action": "halt",
        "reason": "btc only",
        "set_by": WHO,
        "ts_changed": None,
    }
    assert after_kill["krx"]["kill_switch"]["active"] is False and krx_status["active"] is False
    assert resumed.status_code == 303
    assert not any(v["kill_switch"]["active"] for v in after_resume["venues"])
    assert not after_resume["every_venue_switch"]["active"] and cli_upbit["kill_switch"]["active"] is False
    messages = [m for (m,) in query(venues_db, select(tables.events.c.message).order_by(tables.events.c.id))]
    assert "kill switch set from the dashboard (127.0.0.1) for upbit (halt): btc only" in messages
    assert "kill switch cleared from the dashboard (127.0.0.1) (upbit): dashboard resume (by dashboard@127.0.0.1)" in (
        messages
    )


def test_parameters_when_listed_then_every_strategy_with_its_venue_and_source(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        found = client.get("/api/parameters").json()
        page = client.get("/parameters").text

    by_id = {s["strategy_id"]: s for s in found["strategies"]}
    assert list(by_id) == list(STRATEGIES)  # the MA cross and the three Bitcoin strategies
    assert {s: by_id[s]["venue"] for s in by_id} == {
        "ma_cross_50_200": "krx",
        "volatility_breakout": "upbit",
        "grid": "upbit",
        "turtle": "upbit",
    }
    assert by_id["ma_cross_50_200"]["on"] == "2023-03-03" and by_id["grid"]["on"] == "2024-03-03"
    assert all(s["source"] == "built-in defaults" and s["fallback"] for s in by_id.values())
    assert (
        by_id["ma_cross_50_200"]["params"]["short_window_days"] == 50 and by_id["turtle"]["params"]["entry_days"] == 20
    )
    assert all(f'data-strategy="{s}"' in page for s in STRATEGIES)
    assert page.count('data-status="VALIDATED"') == 2


def test_draft_when_approved_from_the_dashboard_then_active_row_and_history_name_the_client(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        drafts = client.get("/api/drafts").json()["drafts"]
        second = max(d["id"] for d in drafts)
        shown = client.get(f"/api/drafts/{second}").json()
        token = csrf_of(client.get(f"/control/drafts/{second}/approve").text)
        form = {"csrf_token": token, "confirm": "yes", "reason": "beats the defaults out of sample"}
        forged = client.post(f"/control/drafts/{second}/approve", data={**form, "csrf_token": "forged"})
        unconfirmed = client.post(f"/control/drafts/{second}/approve", data={**form, "confirm": ""})
        no_reason = client.post(f"/control/drafts/{second}/approve", data={**form, "reason": "  "})
        too_early = client.post(f"/control/drafts/{second}/approve", data={**form, "date_from": "2023-03-03"})
        approved = client.post(f"/control/drafts/{second}/approve", data=form)
        again = client.post(f"/control/drafts/{second}/approve", data=form)
        after = client.get(f"/api/drafts/{second}").json()
    history = cli_json(venues_db, tmp_path, "params", "history")

    assert [d["status"] for d in drafts] == ["VALIDATED", "VALIDATED"]
    assert shown["venue"] == "krx" and shown["in_force_on"] == "2023-03-06" and shown["changes"]
    assert {k: shown["evidence"]["backtests"][k]["period"] for k in ("proposed", "active")} == {
        "proposed": shown["evidence"]["out_of_sample_span"],
        "active": shown["evidence"]["out_of_sample_span"],
    }
    assert forged.status_code == 403 and unconfirmed.status_code == 422
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    assert too_early.status_code == 422 and "saw data up to 2023-03-03: --from must be later" in too_early.text
    assert approved.status_code == 303 and approved.headers["location"] == f"/parameters/drafts/{second}?done=approve"
    assert again.status_code == 422 and f"draft {second} cannot be approved" in again.text
    assert (after["status"], after["decided_by"], after["effective_from"]) == ("APPROVED", WHO, "2023-03-06")
    [row] = query(venues_db, select(tables.strategy_params))
    assert (row.status, row.effective_date, row.source) == (
        "ACTIVE",
        date(2023, 3, 6),
        f"draft {second} approved by {WHO}",
    )
    assert row.params["short_window_days"] == shown["proposed_params"]["short_window_days"]
    assert [(h["kind"], h["who"], h["why"]) for h in history] == [
        ("params approved", WHO, "beats the defaults out of sample")
    ]


def test_draft_when_rejected_then_it_can_no_longer_be_approved_and_nothing_else_changed(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        first = min(d["id"] for d in client.get("/api/drafts").json()["drafts"])
        token = csrf_of(client.get(f"/control/drafts/{first}/reject").text)
        rejected = client.post(
            f"/control/drafts/{first}/reject", data={"csrf_token": token, "confirm": "yes", "reason": "older data"}
        )
        approve = client.post(
            f"/control/drafts/{first}/approve", data={"csrf_token": token, "confirm": "yes", "reason": "changed mind"}
        )
        after = client.get(f"/api/drafts/{first}").json()

    assert rejected.status_code == 303 and approve.status_code == 422
    assert (after["status"], after["decided_by"], after["decision_reason"]) == ("REJECTED", WHO, "older data")
    assert query(venues_db, select(tables.strategy_params)) == []


def test_read_only_when_serving_then_draft_controls_hidden_and_refused(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path, read_only=True)) as url, httpx.Client(base_url=url) as client:
        page = client.get("/parameters/drafts/1").text
        overview = client.get("/").text
        token = csrf_of(page)
        answers = [
            client.get("/control/drafts/1/approve").status_code,
            client.post(
                "/control/drafts/1/approve", data={"csrf_token": token, "confirm": "yes", "reason": "x"}
            ).status_code,
            client.post(
                "/control/drafts/1/reject", data={"csrf_token": token, "confirm": "yes", "reason": "x"}
            ).status_code,
            client.post("/control/kill", data={"csrf_token": token, "confirm": "yes", "scope": "upbit"}).status_code,
        ]
    assert 'id="approve-draft"' not in page and 'id="reject-draft"' not in page
    assert 'id="kill-upbit"' not in overview and 'id="kill-krx"' not in overview
    assert answers == [403, 403, 403, 403]
    assert query(venues_db, select(tables.strategy_params)) == []


def test_journal_when_each_venue_journaled_then_its_text_with_the_account_partly_hidden(venues_db, tmp_path):
    with serving(config_for(venues_db, tmp_path)) as url, httpx.Client(base_url=url) as client:
        krx = client.get("/api/journal", params={"venue": "krx", "day": "2023-02-17"}).json()
        upbit = client.get("/api/journal", params={"venue": "upbit"}).json()
        page = client.get("/journal", params={"venue": "krx", "day": "2023-02-17"}).text
        missing = client.get("/api/journal", params={"venue": "krx", "day": "2023-01-02"})
        account = client.get("/api/venues").json()["venues"][0]["daemon"]["account_id"]
    [(full,)] = query(
        venues_db, select(tables.daemon_state.c.account_id).where(tables.daemon_state.c.account_id.like("SIM-%"))
    )

    assert len(krx["dates"]) == 14 and krx["journal"]["trading_date"] == "2023-02-17"
    assert "reason: golden cross SMA50" in krx["journal"]["text"]
    assert upbit["dates"] == ["2024-03-01", "2024-03-02", "2024-03-03"] and upbit["journal"]["venue"] == "upbit"
    assert "golden cross SMA50" in page and account in page and full not in page
    assert missing.status_code == 404
