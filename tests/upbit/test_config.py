"""Specifications of `UpbitConfig`: documented defaults, TLS-only hosts except loopback, the idle limit."""

import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.upbit.config import UpbitConfig
from stock_manager.domain.errors import ConfigurationError
from tests.upbit.support import ACCESS_KEY, SECRET_KEY


def make(**overrides: object) -> UpbitConfig:
    return UpbitConfig(access_key=SecretStr(ACCESS_KEY), secret_key=SecretStr(SECRET_KEY), **overrides)  # type: ignore[arg-type]


def test_defaults_when_nothing_is_overridden_then_upbit_hosts_and_documented_rates() -> None:
    config = make()

    assert config.rest_base_url == "https://api.upbit.com"
    assert config.ws_public_url == "wss://api.upbit.com/websocket/v1"
    assert config.ws_private_url == "wss://api.upbit.com/websocket/v1/private"
    assert config.jwt_algorithm == "HS512"
    assert dict(config.rates_per_sec) == {
        "default": 30.0,
        "order": 8.0,
        "order-test": 8.0,
        "order-cancel-all": 0.5,
        "market": 10.0,
        "candle": 10.0,
        "trade": 10.0,
        "ticker": 10.0,
        "orderbook": 10.0,
    }
    assert config.ping_interval_secs == 30.0


def test_rates_when_one_group_is_overridden_then_the_others_keep_their_defaults() -> None:
    config = make(rates_per_sec={"order": 12.0})

    assert config.rate_per_sec("order") == 12.0
    assert config.rate_per_sec("default") == 30.0
    assert config.rate_per_sec("some-new-group") == 30.0


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("rest_base_url", "http://api.upbit.com"),
        ("ws_public_url", "ws://api.upbit.com/websocket/v1"),
        ("ws_private_url", "ws://10.0.0.5/websocket/v1/private"),
        ("rest_base_url", "ftp://127.0.0.1"),
    ],
)
def test_urls_when_plain_text_to_a_remote_host_then_refused(setting: str, url: str) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        make(**{setting: url})


def test_urls_when_plain_text_to_loopback_then_allowed_without_trailing_slash() -> None:
    config = make(
        rest_base_url="http://127.0.0.1:8080/",
        ws_public_url="ws://localhost:8081/websocket/v1",
        ws_private_url="ws://[::1]:8081/websocket/v1/private",
    )

    assert config.rest_base_url == "http://127.0.0.1:8080"
    assert config.ws_public_url == "ws://localhost:8081/websocket/v1"


@pytest.mark.parametrize("interval", [120.0, 300.0, 0.0, -1.0])
def test_ping_interval_when_not_below_the_idle_limit_or_not_positive_then_refused(interval: float) -> None:
    with pytest.raises(ConfigurationError, match="ping_interval_secs"):
        make(ping_interval_secs=interval)


@pytest.mark.parametrize(
    "overrides",
    [
        {"access_key": SecretStr(" ")},
        {"secret_key": SecretStr("")},
        {"jwt_algorithm": "none"},
        {"rates_per_sec": {"order": 0.0}},
        {"read_attempts": 0},
        {"request_timeout_secs": float("nan")},
    ],
)
def test_config_when_a_value_is_invalid_then_refused(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {"access_key": SecretStr(ACCESS_KEY), "secret_key": SecretStr(SECRET_KEY)}
    values.update(overrides)

    with pytest.raises(ConfigurationError):
        UpbitConfig(**values)  # type: ignore[arg-type]


def test_repr_when_printed_then_keys_are_hidden() -> None:
    text = repr(make())

    assert ACCESS_KEY not in text
    assert SECRET_KEY not in text
