"""Specifications of request signing (upbit-openapi.md §2.2–§2.4): the parameter string, ``query_hash``, JWTs."""

import hashlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import jwt
import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.upbit.auth import (
    UpbitAuth,
    encode_params,
    json_body,
    parameter_string,
    query_hash,
    query_string,
    render_value,
)
from stock_manager.adapters.broker.upbit.rest import UpbitRestClient
from stock_manager.adapters.observability.masking import mask, mask_data
from tests.upbit.support import (
    ACCESS_KEY,
    SECRET_KEY,
    FakeTime,
    FakeUpbit,
    claims,
    config,
    decode_token,
    decoded_query,
    ok,
)

# The four vectors of upbit-openapi.md §2.2.
VECTORS = [
    (
        {"market": "KRW-BTC", "side": "bid", "volume": "1", "price": "140000000", "ord_type": "limit"},
        "market=KRW-BTC&side=bid&volume=1&price=140000000&ord_type=limit",
        "5017abae1487d9a07531c830df42357630c73e0e7bbd8bd65678a5ecfc9ee3390e4d35878fbc8d3c01e6d7c9ebd2b3df044b459b3502585157c4553deca42c97",
    ),
    (
        {"uuid": "cdd92199-2897-4e14-9448-f923320408ad"},
        "uuid=cdd92199-2897-4e14-9448-f923320408ad",
        "79bbec9454274d296b69505bda5f84d5e17b129499e1e1930e51fc3f15b8c4f5d3b13529c558fe30865bde47a8769ca26377f5c55fff94629be3caf7f1ba024e",
    ),
    (
        {"market": "KRW-BTC", "states": ["done", "cancel"]},
        "market=KRW-BTC&states[]=done&states[]=cancel",
        "0aededd62b76d555bf21f829c2a854408340bd9474ddd390c33308d2a1bf472b23559ba339fb346e8d7325d19039eadcb41a54ce02ea20bf2fc0161d9d09c77d",
    ),
    (
        {"market": "KRW-BTC", "start_time": "2024-12-09T13:56:53+09:00"},
        "market=KRW-BTC&start_time=2024-12-09T13:56:53+09:00",
        "be96db89e135b9555a7c33d5f7dab02082a3a8fa3dab75e51a66257074743c098403ba88f3e42355d2f063fd61ca7d0735fd0832da5285e6ee3dda3b04d409bc",
    ),
]


@pytest.mark.parametrize(("params", "expected_string", "expected_hash"), VECTORS)
def test_query_hash_when_given_the_reference_vectors_then_matches(
    params: dict, expected_string: str, expected_hash: str
) -> None:
    string = parameter_string(encode_params(params))

    assert string == expected_string
    assert query_hash(string) == expected_hash


def test_parameter_string_when_values_are_none_then_they_are_dropped_never_rendered() -> None:
    pairs = encode_params({"market": "KRW-BTC", "state": None, "states": ["wait", None, "watch"], "page": 1})

    assert parameter_string(pairs) == "market=KRW-BTC&states[]=wait&states[]=watch&page=1"
    assert "None" not in query_string(pairs)


def test_parameter_string_when_arrays_are_given_then_keys_repeat_with_brackets_in_order() -> None:
    pairs = encode_params({"uuids[]": ("a", "b"), "identifiers": ["x"]})

    assert parameter_string(pairs) == "uuids[]=a&uuids[]=b&identifiers[]=x"
    assert query_string(pairs) == "uuids%5B%5D=a&uuids%5B%5D=b&identifiers%5B%5D=x"


def test_query_string_when_a_timestamp_has_an_offset_then_the_url_is_encoded_and_the_hash_string_is_not() -> None:
    pairs = encode_params({"market": "KRW-BTC", "to": "2024-12-09T13:56:53+09:00"})

    assert query_string(pairs) == "market=KRW-BTC&to=2024-12-09T13%3A56%3A53%2B09%3A00"
    assert parameter_string(pairs) == "market=KRW-BTC&to=2024-12-09T13:56:53+09:00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.00000001"), "0.00000001"),  # str() would give 1E-8
        (Decimal("1E+2"), "100"),
        (Decimal("155772000"), "155772000"),
        (True, "true"),
        (200, "200"),
        (datetime(2024, 12, 9, 13, 56, 53, 123456, tzinfo=timezone(timedelta(hours=9))), "2024-12-09T04:56:53+00:00"),
    ],
)
def test_render_value_when_typed_values_are_given_then_plain_wire_text(value: object, text: str) -> None:
    assert render_value(value) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.1, datetime(2024, 1, 1), Decimal("NaN"), object()])
def test_render_value_when_a_float_naive_time_or_other_type_then_refused(value: object) -> None:
    with pytest.raises(TypeError):
        render_value(value)  # type: ignore[arg-type]


def test_json_body_when_pairs_are_given_then_keys_keep_their_order() -> None:
    body = json_body(encode_params({"market": "KRW-BTC", "side": "bid", "volume": "1", "price": "5"}))

    assert list(body) == ["market", "side", "volume", "price"]


def test_token_when_there_are_parameters_then_it_carries_the_hash_claims() -> None:
    auth = UpbitAuth(SecretStr(ACCESS_KEY), SecretStr(SECRET_KEY))
    token = auth.token("uuid=cdd92199-2897-4e14-9448-f923320408ad")

    header = jwt.get_unverified_header(token)
    payload = decode_token(token, ("HS512",))
    assert header["alg"] == "HS512"
    assert payload["access_key"] == ACCESS_KEY
    assert payload["query_hash"] == VECTORS[1][2]
    assert payload["query_hash_alg"] == "SHA512"
    assert set(payload) == {"access_key", "nonce", "query_hash", "query_hash_alg"}


def test_token_when_there_are_no_parameters_then_no_hash_claims() -> None:
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY, algorithm="HS256")

    token = auth.token()

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert set(decode_token(token, ("HS256",))) == {"access_key", "nonce"}


def test_websocket_authorization_when_minted_then_bearer_without_hash_claims() -> None:
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY)

    scheme, _, token = auth.websocket_authorization().partition(" ")

    assert scheme == "Bearer"
    assert set(decode_token(token, ("HS512",))) == {"access_key", "nonce"}


def test_nonce_when_many_tokens_are_minted_then_each_is_a_fresh_uuid() -> None:
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY)

    nonces = [decode_token(auth.token("a=b"), ("HS512",))["nonce"] for _ in range(200)]

    assert len(set(nonces)) == 200
    assert all(len(nonce) == 36 and nonce.count("-") == 4 for nonce in nonces)


def test_auth_when_built_then_both_keys_and_every_token_are_masked_everywhere() -> None:
    auth = UpbitAuth(ACCESS_KEY, SECRET_KEY)
    token = auth.token("market=KRW-BTC")

    text = mask(f"key {ACCESS_KEY} secret {SECRET_KEY} jwt {token} header Bearer {token}")

    assert ACCESS_KEY not in text and SECRET_KEY not in text and token not in text


@pytest.mark.parametrize("algorithm", ["none", "RS256"])
def test_auth_when_the_algorithm_is_not_hmac_then_refused(algorithm: str) -> None:
    with pytest.raises(ValueError, match="HS256 or HS512"):
        UpbitAuth(ACCESS_KEY, SECRET_KEY, algorithm=algorithm)


async def test_get_when_a_timestamp_is_sent_then_the_url_is_percent_encoded_and_the_hash_is_over_the_decoded_form() -> (
    None
):
    fake = FakeUpbit().on("GET", "/v1/orders/closed", ok([]))
    time = FakeTime()
    client = UpbitRestClient(config(), transport=fake.transport(), clock=time, sleep=time.sleep)
    kst = timezone(timedelta(hours=9))

    await client.read(
        "/v1/orders/closed",
        {
            "market": "KRW-BTC",
            "states": ["done", "cancel"],
            "start_time": datetime(2024, 12, 9, 13, 56, 53, tzinfo=kst),
        },
    )

    request = fake.requests[0]
    assert request.url.query == (
        b"market=KRW-BTC&states%5B%5D=done&states%5B%5D=cancel&start_time=2024-12-09T04%3A56%3A53%2B00%3A00"
    )
    assert decoded_query(request) == "market=KRW-BTC&states[]=done&states[]=cancel&start_time=2024-12-09T04:56:53+00:00"
    assert claims(request)["query_hash"] == hashlib.sha512(decoded_query(request).encode()).hexdigest()
    assert request.content == b""


async def test_get_when_a_kst_timestamp_string_is_sent_then_the_hash_is_the_reference_vector() -> None:
    fake = FakeUpbit().on("GET", "/v1/orders/closed", ok([]))
    time = FakeTime()
    client = UpbitRestClient(config(), transport=fake.transport(), clock=time, sleep=time.sleep)

    await client.read("/v1/orders/closed", {"market": "KRW-BTC", "start_time": "2024-12-09T13:56:53+09:00"})

    request = fake.requests[0]
    assert request.url.query == b"market=KRW-BTC&start_time=2024-12-09T13%3A56%3A53%2B09%3A00"
    assert claims(request)["query_hash"] == VECTORS[3][2]


def test_mask_data_when_a_structure_holds_upbit_keys_then_their_values_are_hidden() -> None:
    masked = mask_data({"access_key": "some-unregistered-key", "UPBIT_SECRET_KEY": "another-secret", "nonce": "n"})

    assert masked == {"access_key": "***", "UPBIT_SECRET_KEY": "***", "nonce": "n"}
