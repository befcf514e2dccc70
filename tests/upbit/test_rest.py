"""Specifications of the raw REST client (upbit-openapi.md §1, §2, §7): request shapes, error translation once,
reads retried, orders and cancels never, ambiguity only when the request may have left, no secret in any text."""

import hashlib
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import structlog

from stock_manager.adapters.broker.upbit.errors import (
    FATAL_NAMES,
    ORDER_REJECTION_NAMES,
    CallKind,
    NonceUsed,
    RetryableRead,
    UpbitOrderNotFound,
    UpbitRequestRefused,
    translate_error,
)
from stock_manager.domain.errors import (
    AmbiguousOrderOutcome,
    FatalBrokerError,
    OrderRejectedByBroker,
    TemporaryBrokerError,
)
from tests.upbit.support import (
    ACCESS_KEY,
    SECRET_KEY,
    FakeTime,
    FakeUpbit,
    claims,
    error_sample,
    fail,
    ok,
    order_sample,
    rest_client,
    sample,
)

POST_201 = order_sample("POST /v1/orders -> 201")
LIMIT_BID = {"market": "KRW-BTC", "side": "bid", "volume": "0.0001", "price": "155772000", "ord_type": "limit"}


# -- REQUEST SHAPES -----------------------------------------------------------------------------------------


async def test_order_when_posted_then_json_body_in_order_with_utf8_content_type_and_hash_over_its_pairs() -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", ok(POST_201, 201, remaining="group=order; min=198; sec=7"))
    client = rest_client(fake, FakeTime())

    answer = await client.order("/v1/orders", LIMIT_BID)

    request = fake.requests[0]
    assert answer["uuid"] == POST_201["uuid"]
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.url.query == b""
    assert list(json.loads(request.content)) == ["market", "side", "volume", "price", "ord_type"]
    expected = "market=KRW-BTC&side=bid&volume=0.0001&price=155772000&ord_type=limit"
    assert claims(request)["query_hash"] == hashlib.sha512(expected.encode()).hexdigest()


async def test_cancel_when_sent_then_parameters_are_in_the_query_string_and_the_body_is_empty() -> None:
    fake = FakeUpbit().on("DELETE", "/v1/order", ok(order_sample("DELETE /v1/order")))
    client = rest_client(fake, FakeTime())

    await client.cancel("/v1/order", {"uuid": "cdd92199-2897-4e14-9448-f923320408ad"})

    request = fake.requests[0]
    assert request.url.query == b"uuid=cdd92199-2897-4e14-9448-f923320408ad"
    assert request.content == b""
    assert "content-type" not in request.headers
    assert claims(request)["query_hash"] == (
        "79bbec9454274d296b69505bda5f84d5e17b129499e1e1930e51fc3f15b8c4f5"
        "d3b13529c558fe30865bde47a8769ca26377f5c55fff94629be3caf7f1ba024e"
    )


async def test_read_when_unsigned_or_without_params_then_no_token_or_no_hash_claims() -> None:
    fake = FakeUpbit().on("GET", "/v1/ticker", ok(sample("rest_ticker.json"))).on("GET", "/v1/accounts", ok([]))
    client = rest_client(fake, FakeTime())

    await client.read("/v1/ticker", {"markets": "KRW-BTC"}, signed=False)
    await client.read("/v1/accounts")

    assert "authorization" not in fake.requests[0].headers
    assert set(claims(fake.requests[1])) == {"access_key", "nonce"}


async def test_read_when_numbers_are_json_numbers_then_they_arrive_as_decimals_not_floats() -> None:
    fake = FakeUpbit().on("GET", "/v1/ticker", ok(sample("rest_ticker.json")))
    client = rest_client(fake, FakeTime())

    [ticker] = await client.read("/v1/ticker", {"markets": "KRW-BTC"}, signed=False)

    assert ticker["acc_trade_price_24h"] == Decimal("250206655398.15125")
    assert isinstance(ticker["trade_volume"], Decimal)


# -- ERROR TRANSLATION --------------------------------------------------------------------------------------

ORDER_ERRORS = [
    entry
    for entry in sample("rest_errors.json")
    if "body" in entry and entry["body"]["error"]["name"] in ORDER_REJECTION_NAMES
]


@pytest.mark.parametrize("entry", ORDER_ERRORS, ids=lambda e: e["body"]["error"]["name"])
async def test_order_when_upbit_refuses_it_then_rejected_with_the_upbit_name_as_code(entry: dict[str, Any]) -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", fail(entry["status"], entry["body"]))
    client = rest_client(fake, FakeTime())

    with pytest.raises(OrderRejectedByBroker) as raised:
        await client.order("/v1/orders", LIMIT_BID)

    assert raised.value.code == entry["body"]["error"]["name"]
    assert str(raised.value) == entry["body"]["error"]["message"]
    assert len(fake.requests) == 1


@pytest.mark.parametrize("name", sorted(FATAL_NAMES))
@pytest.mark.parametrize("kind", list(CallKind))
def test_translate_when_keys_ip_or_permissions_are_refused_then_fatal_for_every_kind(name: str, kind: CallKind) -> None:
    error = translate_error(401, {"error": {"name": name, "message": "x"}}, "", kind=kind, what="GET /v1/accounts")

    assert type(error) is FatalBrokerError
    assert name in str(error)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (CallKind.READ, UpbitRequestRefused),
        (CallKind.ORDER, OrderRejectedByBroker),
        (CallKind.CANCEL, OrderRejectedByBroker),
    ],
)
def test_translate_when_validation_error_then_refused_read_or_rejected_order(kind: CallKind, expected: type) -> None:
    status, body = error_sample("validation_error")

    error = translate_error(status, body, "", kind=kind, what="X")

    assert type(error) is expected
    assert error.code == "validation_error"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "name"), [(400, 400), (404, 404)])
def test_translate_when_a_quotation_error_has_a_numeric_name_then_a_refused_read_with_its_text(
    status: int, name: int
) -> None:
    error = translate_error(status, error_sample(name)[1], "", kind=CallKind.READ, what="GET /v1/ticker")

    assert isinstance(error, UpbitRequestRefused)
    assert error.code == str(name)


def test_translate_when_order_not_found_then_a_definite_not_found() -> None:
    status, body = error_sample("order_not_found")

    error = translate_error(status, body, "", kind=CallKind.CANCEL, what="DELETE /v1/order")

    assert isinstance(error, UpbitOrderNotFound) and isinstance(error, OrderRejectedByBroker)
    assert error.code == "order_not_found"


def test_translate_when_403_is_not_market_offline_then_fatal() -> None:
    error = translate_error(
        403, {"error": {"name": "thirdparty_agreement_required"}}, "", kind=CallKind.ORDER, what="POST /v1/orders"
    )

    assert type(error) is FatalBrokerError


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (500, CallKind.READ, RetryableRead),
        (502, CallKind.ORDER, AmbiguousOrderOutcome),
        (503, CallKind.CANCEL, AmbiguousOrderOutcome),
        (400, CallKind.READ, RetryableRead),  # a non-JSON 4xx page: infrastructure, not Upbit's API
        (400, CallKind.ORDER, AmbiguousOrderOutcome),
    ],
)
def test_translate_when_5xx_or_a_non_json_page_then_retryable_read_or_ambiguous_order(
    status: int, kind: CallKind, expected: type
) -> None:
    error = translate_error(status, None, "<html><body>Bad Gateway</body></html>", kind=kind, what="X")

    assert type(error) is expected
    assert "Bad Gateway" in str(error)


async def test_order_when_5xx_then_ambiguous_and_never_resent() -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", fail(500, {"error": {"name": "server_error", "message": "oops"}}))
    client = rest_client(fake, FakeTime())

    with pytest.raises(AmbiguousOrderOutcome):
        await client.order("/v1/orders", LIMIT_BID)
    assert len(fake.requests) == 1


async def test_read_when_5xx_then_retried_with_backoff_until_it_succeeds() -> None:
    time = FakeTime()
    fake = FakeUpbit().on(
        "GET",
        "/v1/accounts",
        fail(500, text="Internal Server Error"),
        fail(502, text=""),
        ok(sample("rest_accounts.json")),
    )
    client = rest_client(fake, time)

    answer = await client.read("/v1/accounts")

    assert len(answer) == 2
    assert len(fake.requests) == 3
    assert len(time.slept) == 2


async def test_read_when_the_tries_are_used_up_then_the_temporary_error_is_raised() -> None:
    time = FakeTime()
    fake = FakeUpbit().on("GET", "/v1/accounts", fail(500, text="down"))
    client = rest_client(fake, time, read_attempts=3)

    with pytest.raises(RetryableRead):
        await client.read("/v1/accounts")
    assert len(fake.requests) == 3


async def test_read_when_nonce_used_then_retried_with_a_new_nonce() -> None:
    status, body = error_sample("nonce_used")
    fake = FakeUpbit().on("GET", "/v1/accounts", fail(status, body), ok([]))
    client = rest_client(fake, FakeTime())

    await client.read("/v1/accounts")

    nonces = [claims(request)["nonce"] for request in fake.requests]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


async def test_order_when_nonce_used_then_temporary_not_ambiguous_and_not_resent() -> None:
    status, body = error_sample("nonce_used")
    fake = FakeUpbit().on("POST", "/v1/orders", fail(status, body))
    client = rest_client(fake, FakeTime())

    with pytest.raises(NonceUsed) as raised:
        await client.order("/v1/orders", LIMIT_BID)
    assert not isinstance(raised.value, AmbiguousOrderOutcome)
    assert len(fake.requests) == 1


async def test_read_when_refused_parameters_then_not_retried() -> None:
    status, body = error_sample("validation_error")
    fake = FakeUpbit().on("GET", "/v1/orders/closed", fail(status, body))
    client = rest_client(fake, FakeTime())

    with pytest.raises(UpbitRequestRefused):
        await client.read("/v1/orders/closed", {"market": "KRW-BTC"})
    assert len(fake.requests) == 1


# -- TRANSPORT FAILURES -------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow connect")])
async def test_order_when_the_connection_cannot_be_made_then_temporary_not_ambiguous(failure: Exception) -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", failure)
    client = rest_client(fake, FakeTime())

    with pytest.raises(TemporaryBrokerError) as raised:
        await client.order("/v1/orders", LIMIT_BID)
    assert not isinstance(raised.value, AmbiguousOrderOutcome)
    assert "nothing was sent" in str(raised.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("dropped"),
        httpx.WriteTimeout("half sent"),
        httpx.ReadError("reset"),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/orders"), ("DELETE", "/v1/order")])
async def test_order_or_cancel_when_the_answer_is_lost_then_ambiguous(
    failure: Exception, method: str, path: str
) -> None:
    fake = FakeUpbit().on(method, path, failure)
    client = rest_client(fake, FakeTime())

    with pytest.raises(AmbiguousOrderOutcome):
        if method == "POST":
            await client.order(path, LIMIT_BID)
        else:
            await client.cancel(path, {"uuid": "x"})
    assert len(fake.requests) == 1


async def test_read_when_the_answer_is_lost_then_retried() -> None:
    fake = FakeUpbit().on("GET", "/v1/accounts", httpx.ReadTimeout("no answer"), ok([]))
    client = rest_client(fake, FakeTime())

    assert await client.read("/v1/accounts") == []
    assert len(fake.requests) == 2


async def test_order_when_201_carries_a_body_that_is_not_json_then_ambiguous() -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", httpx.Response(201, text="<html>ok</html>"))
    client = rest_client(fake, FakeTime())

    with pytest.raises(AmbiguousOrderOutcome):
        await client.order("/v1/orders", LIMIT_BID)


# -- SECRETS ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        fail(401, {"error": {"name": "jwt_verification", "message": "Jwt 토큰 검증에 실패했습니다."}}),
        fail(500, text="echo of your request"),
        httpx.ReadTimeout("timed out"),
    ],
)
async def test_failing_request_when_raised_and_logged_then_no_key_or_token_appears(answer: Any) -> None:
    sent_tokens: list[str] = []

    def echo_secrets(request: httpx.Request) -> httpx.Response:
        # A hostile page that echoes the credentials back: the client must still not repeat them.
        sent_tokens.append(request.headers["authorization"].removeprefix("Bearer "))
        if isinstance(answer, Exception):
            raise answer
        page = f"{ACCESS_KEY} {SECRET_KEY} {request.headers['authorization']} {answer.text}"
        return httpx.Response(answer.status_code, text=page) if answer.status_code >= 500 else answer

    fake = FakeUpbit().on("POST", "/v1/orders", echo_secrets)
    client = rest_client(fake, FakeTime())

    with structlog.testing.capture_logs() as logs, pytest.raises(Exception) as raised:
        await client.order("/v1/orders", LIMIT_BID)

    texts = [str(raised.value), repr(raised.value), json.dumps(logs, default=str)]
    for secret in [ACCESS_KEY, SECRET_KEY, *sent_tokens]:
        assert all(secret not in text for text in texts)
    assert sent_tokens
