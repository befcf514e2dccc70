"""Specifications of the token rules: disk cache across restarts, reuse until expiry minus a margin,
one issuance at a time, ≥61 s between issuances, EGW00133 waits, EGW00123/EGW00121 re-issue once."""

import asyncio
import os
import stat

import pytest

from stock_manager.adapters.broker.kis import KisBroker
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError
from tests.kis.fake_kis import FakeKis, error, ok
from tests.kis.support import APP_KEY, APP_SECRET, WallClock, config, sample

PRICE = "/quotations/inquire-price"
PRICE_OUTPUT = {"stck_prpr": "71500", "stck_sdpr": "70000", "stck_mxpr": "91000", "stck_llam": "49000"}


def broker(fake: FakeKis, clock: WallClock, tmp_path, **overrides) -> KisBroker:
    return KisBroker(
        config(tmp_path, **overrides),
        clock=clock,
        cost_model=krx_cost_model(),
        transport=fake.transport(),
        sleep=clock.sleep,
    )


async def test_token_is_issued_once_and_reused():
    fake, clock = FakeKis(), WallClock()
    kis = broker(fake, clock, None)

    await kis.issue_access_token()
    await kis.issue_access_token()

    assert fake.tokens_issued == 1
    body = fake.calls("/oauth2/tokenP")[0].read()
    assert b'"grant_type": "client_credentials"' in body and APP_KEY.encode() in body
    await kis.close()


async def test_restart_reuses_the_cached_token_without_a_second_issuance(tmp_path):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.login()
    await first.close()

    second = broker(fake, clock, tmp_path)
    await second.issue_access_token()
    fake.script(PRICE, ok(PRICE_OUTPUT))
    await second.get_price("005930")

    assert fake.tokens_issued == 1
    assert fake.calls(PRICE)[0].headers["authorization"] == "Bearer token-0001-" + "t" * 40
    await second.close()


async def test_cache_file_is_private_and_named_without_the_app_key(tmp_path):
    fake, clock = FakeKis(), WallClock()
    kis = broker(fake, clock, tmp_path)
    await kis.issue_access_token()

    path = kis.tokens.cache_path
    assert path is not None and path.exists()
    assert APP_KEY not in path.name and APP_SECRET not in path.read_text(encoding="utf-8")
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    await kis.close()


async def test_paper_and_real_tokens_are_cached_apart(tmp_path):
    fake, clock = FakeKis(), WallClock()
    paper = broker(fake, clock, tmp_path)
    real = broker(fake, clock, tmp_path, mode="real")

    assert paper.tokens.cache_path != real.tokens.cache_path
    await paper.close()
    await real.close()


async def test_token_near_expiry_is_renewed_after_the_margin(tmp_path):
    fake, clock = FakeKis(), WallClock()
    fake.token_expiry = "2025-05-16 09:00:00"  # 24 h after the clock's start (00:00 UTC = 09:00 KST)
    kis = broker(fake, clock, tmp_path)
    await kis.issue_access_token()

    clock.advance(22 * 3600)  # 2 h before expiry: still good
    await kis.issue_access_token()
    assert fake.tokens_issued == 1
    clock.advance(3600 + 1)  # inside the 1 h margin
    await kis.issue_access_token()

    assert fake.tokens_issued == 2
    await kis.close()


async def test_concurrent_callers_share_one_issuance():
    fake, clock = FakeKis(), WallClock()
    kis = broker(fake, clock, None)

    await asyncio.gather(*(kis.issue_access_token() for _ in range(10)))

    assert fake.tokens_issued == 1
    await kis.close()


async def test_egw00133_waits_a_full_minute_then_retries():
    fake, clock = FakeKis(), WallClock()
    fake.script("/oauth2/tokenP", (403, sample("rest-oauth-tokenP-403-EGW00133.json"), {}))
    kis = broker(fake, clock, None)

    await kis.issue_access_token()

    assert len(fake.calls("/oauth2/tokenP")) == 2
    assert clock.slept and min(clock.slept) >= 61
    await kis.close()


async def test_egw00133_forever_gives_up_without_a_tight_loop():
    fake, clock = FakeKis(), WallClock()
    refusal = (403, sample("rest-oauth-tokenP-403-EGW00133.json"), {})
    fake.script("/oauth2/tokenP", *[refusal] * 10)
    kis = broker(fake, clock, None)

    with pytest.raises(TemporaryBrokerError, match="EGW00133"):
        await kis.issue_access_token()

    assert len(fake.calls("/oauth2/tokenP")) == 4
    assert sum(clock.slept) >= 3 * 61
    await kis.close()


@pytest.mark.parametrize(("code", "status"), [("EGW00123", 500), ("EGW00121", 200), ("EGW00123", 401)])
async def test_expired_token_is_reissued_once_and_the_read_repeated(code, status):
    fake, clock = FakeKis(), WallClock()
    fake.script(PRICE, error(code, "기간이 만료된 token 입니다.", status=status), ok(PRICE_OUTPUT))
    kis = broker(fake, clock, None)

    quote = await kis.get_price("005930")

    assert quote.price == 71500
    assert fake.tokens_issued == 2
    auth = [r.headers["authorization"] for r in fake.calls(PRICE)]
    assert auth[0] != auth[1]
    assert clock.slept and max(clock.slept) >= 60  # the second issuance respected the one-per-minute rule
    await kis.close()


async def test_token_refused_twice_is_raised_not_looped():
    fake, clock = FakeKis(), WallClock()
    fake.script(PRICE, *[error("EGW00123", "기간이 만료된 token 입니다.")] * 5)
    kis = broker(fake, clock, None)

    with pytest.raises(TemporaryBrokerError, match="EGW00123"):
        await kis.get_price("005930")

    assert fake.tokens_issued == 2 and len(fake.calls(PRICE)) == 2
    await kis.close()


async def test_restart_within_a_minute_of_an_issuance_waits_before_issuing(tmp_path):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.issue_access_token()
    await first.tokens.invalidate(await first.tokens.access_token())
    await first.close()
    clock.advance(20)

    second = broker(fake, clock, tmp_path)
    await second.issue_access_token()

    assert fake.tokens_issued == 2
    assert clock.slept == [pytest.approx(41)]
    await second.close()


async def test_refused_credentials_are_fatal_and_masked():
    fake, clock = FakeKis(), WallClock()
    fake.script(
        "/oauth2/tokenP", (403, {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}, {})
    )
    kis = broker(fake, clock, None)

    with pytest.raises(FatalBrokerError) as caught:
        await kis.login()

    assert "EGW00103" in str(caught.value)
    assert APP_KEY not in str(caught.value) and APP_SECRET not in str(caught.value)
    await kis.close()


async def test_approval_key_uses_secretkey_and_is_kept():
    fake, clock = FakeKis(), WallClock()
    kis = broker(fake, clock, None)

    await kis.issue_approval_key()
    key = await kis.tokens.approval_key()

    assert key.startswith("approval-")
    [call] = fake.calls("/oauth2/Approval")
    assert b'"secretkey"' in call.read() and b'"appsecret"' not in call.read()
    await kis.close()
