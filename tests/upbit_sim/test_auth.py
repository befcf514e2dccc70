"""The simulator's JWT checks (§2, pitfalls 3–4): the hash of the decoded query in order, arrays as ``key[]``,
HS256 and HS512, ``none`` refused, unknown keys, reused nonces — and ``Remaining-Req`` on every answer."""

import uuid

import jwt

from stock_manager.adapters.broker.upbit.auth import UpbitAuth, parameter_string
from stock_manager.adapters.broker.upbit_sim import DEFAULT_KEY, UpbitExchangeSimulator
from stock_manager.adapters.observability.masking import mask
from tests.upbit_sim.support import BTC, SignedClient, make_adapter


async def test_query_hash_when_array_and_time_parameters_then_the_decoded_string_in_order_is_accepted(
    sim: UpbitExchangeSimulator,
):
    client = SignedClient(sim)
    await anext(aiter(sim.venue.sessions()))

    opened = await client.get("/v1/orders/open", {"market": BTC, "states": ["wait", "watch"]})
    closed = await client.get(
        "/v1/orders/closed", {"market": BTC, "states": ["done", "cancel"], "start_time": "2024-03-01T09:00:00+09:00"}
    )

    assert (opened.status_code, opened.json()) == (200, [])
    assert closed.status_code == 200  # "+" and ":" were sent percent-encoded and hashed decoded
    await client.aclose()


async def test_query_hash_when_it_does_not_match_the_query_then_401_invalid_query_payload(sim: UpbitExchangeSimulator):
    client = SignedClient(sim)

    wrong = await client.get(
        "/v1/orders/open",
        {"market": BTC, "states": ["wait", "watch"]},
        hashed="market=KRW-BTC&states=wait&states=watch",
    )  # arrays without their []
    reordered = await client.get(
        "/v1/orders/open", {"market": BTC, "states": ["wait"]}, hashed="states[]=wait&market=KRW-BTC"
    )

    for answer in (wrong, reordered):
        assert answer.status_code == 401
        assert answer.json()["error"]["name"] == "invalid_query_payload"
        assert answer.headers["Remaining-Req"].startswith("group=default; min=1800; sec=")
    await client.aclose()


async def test_jwt_when_hs256_or_hs512_then_accepted_and_none_unknown_key_or_reused_nonce_refused(
    sim: UpbitExchangeSimulator,
):
    hs256 = SignedClient(sim, algorithm="HS256")
    assert (await hs256.get("/v1/accounts")).status_code == 200
    http = hs256.http
    unsigned = jwt.encode({"access_key": DEFAULT_KEY.access_key, "nonce": str(uuid.uuid4())}, key="", algorithm="none")
    stranger = UpbitAuth("AKunknownKey000000000000000000000000000", "SKsomeSecret000000000000000000000000000")
    nonce = str(uuid.uuid4())
    fixed = UpbitAuth(DEFAULT_KEY.access_key, DEFAULT_KEY.secret_key, nonce_factory=lambda: nonce)

    answers = {
        "none": await http.get("/v1/accounts", headers={"authorization": f"Bearer {unsigned}"}),
        "missing": await http.get("/v1/accounts"),
        "stranger": await http.get("/v1/accounts", headers={"authorization": stranger.authorization()}),
        "first": await http.get("/v1/accounts", headers={"authorization": fixed.authorization()}),
        "again": await http.get("/v1/accounts", headers={"authorization": fixed.authorization()}),
    }

    names = {
        case: (a.status_code, a.json()["error"]["name"] if a.status_code != 200 else "") for case, a in answers.items()
    }
    assert names == {
        "none": (401, "jwt_verification"),
        "missing": (401, "jwt_verification"),
        "stranger": (401, "invalid_access_key"),
        "first": (200, ""),
        "again": (401, "nonce_used"),
    }
    await hs256.aclose()


async def test_post_body_when_hashed_in_key_order_then_accepted_and_a_null_changes_the_hash(
    sim: UpbitExchangeSimulator,
):
    client = SignedClient(sim)
    await anext(aiter(sim.venue.sessions()))
    body = {"market": BTC, "side": "bid", "volume": "0.0001", "price": "80000000", "ord_type": "limit"}
    auth = client.auth

    created = await client.post("/v1/orders", body)
    with_null = await client.http.post(  # pitfall 4: a null is part of the string the server hashes
        "/v1/orders",
        json={**body, "identifier": None},
        headers={"authorization": auth.authorization(parameter_string(list(body.items())))},
    )

    assert created.status_code == 201 and created.json()["state"] == "wait"
    assert (with_null.status_code, with_null.json()["error"]["name"]) == (401, "invalid_query_payload")
    await client.aclose()


async def test_keys_when_the_adapter_is_built_then_masked_wherever_they_would_appear(sim: UpbitExchangeSimulator):
    adapter = make_adapter(sim)

    text = mask(f"key {DEFAULT_KEY.access_key} secret {DEFAULT_KEY.secret_key}")

    assert DEFAULT_KEY.access_key not in text and DEFAULT_KEY.secret_key not in text
    assert DEFAULT_KEY.access_key not in adapter.account_id
    await adapter.close()
