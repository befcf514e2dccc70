"""The dashboard as a person uses it: Debian's Chromium (headless, through Playwright) on pages served over
loopback, from a database seeded by a real sim run, and against a sim daemon trading in a subprocess.

Screenshots of each page go to the directory named at the end of the run (``STOCKBOT_ARTIFACTS_DIR`` when set).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from stock_manager.adapters.storage import tables
from tests.dashboard.support import PASSWORD, config_for, copy_sqlite, serving
from tests.e2e.support import cli_env, query, start_stockbot, stockbot
from tests.e2e.test_cli_control import wait_for_state

pytestmark = pytest.mark.slow


@contextmanager
def seeded_dashboard(seeded: Path, tmp_path: Path, **config: Any) -> Iterator[str]:
    """Serve the dashboard (`config_for` with `config`) on a copy of the seeded database; yield its base URL."""
    with serving(config_for(copy_sqlite(seeded, tmp_path / "db"), tmp_path, **config)) as url:
        yield url


def numbers(text: str) -> str:
    return text.replace(",", "").replace("+", "").strip()


def test_overview_when_seeded_by_a_sim_run_then_same_positions_and_pnl_as_status_json(
    browser, seeded_sqlite, tmp_path, shots
):
    db_url = copy_sqlite(seeded_sqlite, tmp_path / "db")
    status = stockbot("status", "--json", env=cli_env(tmp_path / "data", db_url), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    expected = json.loads(status.stdout)
    with serving(config_for(db_url, tmp_path)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        rows = page.locator("#positions tbody tr").all()
        shown = {
            row.get_attribute("data-symbol"): (
                numbers(row.locator(".qty").inner_text()),
                numbers(row.locator(".realized").inner_text()),
            )
            for row in rows
        }
        realized_today = numbers(page.locator("#realized-today").inner_text())
        state = page.locator("#daemon-state").inner_text()
        page.screenshot(path=shots / "overview.png", full_page=True)
        page.close()
    assert shown == {
        p["symbol"]: (f"{float(p['quantity']):g}", f"{float(p['realized_pnl_krw']):.0f}") for p in expected["positions"]
    }
    assert float(realized_today) == round(float(expected["realized_pnl_today_krw"]))
    assert state == expected["daemon"]["trading_state"] == "EXITED"


def test_orders_page_when_filtered_then_only_matching_orders_and_each_has_its_timeline(
    browser, seeded_sqlite, tmp_path, shots
):
    with seeded_dashboard(seeded_sqlite, tmp_path) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/orders")
        everything = page.locator("#orders tbody tr[data-symbol]").count()
        page.fill("input[name=symbol]", "005930")
        page.click("#order-filters button[type=submit]")
        page.wait_for_url("**/orders?*symbol=005930*")
        by_symbol = [r.get_attribute("data-symbol") for r in page.locator("#orders tbody tr[data-symbol]").all()]
        page.screenshot(path=shots / "orders.png", full_page=True)
        page.select_option("select[name=status]", "CANCELED")
        page.click("#order-filters button[type=submit]")
        page.wait_for_url("**status=CANCELED*")
        canceled = page.locator("#orders tbody tr[data-symbol]").count()
        page.goto(url + "/orders?date_from=2023-02-20&date_to=2023-03-03")
        late = [r.get_attribute("data-symbol") for r in page.locator("#orders tbody tr[data-symbol]").all()]
        page.click("#orders tbody tr[data-symbol] a")
        steps = page.locator("#timeline li b").all_inner_texts()
        timeline = page.locator("#timeline").inner_text()
        page.screenshot(path=shots / "order-timeline.png", full_page=True)
        for name, path in [
            ("events", "/events?severity=INFO"),
            ("risk", "/risk"),
            ("reports", "/reports"),
            ("report", "/reports/2023-02-17"),
            ("parameters", "/parameters"),
            ("api", "/api-docs"),
        ]:
            page.goto(url + path)
            if name == "reports":
                page.wait_for_selector(".equity-chart canvas")
            page.screenshot(path=shots / f"{name}.png", full_page=True)
        page.goto(url + "/events?severity=WARNING")
        severities = set(
            page.locator("#events li[data-severity]").evaluate_all("items => items.map(i => i.dataset.severity)")
        )
        page.close()
    assert everything == 2 and by_symbol == ["005930"] and canceled == 0 and late == ["069500"]
    assert steps[:2] == ["NEW", "order_created"] and {"SENT", "order_sent", "FILLED", "fill"} <= set(steps)
    assert "golden cross" in timeline
    assert severities <= {"WARNING", "ERROR", "CRITICAL"}


def test_overview_on_a_phone_when_rendered_then_no_horizontal_scroll(browser, seeded_sqlite, tmp_path, shots):
    with seeded_dashboard(seeded_sqlite, tmp_path) as url:
        page = browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        page.goto(url + "/")
        page.wait_for_selector(".equity-chart canvas")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=shots / "overview-phone.png", full_page=True)
        page.goto(url + "/control/kill")
        kill_widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=shots / "kill-confirm-phone.png", full_page=True)
        page.close()
    assert widths[0] <= widths[1] == 390
    assert kill_widths[0] <= kill_widths[1]


def test_overview_when_a_live_update_lands_then_the_kill_controls_stay_the_same_elements(
    browser, seeded_sqlite, tmp_path, shots
):
    # A press on Kill… must not be lost to a live update that lands between the press and the release (a click
    # needs both on one element): the update keeps the controls' elements and replaces what is around them.
    with seeded_dashboard(seeded_sqlite, tmp_path) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        page.wait_for_selector("#kill-krx")
        kept, replaced = page.evaluate(
            """() => new Promise(resolve => {
                const controls = ["kill-krx", "kill-all"].map(id => document.getElementById(id));
                const table = document.getElementById("venue-table");
                // Only this request's settle counts (a live update already under way may settle first).
                document.body.addEventListener("htmx:afterSettle", e => {
                    if (!e.detail.xhr || !e.detail.xhr.responseURL.includes("probe=1")) return;
                    resolve([
                        controls.map(c => c !== null && document.getElementById(c.id) === c),
                        document.getElementById("venue-table") !== table,
                    ]);
                });
                htmx.ajax("GET", "/fragments/overview?probe=1", {target: "#overview-live", swap: "innerHTML"});
            })"""
        )
        page.click("#kill-krx")
        page.wait_for_url("**/control/kill?scope=krx")
        chosen = page.locator("input[name=scope]:checked").get_attribute("value")
        page.close()
    assert replaced, "the live update did not replace the overview"
    assert kept == [True, True]
    assert chosen == "krx"


def test_pages_when_a_password_is_set_then_login_first(browser, seeded_sqlite, tmp_path, shots):
    from stock_manager.entrypoints.dashboard.security import hash_password

    with seeded_dashboard(seeded_sqlite, tmp_path, password_hash=hash_password(PASSWORD)) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url + "/orders")
        landed = page.url
        page.screenshot(path=shots / "login.png", full_page=True)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url("**/orders")
        title = page.locator("h1").first.inner_text()
        page.close()
    assert landed.endswith("/login?next=/orders")
    assert title == "Orders and fills"


def test_running_daemon_when_it_fills_then_the_open_page_shows_it_and_kill_stops_it_within_a_second(
    browser, tmp_path, shots
):
    # Arrange: a sim daemon replaying about 1.2 s per session; its first fill comes on its fifth session.
    db_url = f"sqlite+aiosqlite:///{(tmp_path / 'live.db').as_posix()}"
    env = cli_env(tmp_path / "data", db_url, SIM_SPEED="20000")
    daemon = start_stockbot("run", env=env, cwd=tmp_path)
    try:
        wait_for_state(db_url, "TRADING", 60, process=daemon)
        with serving(config_for(db_url, tmp_path)) as url:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/")
            page.evaluate("() => { window.__notReloaded = true; }")
            fills_before = page.locator("#fills tbody tr").all_inner_texts()
            # Act 1: wait for a fill to appear on the open page.
            page.wait_for_selector("#fills tbody tr:has-text('BUY')", timeout=45_000)
            still_same_page = page.evaluate("() => window.__notReloaded === true")
            page.screenshot(path=shots / "overview-live-fill.png", full_page=True)
            assert daemon.poll() is None, "the daemon finished before the kill could be tried"
            # Act 2: kill from the page, with the confirmation step.
            page.click("#kill-button")
            page.check("input[name=action][value=halt]")
            page.fill("input[name=reason]", "browser test")
            page.click("#confirm-kill")
            page.wait_for_selector("#kill-switch:has-text('SET')")
            exit_code = daemon.wait(timeout=10)
            page.wait_for_selector("#daemon-state:has-text('EXITED')", timeout=10_000)
            page.screenshot(path=shots / "overview-killed.png", full_page=True)
            page.close()
    finally:
        if daemon.poll() is None:
            daemon.kill()
    # Assert
    assert not any("BUY" in row for row in fills_before) and still_same_page
    assert exit_code == 3
    [(ts_set, set_by)] = query(db_url, select(tables.kill_switch.c.ts_changed, tables.kill_switch.c.set_by))
    [(ts_exited,)] = query(db_url, select(tables.daemon_state.c.ts_heartbeat))
    assert set_by == "dashboard 127.0.0.1" and 0 < (ts_exited - ts_set).total_seconds() < 1.0
    messages = [
        m for (m,) in query(db_url, select(tables.events.c.message).where(tables.events.c.kind == "kill_switch_set"))
    ]
    assert messages == ["kill switch set from the dashboard (127.0.0.1) (halt): browser test"]
    assert Path(shots / "overview-killed.png").exists()
