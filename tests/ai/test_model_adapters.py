"""The language-model adapters, each SDK pointed at the fake server on loopback: answers, tokens, retries of
timeouts, 429 and 5xx, refusals that are not retried."""

import pytest

from stock_manager.adapters.ai.anthropic_chat import AnthropicChat
from stock_manager.adapters.ai.openai_chat import OpenAiCompatibleChat
from stock_manager.domain.errors import AiRequestRefused, AiTemporaryError
from stock_manager.service_layer.ports.ai import ModelRequest
from tests.fake_llm import MODEL, FakeLlm, Reply

REQUEST = ModelRequest("journal", "Answer with one JSON object.", "facts: {}", 300)


@pytest.fixture
def llm():
    with FakeLlm() as server:
        yield server


def openai_model(llm: FakeLlm, **options) -> OpenAiCompatibleChat:
    values = {
        "model": "gpt-test",
        "api_key": None,
        "base_url": llm.openai_url,
        "timeout_secs": 2.0,
        "max_retries": 2,
        "retry_base_secs": 0.01,
        **options,
    }
    return OpenAiCompatibleChat(**values)


def anthropic_model(llm: FakeLlm, **options) -> AnthropicChat:
    values = {
        "model": "claude-test",
        "api_key": "sk-ant-test-key-0123456789",
        "base_url": llm.anthropic_url,
        "timeout_secs": 2.0,
        "max_retries": 2,
        "retry_base_secs": 0.01,
        **options,
    }
    return AnthropicChat(**values)


async def test_openai_when_the_server_answers_then_text_model_and_tokens(llm):
    llm.script(Reply('{"summary": "fine"}', input_tokens=321, output_tokens=12))

    answer = await openai_model(llm).complete(REQUEST)

    assert (answer.text, answer.model, answer.input_tokens, answer.output_tokens, answer.attempts) == (
        '{"summary": "fine"}',
        MODEL,
        321,
        12,
        1,
    )
    (sent,) = llm.requests
    assert sent.body["model"] == "gpt-test" and sent.body["max_tokens"] == 300
    assert sent.body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]


async def test_openai_when_rate_limited_once_then_retried_after_retry_after(llm):
    llm.script(Reply(status=429, error="slow down", headers={"Retry-After": "0"}), Reply('{"summary": "ok"}'))

    answer = await openai_model(llm).complete(REQUEST)

    assert answer.attempts == 2 and len(llm.requests) == 2


async def test_openai_when_rate_limited_every_time_then_temporary_error_after_every_retry(llm):
    llm.default = Reply(status=429, error="quota", headers={"Retry-After": "0"})

    with pytest.raises(AiTemporaryError, match=r"rate limited \(HTTP 429\): quota") as raised:
        await openai_model(llm, max_retries=2).complete(REQUEST)

    assert raised.value.attempts == 3 and len(llm.requests) == 3


async def test_openai_when_no_answer_within_the_timeout_then_temporary_error(llm):
    llm.default = Reply('{"summary": "late"}', delay_secs=5)

    with pytest.raises(AiTemporaryError, match=r"no answer within 0.3 s") as raised:
        await openai_model(llm, timeout_secs=0.3, max_retries=1).complete(REQUEST)

    assert raised.value.attempts == 2


async def test_openai_when_a_server_error_then_retried(llm):
    llm.script(Reply(status=503, error="overloaded"), Reply('{"summary": "ok"}'))

    assert (await openai_model(llm).complete(REQUEST)).attempts == 2


async def test_openai_when_the_key_is_refused_then_no_retry(llm):
    llm.default = Reply(status=401, error="invalid api key")

    with pytest.raises(AiRequestRefused, match="HTTP 401: invalid api key") as raised:
        await openai_model(llm).complete(REQUEST)

    assert raised.value.attempts == 1 and len(llm.requests) == 1


async def test_anthropic_when_the_server_answers_then_text_and_tokens(llm):
    llm.script(Reply('{"summary": "fine"}', input_tokens=99, output_tokens=7))

    answer = await anthropic_model(llm).complete(REQUEST)

    assert (answer.text, answer.input_tokens, answer.output_tokens) == ('{"summary": "fine"}', 99, 7)
    (sent,) = llm.requests
    assert sent.api == "anthropic" and sent.body["system"] == REQUEST.system
    assert sent.body["max_tokens"] == 300
    assert "sk-ant-test-key-0123456789" in (
        sent.headers.get("x-api-key", ""),
        sent.headers.get("authorization", ""),
        sent.headers.get("authorization", "").removeprefix("Bearer "),
    )


@pytest.mark.parametrize("status", [429, 500, 529])
async def test_anthropic_when_rate_limited_or_overloaded_then_retried(llm, status):
    llm.script(Reply(status=status, headers={"retry-after": "0"}), Reply('{"summary": "ok"}'))

    assert (await anthropic_model(llm).complete(REQUEST)).attempts == 2


async def test_anthropic_when_the_request_is_bad_then_refused_at_once(llm):
    llm.default = Reply(status=400, error="model not found")

    with pytest.raises(AiRequestRefused, match="HTTP 400"):
        await anthropic_model(llm).complete(REQUEST)

    assert len(llm.requests) == 1
