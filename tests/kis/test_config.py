"""Specifications of the adapter's configuration: hosts per mode, the loopback-only rule for plain http/ws,
the account format, rate defaults, TR ids per mode, settings → config with clear messages, masking."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KisMode
from stock_manager.adapters.broker.kis.config import KisConfig
from stock_manager.adapters.broker.kis.masking import Masker, mask_account
from stock_manager.adapters.observability.masking import mask
from stock_manager.config.settings import load_settings
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.kis_factory import from_settings, kis_config_from_settings
from tests.kis.support import ACCOUNT, APP_KEY, APP_SECRET, WallClock


def make(**overrides) -> KisConfig:
    values = {
        "mode": KisMode.PAPER,
        "app_key": SecretStr(APP_KEY),
        "app_secret": SecretStr(APP_SECRET),
        "account": ACCOUNT,
        "hts_id": "hts",
    }
    return KisConfig(**(values | overrides))


def test_documented_hosts_and_rates_by_mode():
    paper, real = make(), make(mode="real")

    assert (paper.rest_url, paper.websocket_url) == (
        "https://openapivts.koreainvestment.com:29443",
        "ws://ops.koreainvestment.com:31000",
    )
    assert (real.rest_url, real.websocket_url) == (
        "https://openapi.koreainvestment.com:9443",
        "ws://ops.koreainvestment.com:21000",
    )
    assert (paper.rate_per_sec, real.rate_per_sec) == (1.8, 18.0)
    assert (paper.notice_tr_id, real.notice_tr_id) == ("H0STCNI9", "H0STCNI0")


@pytest.mark.parametrize(
    ("real_id", "paper_id"),
    [
        ("TTTC0012U", "VTTC0012U"),
        ("TTTC8434R", "VTTC8434R"),
        ("CTSC9215R", "VTSC9215R"),
        ("FHKST01010100", "FHKST01010100"),
    ],
)
def test_paper_tr_ids_take_the_v_prefix_except_quotations(real_id, paper_id):
    assert make().tr(real_id) == paper_id
    assert make(mode="real").tr(real_id) == real_id


@pytest.mark.parametrize(
    ("rest", "ws"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8081"),
        ("http://localhost:1", "ws://[::1]:2"),
        ("https://kis.example.com", "wss://kis.example.com/ws"),
    ],
)
def test_plain_http_and_ws_are_allowed_to_loopback_and_tls_anywhere(rest, ws):
    config = make(rest_base_url=rest + "/", ws_url=ws)

    assert config.rest_url == rest and config.websocket_url == ws


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("rest_base_url", "http://kis.example.com"),
        ("ws_url", "ws://10.0.0.5:21000"),
        ("rest_base_url", "ftp://127.0.0.1"),
        ("ws_url", "not a url"),
    ],
)
def test_plain_text_to_a_remote_host_or_a_bad_scheme_is_refused(name, url):
    with pytest.raises(ConfigurationError, match=r"KIS_REST_BASE_URL|KIS_WS_URL"):
        make(**{name: url})


@pytest.mark.parametrize("account", ["5012345601", "5012345-01", "50123456-1", "", "abcdefgh-01"])
def test_account_must_be_cano_dash_product_code(account):
    with pytest.raises(ConfigurationError, match="KIS_ACCOUNT"):
        make(account=account)


def test_account_parts():
    config = make()

    assert (config.cano, config.product_code) == ("50123456", "01")


def test_non_positive_rate_is_refused():
    with pytest.raises(ConfigurationError, match="KIS_RATE_LIMIT_PER_SEC"):
        make(rate_limit_per_sec=0)


def test_settings_without_keys_name_every_missing_setting(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT", "KIS_HTS_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(mode="paper")

    with pytest.raises(ConfigurationError) as caught:
        kis_config_from_settings(settings)

    assert all(n in str(caught.value) for n in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT", "KIS_HTS_ID"))


def test_settings_give_a_broker_with_cache_in_the_data_dir(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIS_APP_KEY", APP_KEY)
    monkeypatch.setenv("KIS_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("KIS_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("KIS_HTS_ID", "hts")
    monkeypatch.setenv("KIS_REST_BASE_URL", "http://127.0.0.1:18443")
    monkeypatch.setenv("KIS_RATE_LIMIT_PER_SEC", "1.5")
    settings = load_settings(mode="live", data_dir=str(tmp_path))

    config = kis_config_from_settings(settings)
    broker = from_settings(settings, clock=WallClock())

    assert config.mode is KisMode.REAL and config.rest_url == "http://127.0.0.1:18443"
    assert config.rate_per_sec == 1.5 and config.token_cache_dir == tmp_path / "kis-tokens"
    assert broker.config == config
    assert APP_SECRET not in repr(config) and APP_KEY not in repr(config)


def test_sim_mode_needs_an_explicit_kis_mode(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "KIS_APP_KEY": APP_KEY,
        "KIS_APP_SECRET": APP_SECRET,
        "KIS_ACCOUNT": ACCOUNT,
        "KIS_HTS_ID": "hts",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(mode="sim")

    with pytest.raises(ConfigurationError, match="real or paper"):
        kis_config_from_settings(settings)
    assert kis_config_from_settings(settings, mode=KisMode.PAPER).mode is KisMode.PAPER


def test_invalid_kis_setting_is_a_one_line_message(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIS_RATE_LIMIT_PER_SEC", "-1")

    with pytest.raises(ConfigurationError, match="KIS_RATE_LIMIT_PER_SEC"):
        load_settings()


def test_masker_hides_secrets_and_all_but_the_head_of_the_account_in_every_output():
    masker = Masker([APP_KEY], account=ACCOUNT)
    masker.add("token-value-123")  # an access token, learnt at run time

    text = masker(f"key={APP_KEY} token=token-value-123 account={ACCOUNT} raw=5012345601")

    assert APP_KEY not in text and "token-value-123" not in text
    assert "5012****-01" in text and "50123456" not in text
    assert mask_account("50123456-01") == "5012****-01"
    # Registered process-wide: a log line written outside the adapter hides them too.
    assert "token-value-123" not in mask("a token-value-123 leaked elsewhere")
