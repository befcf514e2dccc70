"""Specifications of the rate limiter (upbit-openapi.md §6): ``Remaining-Req`` pacing, 429 back-off, 418 blocks,
orders before reads. Time is fake: `FakeTime.sleep` records the waits and advances the clock."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stock_manager.adapters.broker.upbit.errors import UpbitBlocked, UpbitRateLimited
from stock_manager.adapters.broker.upbit.ratelimit import (
    RATE_LIMITED_READ_TRIES,
    BlockNotice,
    Priority,
    RemainingReq,
    UpbitRateLimiter,
    parse_block_duration_secs,
    parse_remaining_req,
    request_group,
    request_priority,
)
from stock_manager.domain.errors import FatalBrokerError, TemporaryBrokerError
from tests.upbit.support import FakeTime, FakeUpbit, config, fail, ok, rest_client


def limiter(time: FakeTime, **overrides: object) -> UpbitRateLimiter:
    return UpbitRateLimiter(config(**overrides), clock=time, monotonic=time.monotonic, sleep=time.sleep)


def headers(remaining: str) -> httpx.Headers:
    return httpx.Headers({"Remaining-Req": remaining})


# -- HEADER PARSING ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("group=default; min=1800; sec=29", RemainingReq("default", 29)),
        ("group=candles; min=600; sec=9", RemainingReq("candle", 9)),  # the real header's spelling
        ("group=order;min=198;sec=0", RemainingReq("order", 0)),
        ("group=order-cancel-all, sec=1", RemainingReq("order-cancel-all", 1)),
        ("sec=3; group=Ticker", RemainingReq("ticker", 3)),
        ("group=default; min=1800", RemainingReq("default", None)),
        ("group=default; sec=x", RemainingReq("default", None)),
        ("min=5; sec=0", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_remaining_req_when_given_real_and_odd_headers_then_reads_group_and_sec(
    value: str | None, expected: RemainingReq | None
) -> None:
    assert parse_remaining_req(value) == expected


@pytest.mark.parametrize(
    ("method", "path", "group", "priority"),
    [
        ("POST", "/v1/orders", "order", Priority.ORDER),
        ("POST", "/v1/orders/test", "order-test", Priority.ORDER),
        ("DELETE", "/v1/order", "default", Priority.ORDER),
        ("DELETE", "/v1/orders/open", "order-cancel-all", Priority.ORDER),
        ("GET", "/v1/order", "default", Priority.READ),
        ("GET", "/v1/accounts", "default", Priority.READ),
        ("GET", "/v1/candles/minutes/1", "candle", Priority.READ),
        ("GET", "/v1/ticker", "ticker", Priority.READ),
        ("GET", "/v1/trades/ticks", "trade", Priority.READ),
        ("GET", "/v1/orderbook/instruments", "orderbook", Priority.READ),
        ("GET", "/v1/market/all", "market", Priority.READ),
    ],
)
def test_request_group_when_classifying_endpoints_then_the_documented_group_and_priority(
    method: str, path: str, group: str, priority: Priority
) -> None:
    assert request_group(method, path) == group
    assert request_priority(method, path) is priority


# -- PACING FROM Remaining-Req ------------------------------------------------------------------------------


async def test_acquire_when_a_group_answered_sec_0_then_its_next_request_waits_for_the_next_second() -> None:
    time = FakeTime()
    rate = limiter(time)
    await rate.acquire("default")

    await rate.observe("default", 200, headers("group=default; min=1800; sec=0"), "", what="GET /v1/accounts")
    await rate.acquire("default")

    assert time.slept == [pytest.approx(1.0)]


async def test_acquire_when_another_group_is_spent_then_this_group_does_not_wait() -> None:
    time = FakeTime()
    rate = limiter(time)
    await rate.observe("order", 201, headers("group=order; min=198; sec=0"), "", what="POST /v1/orders")

    await rate.acquire("default")
    await rate.acquire("candle")

    assert time.slept == []
    assert rate.resume_in_secs("order") == pytest.approx(1.0)


async def test_acquire_when_sec_is_left_then_no_wait() -> None:
    time = FakeTime()
    rate = limiter(time)

    await rate.observe("default", 200, headers("group=default; min=1800; sec=1"), "", what="GET /v1/accounts")
    await rate.acquire("default")

    assert time.slept == []


async def test_observe_when_the_header_names_candles_then_the_candle_group_is_held_back() -> None:
    time = FakeTime()
    rate = limiter(time)

    await rate.observe("candle", 200, headers("group=candles; min=600; sec=0"), "", what="GET /v1/candles/days")

    assert rate.resume_in_secs("candle") == pytest.approx(1.0)


# -- 429 ----------------------------------------------------------------------------------------------------


async def test_observe_when_429_repeats_then_the_group_backs_off_exponentially_capped_and_it_is_temporary() -> None:
    time = FakeTime()
    rate = limiter(time, rate_limited_backoff_initial_secs=1.0, rate_limited_backoff_max_secs=5.0)
    backoffs = []

    for _ in range(5):
        error = await rate.observe(
            "order", 429, headers("group=order; min=0; sec=0"), "Too many API requests.", what="POST /v1/orders"
        )
        assert isinstance(error, UpbitRateLimited) and isinstance(error, TemporaryBrokerError)
        backoffs.append(error.retry_after_secs)
        await rate.acquire("order", Priority.ORDER)

    assert backoffs == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert time.slept == pytest.approx(backoffs)
    assert rate.resume_in_secs("default") == 0.0


async def test_observe_when_a_success_follows_429_then_the_back_off_starts_over() -> None:
    time = FakeTime()
    rate = limiter(time, rate_limited_backoff_initial_secs=1.0)
    await rate.observe("default", 429, headers(""), "", what="GET /v1/accounts")
    await rate.observe("default", 429, headers(""), "", what="GET /v1/accounts")

    await rate.observe("default", 200, headers("group=default; sec=20"), "", what="GET /v1/accounts")
    error = await rate.observe("default", 429, headers(""), "", what="GET /v1/accounts")

    assert isinstance(error, UpbitRateLimited)
    assert error.retry_after_secs == 1.0


async def test_read_when_429_then_backs_off_and_retries_until_it_succeeds() -> None:
    fake = FakeUpbit().on("GET", "/v1/accounts", fail(429, text="Too many API requests."), ok([]))
    time = FakeTime()
    client = rest_client(fake, time, rate_limited_backoff_initial_secs=2.0)

    assert await client.read("/v1/accounts") == []
    assert len(fake.requests) == 2
    assert sum(time.slept) == pytest.approx(2.0)  # tenacity's short wait, then the limiter holds the rest


async def test_read_when_a_429_burst_is_longer_than_the_read_attempts_then_it_waits_it_out_and_succeeds() -> None:
    # A 429 says "not now", not "failed": it is waited out (the limiter backs the group off) without using up
    # the tries meant for failures, so a burst at start-up does not end the daemon.
    too_many = fail(429, text="Too many API requests.")
    fake = FakeUpbit().on("GET", "/v1/accounts", too_many, too_many, too_many, too_many, ok([]))
    time = FakeTime()
    client = rest_client(fake, time, read_attempts=3)

    assert await client.read("/v1/accounts") == []
    assert len(fake.requests) == 5
    assert sum(time.slept) == pytest.approx(1.0 + 2.0 + 4.0 + 8.0)  # the limiter's back-off, doubled each time


async def test_read_when_429s_and_failures_mix_then_only_failures_count_towards_the_attempts() -> None:
    too_many, broken = fail(429, text="Too many API requests."), fail(500, text="oops")
    fake = FakeUpbit().on("GET", "/v1/accounts", too_many, broken, too_many, broken, ok([]))
    client = rest_client(fake, FakeTime(), read_attempts=3)

    assert await client.read("/v1/accounts") == []
    assert len(fake.requests) == 5


async def test_read_when_429_never_ends_then_rate_limited_after_a_bounded_number_of_tries() -> None:
    fake = FakeUpbit().on("GET", "/v1/accounts", fail(429, text="Too many API requests."))
    client = rest_client(fake, FakeTime())

    with pytest.raises(UpbitRateLimited):
        await client.read("/v1/accounts")
    assert len(fake.requests) == RATE_LIMITED_READ_TRIES


async def test_order_when_429_then_temporary_and_not_resent() -> None:
    fake = FakeUpbit().on("POST", "/v1/orders", fail(429, text="Too many API requests."))
    time = FakeTime()
    client = rest_client(fake, time)

    with pytest.raises(UpbitRateLimited):
        await client.order("/v1/orders", {"market": "KRW-BTC"})
    assert len(fake.requests) == 1


# -- 418 ----------------------------------------------------------------------------------------------------


async def test_418_when_answered_then_every_request_is_refused_until_the_block_ends() -> None:
    fake = FakeUpbit().on("GET", "/v1/accounts", fail(418, text="blocked", **{"Retry-After": "120"}), ok([]))
    fake.on("GET", "/v1/ticker", ok([]))
    time = FakeTime()
    notices: list[BlockNotice] = []

    async def alert(notice: BlockNotice) -> None:
        notices.append(notice)

    client = rest_client(fake, time, on_blocked=alert)

    with pytest.raises(UpbitBlocked) as first:
        await client.read("/v1/accounts")
    with pytest.raises(UpbitBlocked) as refused:
        await client.read("/v1/ticker", {"markets": "KRW-BTC"}, signed=False)
    with pytest.raises(UpbitBlocked):
        await client.order("/v1/orders", {"market": "KRW-BTC"})
    assert len(fake.requests) == 1  # nothing sent during the block
    assert isinstance(first.value, FatalBrokerError)
    assert "2025-08-09T07:02:00+00:00" in str(first.value) and "2025-08-09T07:02:00+00:00" in str(refused.value)
    assert notices == [
        BlockNotice(
            until_utc=datetime(2025, 8, 9, 7, 2, tzinfo=UTC), duration_secs=120.0, offence=1, stated_by_upbit=True
        )
    ]
    assert client.limiter.blocked_until_utc == datetime(2025, 8, 9, 7, 2, tzinfo=UTC)

    time.t += 120.0
    assert await client.read("/v1/accounts") == []
    assert client.limiter.blocked_until_utc is None


async def test_418_when_no_duration_is_stated_then_the_default_grows_on_each_repeat() -> None:
    time = FakeTime()
    rate = limiter(time, block_default_secs=60.0, block_max_secs=200.0)
    durations = []

    for _ in range(4):
        error = await rate.observe("default", 418, httpx.Headers(), "<html>blocked</html>", what="GET /v1/accounts")
        assert isinstance(error, UpbitBlocked)
        durations.append(error.duration_secs)
        time.t += error.duration_secs

    assert durations == [60.0, 120.0, 200.0, 200.0]


async def test_418_when_the_hook_fails_then_the_block_still_holds() -> None:
    time = FakeTime()
    rate = limiter(time)

    async def broken(_: BlockNotice) -> None:
        raise RuntimeError("slack down")

    rate.on_blocked = broken
    await rate.observe("default", 418, httpx.Headers(), "", what="GET /v1/accounts")

    with pytest.raises(UpbitBlocked, match="nothing is sent until then"):
        await rate.acquire("candle")


@pytest.mark.parametrize(
    ("header", "text", "expected"),
    [
        ("30", "", 30.0),
        ("Sat, 09 Aug 2025 07:05:00 GMT", "", 300.0),
        ("", '{"error":{"name":"blocked","message":"10분 동안 차단되었습니다"}}', 600.0),
        ("", "Your IP is blocked for 90 seconds.", 90.0),
        ("", "blocked for 1 hour", 3600.0),
        ("", "Too many API requests.", None),
        ("soon", "", None),
    ],
)
def test_parse_block_duration_when_upbit_states_one_then_it_is_used(
    header: str, text: str, expected: float | None
) -> None:
    stated = parse_block_duration_secs(
        httpx.Headers({"Retry-After": header} if header else {}), text, now_utc=datetime(2025, 8, 9, 7, 0, tzinfo=UTC)
    )

    assert stated == (pytest.approx(expected) if expected is not None else None)


# -- PRIORITY -----------------------------------------------------------------------------------------------


async def test_acquire_when_reads_and_a_cancel_queue_in_one_group_then_the_cancel_goes_first() -> None:
    time = FakeTime()
    second_over = asyncio.Event()

    async def sleep_until_released(secs: float) -> None:
        time.slept.append(secs)
        await second_over.wait()
        time.t += secs

    rate = UpbitRateLimiter(config(), clock=time, monotonic=time.monotonic, sleep=sleep_until_released)
    await rate.observe("default", 200, headers("group=default; sec=0"), "", what="GET /v1/accounts")
    order: list[str] = []

    async def request(name: str, priority: Priority) -> None:
        await rate.acquire("default", priority)
        order.append(name)

    tasks = [asyncio.create_task(request("read-1", Priority.READ))]
    await asyncio.sleep(0)  # read-1 holds the group, waiting for the next second
    tasks += [
        asyncio.create_task(request("read-2", Priority.READ)),
        asyncio.create_task(request("cancel", Priority.ORDER)),
    ]
    await asyncio.sleep(0)  # both queue behind it
    second_over.set()
    await asyncio.gather(*tasks)

    assert order == ["read-1", "cancel", "read-2"]
    assert time.slept == [pytest.approx(1.0)]


async def test_block_end_when_reported_then_it_is_in_utc() -> None:
    time = FakeTime()
    rate = limiter(time)

    error = await rate.observe("order", 418, httpx.Headers({"Retry-After": "5"}), "", what="POST /v1/orders")

    assert isinstance(error, UpbitBlocked)
    assert error.until_utc == time.start_utc + timedelta(seconds=5)
