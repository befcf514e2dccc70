"""The simulated KIS gateway: access tokens (24 h, same token within 6 h, 1 per minute), approval keys,
revocation, hashkey, and the authentication errors of REST calls."""

import json
from pathlib import Path

from stock_manager.adapters.broker.kis_sim import KisCredential, KisExchangeSimulator
from stock_manager.localtime import KST

from .conftest import CANO, PRDT, SAMSUNG, WALL_START, KisClient, WallClock, start_sim, unpad

SAMPLES = Path(__file__).parent.parent / "kis_samples"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


async def price_call(kis: KisClient, **headers: str):
    return await kis.get(
        "quotations/inquire-price",
        "FHKST01010100",
        {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SAMSUNG},
        **headers,
    )


async def test_token_when_issued_then_has_the_documented_fields_and_a_24h_kst_expiry(sim: KisExchangeSimulator) -> None:
    async with KisClient(sim) as kis:
        response = await kis.token_call()

    body = response.json()
    assert response.status_code == 200
    assert set(body) == set(unpad(sample("rest-oauth-tokenP-200.json")))
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    expected = (WALL_START.astimezone(KST).replace(tzinfo=None)).replace(day=16).strftime("%Y-%m-%d %H:%M:%S")
    assert body["access_token_token_expired"] == expected
    assert sim.tokens_issued == 1


async def test_token_when_asked_again_within_a_minute_then_403_egw00133_in_the_sample_shape(
    sim: KisExchangeSimulator, wall: WallClock
) -> None:
    async with KisClient(sim) as kis:
        await kis.login()
        wall.tick(59)
        response = await kis.token_call()

    assert response.status_code == 403
    assert response.json() == unpad(sample("rest-oauth-tokenP-403-EGW00133.json"))
    assert sim.tokens_issued == 1


async def test_token_when_asked_again_within_6h_then_the_same_token_and_after_6h_a_new_one(
    sim: KisExchangeSimulator, wall: WallClock
) -> None:
    async with KisClient(sim) as kis:
        first = await kis.login()
        wall.tick(61)
        again = (await kis.token_call()).json()
        wall.tick(6 * 3600)
        later = (await kis.token_call()).json()

    assert again["access_token"] == first
    assert again["expires_in"] == 86400 - 61
    assert later["access_token"] != first
    assert sim.tokens_issued == 2


async def test_rest_call_when_token_expired_then_egw00123_and_a_fresh_token_works(
    sim: KisExchangeSimulator, wall: WallClock
) -> None:
    async with KisClient(sim) as kis:
        await kis.login()
        assert (await price_call(kis)).status_code == 200
        wall.tick(24 * 3600)
        expired = await price_call(kis)
        await kis.login()
        renewed = await price_call(kis)

    assert expired.status_code == 500
    assert expired.json() == {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}
    assert renewed.status_code == 200 and renewed.json()["rt_cd"] == "0"


async def test_rest_call_when_expired_by_the_fault_knob_then_egw00123(
    sim: KisExchangeSimulator, wall: WallClock
) -> None:
    async with KisClient(sim) as kis:
        await kis.login()
        assert sim.expire_tokens() == 1
        response = await price_call(kis)
        wall.tick(61)
        fresh = await kis.login()

    assert response.status_code == 500 and response.json()["msg_cd"] == "EGW00123"
    assert fresh and sim.tokens_issued == 2


async def test_rest_call_when_token_unknown_or_without_bearer_then_egw00121_or_egw00205(client: KisClient) -> None:
    unknown = await price_call(client, authorization="Bearer not-a-token")
    no_bearer = await price_call(client, authorization=client.token)

    assert unknown.status_code == 500 and unknown.json()["msg_cd"] == "EGW00121"
    assert no_bearer.status_code == 500 and no_bearer.json()["msg_cd"] == "EGW00205"
    assert no_bearer.json()["msg1"] == "credentials_type이 유효하지 않습니다.(Bearer)"


async def test_token_when_secret_is_wrong_then_refused_and_nothing_issued(sim: KisExchangeSimulator) -> None:
    async with KisClient(sim) as kis:
        response = await kis.token_call(secret="wrong")

    assert response.status_code == 403 and response.json()["error_code"] == "EGW00103"
    assert sim.tokens_issued == 0


async def test_token_when_key_of_the_other_environment_then_egw02004(venue, wall: WallClock) -> None:
    real_key = KisCredential("REALKEY", "REALSECRET", f"{CANO}-{PRDT}", "realhts", mode="real")
    sim = await start_sim(venue, wall, mode="paper", credentials=[real_key])
    try:
        async with KisClient(sim, real_key) as kis:
            response = await kis.token_call()
    finally:
        await sim.stop()

    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW02004"


async def test_revoke_when_token_revoked_then_integer_code_and_the_token_is_refused(client: KisClient) -> None:
    response = await client.http.post(
        "/oauth2/revokeP",
        json={"appkey": client.credential.app_key, "appsecret": client.credential.app_secret, "token": client.token},
    )
    after = await price_call(client)

    assert response.status_code == 200 and response.json()["code"] == 200
    assert after.json()["msg_cd"] == "EGW00121"


async def test_approval_key_when_secretkey_given_then_issued_and_appsecret_name_is_refused(
    sim: KisExchangeSimulator,
) -> None:
    async with KisClient(sim) as kis:
        key = await kis.approval_key()
        wrong = await kis.http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": kis.credential.app_key,
                "appsecret": kis.credential.app_secret,
            },
        )

    assert len(key) == 36
    assert sim.gateway.approval_owner(key) == sim.gateway.credentials[0]
    assert wrong.status_code == 403


async def test_hashkey_when_asked_then_echoes_the_body_with_a_hash_without_a_token(sim: KisExchangeSimulator) -> None:
    body = {"CANO": CANO, "ACNT_PRDT_CD": PRDT, "PDNO": SAMSUNG, "ORD_DVSN": "01", "ORD_QTY": "1", "ORD_UNPR": "0"}
    async with KisClient(sim) as kis:
        response = await kis.http.post(
            "/uapi/hashkey",
            json=body,
            headers={"appkey": kis.credential.app_key, "appsecret": kis.credential.app_secret},
        )

    assert response.status_code == 200
    assert response.json()["BODY"] == body and len(response.json()["HASH"]) == 64
    assert sim.records.hashkeys_issued == 1


async def test_rest_call_when_appsecret_header_is_wrong_then_refused(client: KisClient) -> None:
    response = await price_call(client, appsecret="wrong")

    assert response.status_code == 500 and response.json()["rt_cd"] == "1"
