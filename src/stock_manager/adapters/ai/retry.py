"""The retry policy of the language-model adapters (tenacity): temporary failures only, with back-off.

A timeout, a 429 (after its ``Retry-After`` when the provider sends one, at most `MAX_WAIT_SECS`), a 5xx or a
lost connection is retried `max_retries` times with exponential back-off from `base_delay_secs`; a refusal
(bad key, unknown model, bad request) is not. The error that ends the attempts carries how many were made.
"""

from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from stock_manager.domain.errors import AiProviderError, AiTemporaryError

#: The longest wait between two attempts, seconds (a longer Retry-After is cut to this).
MAX_WAIT_SECS = 30.0


class AiRateLimited(AiTemporaryError):
    """The provider answered 429; `retry_after_secs` is its ``Retry-After`` (None when it sent none)."""

    def __init__(self, message: str, *, retry_after_secs: float | None = None, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.retry_after_secs = retry_after_secs


def retry_after(value: str | None) -> float | None:
    """Return a ``Retry-After`` header in seconds (None when absent or a date)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


async def with_retries[T](
    call: Callable[[], Awaitable[T]], *, max_retries: int, base_delay_secs: float
) -> tuple[T, int]:
    """Return `call`'s result and the attempts it took, retrying temporary failures (module docstring).

    Raises
    ------
    AiTemporaryError
        The last failure once `max_retries` retries are used, with `attempts` set.
    AiRequestRefused
        At once, with `attempts` set.
    """

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, AiRateLimited) and error.retry_after_secs is not None:
            return min(error.retry_after_secs, MAX_WAIT_SECS)
        return min(base_delay_secs * 2 ** (state.attempt_number - 1), MAX_WAIT_SECS)

    attempts = 0
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(AiTemporaryError),
            stop=stop_after_attempt(max_retries + 1),
            wait=wait,
            reraise=True,
        ):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                result = await call()
    except AiProviderError as e:
        e.attempts = attempts
        raise
    return result, attempts
