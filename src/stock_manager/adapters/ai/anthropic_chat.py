"""**Adapter:** `LanguageModel` over the Anthropic Messages API, through the ``anthropic`` SDK.

The JSON object is asked for in the instructions (the Messages API has no JSON mode); the text blocks of the
answer are joined. The SDK's own retries are off, the `retry` policy decides. Vendor errors are translated
here, once: timeouts, 429, 5xx (529 overloaded included) and connection failures into `AiTemporaryError`
(retried), anything else the API refuses into `AiRequestRefused`.
"""

import anthropic

from stock_manager.adapters.ai.retry import AiRateLimited, retry_after, with_retries
from stock_manager.domain.errors import AiRequestRefused, AiTemporaryError
from stock_manager.service_layer.ports.ai import ModelAnswer, ModelRequest

NO_KEY = "no-key-needed"


class AnthropicChat:
    """**Adapter:** Anthropic's Messages API answering one request with one JSON text.

    Parameters are those of `OpenAiCompatibleChat`; `base_url` (``AI_BASE_URL``) replaces
    ``https://api.anthropic.com`` (a gateway or a test server).
    """

    provider = "anthropic"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout_secs: float,
        max_retries: int,
        retry_base_secs: float = 1.0,
    ) -> None:
        self._model = model
        self._timeout = timeout_secs
        self._max_retries = max_retries
        self._base = retry_base_secs
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_secs, max_retries=0
        )

    @property
    def model(self) -> str:
        """Return the configured model name."""
        return self._model

    async def complete(self, request: ModelRequest) -> ModelAnswer:
        """Return the model's answer to `request` (see `LanguageModel.complete`)."""

        async def call() -> ModelAnswer:
            try:
                response = await self._client.messages.create(
                    model=self._model,
                    max_tokens=request.max_output_tokens,
                    system=request.system,
                    messages=[{"role": "user", "content": request.prompt}],
                )
            except anthropic.APITimeoutError:
                raise AiTemporaryError(f"no answer within {self._timeout:g} s") from None
            except anthropic.RateLimitError as e:
                raise AiRateLimited(
                    f"rate limited (HTTP 429): {_message(e)}",
                    retry_after_secs=retry_after(e.response.headers.get("retry-after")),
                ) from None
            except (anthropic.InternalServerError, anthropic.APIConnectionError) as e:
                raise AiTemporaryError(f"{type(e).__name__}: {_message(e)}") from None
            except anthropic.APIStatusError as e:
                if e.status_code >= 500:
                    raise AiTemporaryError(f"HTTP {e.status_code}: {_message(e)}") from None
                raise AiRequestRefused(f"HTTP {e.status_code}: {_message(e)}") from None
            except anthropic.AnthropicError as e:
                raise AiRequestRefused(f"{type(e).__name__}: {_message(e)}") from None
            text = "".join(getattr(block, "text", "") for block in response.content)
            return ModelAnswer(
                text=text,
                model=response.model or self._model,
                input_tokens=response.usage.input_tokens,
                output_tokens=response.usage.output_tokens,
            )

        answer, attempts = await with_retries(call, max_retries=self._max_retries, base_delay_secs=self._base)
        return ModelAnswer(answer.text, answer.model, answer.input_tokens, answer.output_tokens, attempts)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def _message(error: Exception) -> str:
    # The provider's own words where its error body has them, else the SDK's (without its "Error code" prefix).
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        nested = body.get("error")
        inner = nested if isinstance(nested, dict) else body
        message = inner.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip().splitlines()[0][:300]
    text = str(getattr(error, "message", None) or error).strip().splitlines()
    return text[0].split(" - ", 1)[-1][:300] if text else type(error).__name__
