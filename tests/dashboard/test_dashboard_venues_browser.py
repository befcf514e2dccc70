"""Every venue and the parameter drafts as a person uses them, in Debian's Chromium (headless, through
Playwright): a draft approved from its page after the confirmation step; the venue selector turning the pages to
the Upbit account (times in KST and UTC, Bitcoin to 8 decimals); and, with a KRX and an Upbit sim daemon trading
side by side on one database, the kill of Upbit alone from the overview: the Upbit daemon stops, the KRX daemon
trades on. Screenshots go where the other dashboard tests put theirs."""

import re
import time

import pytest
from sqlalchemy import func, select

from stock_manager.adapters.storage import tables
from tests.dashboard.support import config_for, copy_sqlite, serving
from tests.e2e.support import cli_env, query, start_stockbot

pytestmark = pytest.mark.slow

WHO = "dashboard 127.0.0.1"


def test_draft_when_approved_from_its_page_then_active_from_the_next_session_and_decided_by_the_client(
    browser, seeded_venues, tmp_path, shots
):
    db_url = copy_sqlite(seeded_venues, tmp_path / "db")
    [newest] = query(db_url, select(func.max(tables.strategy_param_drafts.c.id)))
    draft_id = newest[0]
    with serving(config_for(db_url, tmp_path)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/parameters")
        strategies = page.locator("#params-in-force tbody tr").evaluate_all("rows => rows.map(r => r.dataset.strategy)")
        page.screenshot(path=shots / "parameters-drafts.png", full_page=True)
        page.click(f"#drafts tr[data-draft='{draft_id}'] a")
        page.wait_for_url(f"**/parameters/drafts/{draft_id}")
        evidence = page.locator("#evidence tr[data-figure='sharpe']").inner_text()
        page.screenshot(path=shots / "draft.png", full_page=True)
        page.click("#approve-draft")
        page.fill("textarea[name=reason]", "beats the defaults out of sample")
        page.screenshot(path=shots / "draft-approve-confirm.png", full_page=True)
        page.click("#confirm-decision")
        page.wait_for_selector("#done")
        status = page.locator("#draft-status").inner_text()
        decision = page.locator("#decision").inner_text()
        page.screenshot(path=shots / "draft-approved.png", full_page=True)
        page.close()
    assert strategies == ["ma_cross_50_200", "volatility_breakout", "grid", "turtle"]
    assert re.fullmatch(r"sharpe\s+-?\d+\.\d+\s+-?\d+\.\d+", evidence.strip())
    assert status == "APPROVED" and f"by {WHO}" in decision and "beats the defaults out of sample" in decision
    [row] = query(db_url, select(tables.strategy_params))
    assert (row.status, str(row.effective_date), row.source) == (
        "ACTIVE",
        "2023-03-06",
        f"draft {draft_id} approved by {WHO}",
    )


def test_venue_selector_when_upbit_is_chosen_then_pages_show_its_account_in_kst_and_utc(
    browser, seeded_venues, tmp_path, shots
):
    db_url = copy_sqlite(seeded_venues, tmp_path / "db")
    with serving(config_for(db_url, tmp_path)) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
        page.goto(url + "/?venue=krx")
        krx_heading = page.locator("#shown-venue").inner_text()
        page.select_option("#venue-select", "upbit")  # applies on choice
        page.wait_for_url("**/?venue=upbit")
        heading = page.locator("#shown-venue").inner_text()
        quantities = page.locator("#positions .qty").all_inner_texts()
        heartbeat = page.locator("#heartbeat").inner_text()
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=shots / "overview-upbit-phone.png", full_page=True)
        page.goto(url + "/orders")  # the choice is remembered
        symbols = set(page.locator("#orders tbody tr[data-symbol]").evaluate_all("rs => rs.map(r => r.dataset.symbol)"))
        page.screenshot(path=shots / "orders-upbit-phone.png", full_page=True)
        page.goto(url + "/journal")
        journal = page.locator("#journal-text").inner_text()
        page.screenshot(path=shots / "journal-upbit-phone.png", full_page=True)
        page.close()
    assert krx_heading == "KRX stocks (KIS)" and heading == "Bitcoin (Upbit)"
    assert quantities and all(re.fullmatch(r"\d+\.\d{8}", q) for q in quantities)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", heartbeat)
    assert widths[0] <= widths[1] == 390
    assert symbols == {"KRW-BTC"}
    assert journal.startswith("[Trade journal] 2024-03-03") and "UPBIT-" in journal


def _state(db_url: str, pid: int) -> str | None:
    rows = query(db_url, select(tables.daemon_state.c.trading_state).where(tables.daemon_state.c.pid == pid))
    return rows[0][0] if rows else None


def _wait_trading(db_url: str, process, timeout_secs: float) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the daemon exited with {process.returncode} before trading"
        try:
            if _state(db_url, process.pid) == "TRADING":
                return
        except Exception:  # the schema may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError("the daemon never reached TRADING")


def test_kill_of_upbit_from_the_overview_when_both_venues_trade_then_only_the_upbit_daemon_stops(
    browser, tmp_path, shots
):
    # Arrange: a KRX daemon (about 1.2 s per session for four months) and an Upbit daemon (about 4 s per UTC day
    # for a year) trading side by side on one database.
    db_url = f"sqlite+aiosqlite:///{(tmp_path / 'both.db').as_posix()}"
    krx_env = cli_env(tmp_path / "data", db_url, SIM_SPEED="20000", SIM_TO="2023-06-30")
    upbit_env = {k: v for k, v in krx_env.items() if k not in ("SIM_FROM", "SIM_TO", "SIM_SYMBOLS")}
    krx = start_stockbot("run", env=krx_env, cwd=tmp_path)
    upbit = None
    try:
        _wait_trading(db_url, krx, 90)
        upbit = start_stockbot("run", "--venue", "upbit", env=upbit_env, cwd=tmp_path)
        _wait_trading(db_url, upbit, 90)
        with serving(config_for(db_url, tmp_path)) as url:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/")
            page.wait_for_selector("#venue-table tr[data-venue='upbit'] .venue-state:has-text('TRADING')")
            page.screenshot(path=shots / "overview-both-venues.png", full_page=True)
            # Act: kill Upbit's daemon only, through the confirmation step.
            page.click("#kill-upbit")
            page.wait_for_url("**/control/kill?scope=upbit")
            chosen = page.locator("input[name=scope]:checked").get_attribute("value")
            page.screenshot(path=shots / "kill-upbit-confirm.png", full_page=True)
            page.fill("input[name=reason]", "bitcoin only")
            page.click("#confirm-kill")
            page.wait_for_selector("#venue-table tr[data-venue='upbit'] .venue-kill:has-text('SET')")
            upbit_exit = upbit.wait(timeout=15)
            page.wait_for_selector(
                "#venue-table tr[data-venue='upbit'] .venue-state:has-text('EXITED')", timeout=10_000
            )
            time.sleep(1.0)  # the KRX daemon keeps its sessions going meanwhile
            krx_alive = krx.poll() is None
            krx_state = _state(db_url, krx.pid)
            krx_row = page.locator("#venue-table tr[data-venue='krx']").inner_text()
            page.screenshot(path=shots / "overview-upbit-killed.png", full_page=True)
            page.close()
    finally:
        for process in (upbit, krx):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    # Assert
    assert chosen == "upbit"
    assert upbit_exit == 3  # stopped by the kill switch
    assert krx_alive and krx_state in ("TRADING", "WAITING") and "clear" in krx_row and "EXITED" not in krx_row
    switches = {
        s: (a, who)
        for s, a, who in query(
            db_url, select(tables.kill_switch.c.scope, tables.kill_switch.c.active, tables.kill_switch.c.set_by)
        )
    }
    assert switches == {"upbit": (True, WHO)}
