"""The KIS token cache sealed with a key in the OS credential store: reused across restarts as before, never
a readable token on disk, a rotated secret never served an old token, and no credential store meaning no
cached token (the issuance time is still kept for the one-per-minute rule)."""

import json

import keyring
from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KisBroker
from stock_manager.adapters.broker.kis.token_cache import drop_cached_tokens
from stock_manager.adapters.secrets.keyring_store import KeyringStore
from stock_manager.adapters.secrets.sealing import SEALING_KEY_NAME, KeyringSealer
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from tests.keyring_memory import BrokenKeyring
from tests.kis.fake_kis import FakeKis
from tests.kis.support import APP_SECRET, WallClock, config

TOKEN = "token-0001-" + "t" * 40  # FakeKis's first token


def broker(fake: FakeKis, clock: WallClock, tmp_path, **overrides) -> KisBroker:
    return KisBroker(
        config(tmp_path, token_sealer=KeyringSealer(KeyringStore()), **overrides),
        clock=clock,
        cost_model=krx_cost_model(),
        transport=fake.transport(),
        sleep=clock.sleep,
    )


async def test_restart_when_sealed_then_the_cached_token_is_reused_and_the_file_holds_no_token(
    tmp_path, memory_keyring
):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.issue_access_token()
    await first.close()

    second = broker(fake, clock, tmp_path)
    await second.issue_access_token()

    assert fake.tokens_issued == 1
    text = second.tokens.cache_path.read_text(encoding="utf-8")
    assert TOKEN not in text and APP_SECRET not in text and set(json.loads(text)) == {"issued_at", "sealed"}
    assert ("stockbot", SEALING_KEY_NAME) in memory_keyring.values
    await second.close()


async def test_restart_when_the_sealing_key_is_gone_then_a_new_token_is_issued(tmp_path, memory_keyring):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.issue_access_token()
    await first.close()
    del memory_keyring.values[("stockbot", SEALING_KEY_NAME)]
    clock.advance(61)

    second = broker(fake, clock, tmp_path)
    await second.issue_access_token()

    assert fake.tokens_issued == 2
    await second.close()


async def test_restart_when_the_app_secret_was_rotated_then_the_old_token_is_not_served(tmp_path):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.issue_access_token()
    await first.close()

    rotated = broker(fake, clock, tmp_path, app_secret=SecretStr("rotated-" + "y" * 60))
    await rotated.issue_access_token()

    assert fake.tokens_issued == 2
    await rotated.close()


async def test_drop_cached_tokens_when_rotating_then_the_next_start_issues_a_new_token(tmp_path):
    fake, clock = FakeKis(), WallClock()
    first = broker(fake, clock, tmp_path)
    await first.issue_access_token()
    await first.close()

    assert drop_cached_tokens(tmp_path) == 1
    clock.advance(61)  # the issuance time was kept: KIS allows one a minute
    second = broker(fake, clock, tmp_path)
    await second.issue_access_token()

    assert fake.tokens_issued == 2
    await second.close()


async def test_cache_when_a_clear_token_from_before_sealing_is_found_then_used_and_sealed(tmp_path):
    fake, clock = FakeKis(), WallClock()
    clear = KisBroker(
        config(tmp_path), clock=clock, cost_model=krx_cost_model(), transport=fake.transport(), sleep=clock.sleep
    )
    await clear.issue_access_token()
    await clear.close()
    assert TOKEN in clear.tokens.cache_path.read_text(encoding="utf-8")

    sealed = broker(fake, clock, tmp_path)
    await sealed.issue_access_token()

    assert fake.tokens_issued == 1
    assert TOKEN not in sealed.tokens.cache_path.read_text(encoding="utf-8")
    await sealed.close()


async def test_cache_when_no_credential_store_then_token_kept_in_memory_and_issuance_time_on_disk(tmp_path):
    keyring.set_keyring(BrokenKeyring())
    fake, clock = FakeKis(), WallClock()
    kis = broker(fake, clock, tmp_path)

    await kis.issue_access_token()
    await kis.issue_access_token()

    assert fake.tokens_issued == 1
    assert json.loads(kis.tokens.cache_path.read_text(encoding="utf-8")) == {"issued_at": clock.now().isoformat()}
    await kis.close()
