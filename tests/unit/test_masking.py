"""Masking secrets: registered values, partial account numbers, and credential-looking text."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from stock_manager.adapters.observability.masking import MASK, SecretRegistry, partial_account


@pytest.fixture
def registry() -> Iterator[SecretRegistry]:
    yield SecretRegistry()


def test_mask_when_a_registered_secret_appears_anywhere_in_text_then_it_is_hidden(registry):
    registry.register(SecretStr("PSkq3Fz0appkeyVALUE"))
    registry.register("short")  # too short to be told apart from ordinary words: ignored

    assert registry.mask("key PSkq3Fz0appkeyVALUE, again:PSkq3Fz0appkeyVALUE!") == f"key {MASK}, again:{MASK}!"
    assert registry.mask("a short word") == "a short word"


def test_mask_when_one_secret_contains_another_then_the_longer_is_hidden_whole(registry):
    registry.register("abcdef123")
    registry.register("abcdef123456789")

    assert registry.mask("x abcdef123456789 y abcdef123") == f"x {MASK} y {MASK}"


@pytest.mark.parametrize(
    ("account", "shown"), [("50123456-01", "5012****-01"), ("5012345601", "5012****01"), ("50123456", "5012****")]
)
def test_partial_account_when_shown_then_only_the_first_digits_and_product_code_remain(account, shown):
    assert partial_account(account) == shown


def test_mask_when_an_account_is_registered_then_each_of_its_forms_shows_partly(registry):
    registry.register_account("50123456-01")
    masked = registry.mask("acct 50123456-01 / CANO=50123456 / 5012345601")

    assert masked == "acct 5012****-01 / CANO=5012**** / 5012****01"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc.def", f"Authorization: Bearer {MASK}"),
        ("slack xoxb-1234-5678-abcdEFGH failed", f"slack xoxb-{MASK} failed".replace("xoxb", "xox*")),
        ('{"appkey": "PSabc123", "appsecret":"zz9"}', f'{{"appkey": "{MASK}", "appsecret":"{MASK}"}}'),
        ("GET /ws?approval_key=1a2b3c4d&tr_id=H0STCNT0", f"GET /ws?approval_key={MASK}&tr_id=H0STCNT0"),
        ("token_type=Bearer", "token_type=Bearer"),  # not a credential value
    ],
)
def test_mask_when_text_looks_like_a_credential_then_it_is_hidden_even_unregistered(registry, text, masked):
    assert registry.mask(text) == masked


def test_mask_data_when_keys_name_credentials_then_their_values_are_replaced_recursively(registry):
    registry.register("run-time-token-123")
    data = {
        "AppKey": "x1",
        "headers": {"authorization": "anything", "content-type": "json"},
        "items": ["run-time-token-123", 5],
        "count": 3,
        "access-token": "",
    }

    assert registry.mask_data(data) == {
        "AppKey": MASK,
        "headers": {"authorization": MASK, "content-type": "json"},
        "items": [MASK, 5],
        "count": 3,
        "access-token": "",
    }
