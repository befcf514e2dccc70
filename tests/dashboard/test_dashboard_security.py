"""The dashboard's protections over HTTP: login, redirects and 401s, CSRF on every state-changing request,
limited login attempts, read-only mode, no secret or full account number in any answer, and refusing to serve
the network without a password."""

from pathlib import Path

import httpx
import pytest

from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.dashboard.security import hash_password
from stock_manager.entrypoints.dashboard.server import check_binding
from tests.dashboard.support import PASSWORD, config_for, serving

PAGES = [
    "/",
    "/orders",
    "/orders/1",
    "/events",
    "/risk",
    "/reports",
    "/reports/2023-03-03",
    "/parameters",
    "/parameters/drafts/1",
    "/journal",
    "/api-docs",
    "/control/kill",
    "/control/resume",
    "/control/drafts/1/approve",
    "/control/drafts/1/reject",
]
NOT_PAGES = [
    "/fragments/overview",
    "/fragments/orders",
    "/fragments/events",
    "/stream",
    "/api/status",
    "/api/overview",
    "/api/orders",
    "/api/orders/1",
    "/api/events",
    "/api/risk",
    "/api/reports",
    "/api/equity",
    "/api/parameters",
    "/api/venues",
    "/api/drafts",
    "/api/drafts/1",
    "/api/journal",
    "/api/openapi.json",
]
CONTROLS = ["/control/kill", "/control/resume", "/control/drafts/1/approve", "/control/drafts/1/reject"]


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def csrf_of(html: str) -> str:
    return html.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]


def login(client: httpx.Client) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"password": PASSWORD, "csrf_token": token, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_every_page_and_control_when_not_logged_in_then_redirects_or_401(db_url, tmp_path, password_hash):
    with (
        serving(config_for(db_url, tmp_path, password_hash=password_hash)) as url,
        httpx.Client(base_url=url, headers={"accept": "text/html"}) as client,
    ):
        for path in PAGES:
            answer = client.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (303, f"/login?next={path}"), path
        for path in NOT_PAGES:
            assert client.get(path).status_code == 401, path
        for path in CONTROLS:
            assert client.post(path, data={"confirm": "yes"}).status_code == 401, path
        assert client.get("/login").status_code == 200
        assert client.get("/static/app.css").status_code == 200  # assets only


def test_login_when_password_right_then_pages_open_and_session_cookie_is_strict(db_url, tmp_path, password_hash):
    with (
        serving(config_for(db_url, tmp_path, password_hash=password_hash)) as url,
        httpx.Client(base_url=url) as client,
    ):
        token = csrf_of(client.get("/login").text)
        wrong = client.post("/login", data={"password": "nope-nope", "csrf_token": token})
        answer = client.post("/login", data={"password": PASSWORD, "csrf_token": token})
        cookie = answer.headers["set-cookie"].lower()
        pages = {path: client.get(path).status_code for path in ["/", "/api/status", "/events", "/risk"]}
    assert wrong.status_code == 401
    assert answer.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
    assert set(pages.values()) == {200}


def test_login_when_attempts_repeat_then_limited_with_retry_after(db_url, tmp_path, password_hash):
    with (
        serving(config_for(db_url, tmp_path, password_hash=password_hash)) as url,
        httpx.Client(base_url=url) as client,
    ):
        token = csrf_of(client.get("/login").text)
        codes = [
            client.post("/login", data={"password": f"guess-{i}", "csrf_token": token}).status_code for i in range(6)
        ]
        right = client.post("/login", data={"password": PASSWORD, "csrf_token": token})
    assert codes == [401] * 5 + [429]
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0  # even the right one waits


@pytest.mark.parametrize("forged", [{}, {"csrf_token": "forged"}], ids=["no-token", "wrong-token"])
def test_kill_when_posted_without_the_csrf_token_then_refused_and_switch_untouched(db_url, tmp_path, forged):
    with serving(config_for(db_url, tmp_path)) as url, httpx.Client(base_url=url) as client:
        client.get("/")  # a session with a token exists; the forged request does not carry it
        refused = client.post("/control/kill", data={"action": "halt", "confirm": "yes", **forged})
        status = client.get("/api/status").json()
        token = csrf_of(client.get("/control/kill").text)
        other_site = client.post(
            "/control/kill",
            data={"action": "halt", "confirm": "yes", "csrf_token": token},
            headers={"origin": "http://evil.example"},
        )
    assert refused.status_code == 403 and other_site.status_code == 403
    assert status["kill_switch"]["active"] is False


def test_kill_when_confirmed_with_the_token_then_set_with_who_and_resume_clears(db_url, tmp_path):
    with serving(config_for(db_url, tmp_path)) as url, httpx.Client(base_url=url) as client:
        token = csrf_of(client.get("/control/kill").text)
        unconfirmed = client.post("/control/kill", data={"action": "flatten", "csrf_token": token})
        killed = client.post(
            "/control/kill", data={"action": "flatten", "csrf_token": token, "confirm": "yes", "reason": "phone test"}
        )
        after_kill = client.get("/api/status").json()["kill_switch"]
        events = client.get("/api/events", params={"severity": "WARNING"}).json()["events"]
        resumed = client.post("/control/resume", data={"csrf_token": token, "confirm": "yes"})
        after_resume = client.get("/api/status").json()["kill_switch"]
    assert unconfirmed.status_code == 422
    assert killed.status_code == 303 and after_kill["active"] and after_kill["action"] == "flatten"
    messages = [e["message"] for e in events]
    assert "kill switch set from the dashboard (127.0.0.1) (flatten): phone test" in messages
    assert resumed.status_code == 303 and not after_resume["active"]


def test_read_only_when_serving_then_controls_hidden_and_refused(db_url, tmp_path):
    with serving(config_for(db_url, tmp_path, read_only=True)) as url, httpx.Client(base_url=url) as client:
        page = client.get("/").text
        token = csrf_of(page)
        answers = [
            client.get("/control/kill").status_code,
            client.post("/control/kill", data={"csrf_token": token, "confirm": "yes"}).status_code,
            client.post("/control/resume", data={"csrf_token": token, "confirm": "yes"}).status_code,
        ]
    assert 'id="kill-button"' not in page and "Read-only" in page
    assert answers == [403, 403, 403]


def test_serving_the_network_when_no_password_then_refused(tmp_path):
    config = config_for(f"sqlite+aiosqlite:///{(tmp_path / 'x.db').as_posix()}", tmp_path, host="0.0.0.0")

    with pytest.raises(ConfigurationError, match="set-password"):
        check_binding(config)


def test_set_password_when_written_to_dotenv_then_settings_read_the_hash_back(tmp_path, monkeypatch):
    from stock_manager.config.settings import load_settings
    from stock_manager.entrypoints.cli_dashboard import write_setting
    from stock_manager.entrypoints.dashboard.security import verify_password

    monkeypatch.chdir(tmp_path)
    Path(".env").write_text("MODE=sim\nDASHBOARD_PASSWORD_HASH=\n", encoding="utf-8")
    write_setting(Path(".env"), "DASHBOARD_PASSWORD_HASH", hash_password(PASSWORD))

    settings = load_settings()

    assert Path(".env").read_text(encoding="utf-8").count("DASHBOARD_PASSWORD_HASH") == 1
    assert verify_password(settings.dashboard_password_hash.get_secret_value(), PASSWORD)
    assert PASSWORD not in Path(".env").read_text(encoding="utf-8")
