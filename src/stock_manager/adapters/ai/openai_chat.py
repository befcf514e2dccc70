"""**Adapter:** `LanguageModel` over an OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK.

Works with OpenAI itself, Anthropic's OpenAI-compatible endpoint, and servers on this machine such as Ollama
(``http://127.0.0.1:11434/v1``) or llama.cpp's server (``AI_BASE_URL``; no key needed there). The answer is
asked for as a JSON object (``response_format``) within ``max_tokens``; the SDK's own retries are off, the
`retry` policy decides. Vendor errors are translated here, once: timeouts, 429, 5xx and connection failures
into `AiTemporaryError` (retried), anything else the API refuses into `AiRequestRefused`.
"""

import openai

from stock_manager.adapters.ai.retry import AiRateLimited, retry_after, with_retries
from stock_manager.domain.errors import AiRequestRefused, AiTemporaryError
from stock_manager.service_layer.ports.ai import ModelAnswer, ModelRequest

#: Sent as the key to servers that need none (the SDK insists on one).
NO_KEY = "no-key-needed"


class OpenAiCompatibleChat:
    """**Adapter:** chat completions (OpenAI's API shape) answering one request with one JSON text.

    Parameters
    ----------
    model : str
        The model name the endpoint knows (``AI_MODEL``).
    api_key : str | None
        ``AI_API_KEY``; None for a local server.
    base_url : str | None
        ``AI_BASE_URL`` (ending in ``/v1`` for most servers); None: OpenAI's.
    timeout_secs : float
        Per request (``AI_TIMEOUT_SECS``).
    max_retries : int
        Retries of a temporary failure (``AI_MAX_RETRIES``).
    retry_base_secs : float
        The first back-off, doubled at each retry.
    """

    provider = "openai"

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
        self._client = openai.AsyncOpenAI(
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
                response = await self._client.chat.completions.create(
                    model=self._model,
                    max_tokens=request.max_output_tokens,
                    response_format={"type": "json_object"},
                    messages=[
                        {"role": "system", "content": request.system},
                        {"role": "user", "content": request.prompt},
                    ],
                )
            except openai.APITimeoutError:
                raise AiTemporaryError(f"no answer within {self._timeout:g} s") from None
            except openai.RateLimitError as e:
                raise AiRateLimited(
                    f"rate limited (HTTP 429): {_message(e)}",
                    retry_after_secs=retry_after(e.response.headers.get("retry-after")),
                ) from None
            except (openai.InternalServerError, openai.APIConnectionError) as e:
                raise AiTemporaryError(f"{type(e).__name__}: {_message(e)}") from None
            except openai.APIStatusError as e:
                raise AiRequestRefused(f"HTTP {e.status_code}: {_message(e)}") from None
            except openai.OpenAIError as e:
                raise AiRequestRefused(f"{type(e).__name__}: {_message(e)}") from None
            if not response.choices:
                raise AiTemporaryError("the answer had no choices")
            usage = response.usage
            return ModelAnswer(
                text=response.choices[0].message.content or "",
                model=response.model or self._model,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
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
