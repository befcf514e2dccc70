"""The project's error hierarchy: each class says how a caller must respond.

Vendor errors (venue message codes, HTTP failures, SQL errors) are translated into these once, at the adapter
edge. Expected trading outcomes (a risk denial, a venue rejection) travel as values or order events; these
exceptions are for failures and broken contracts.
"""


class StockbotError(Exception):
    """Base of every error the project raises on purpose; handled at the outermost level (the CLI)."""


class ConfigurationError(StockbotError):
    """A setting, parameter file or CLI argument is missing or invalid; fix the input and start again."""


class InvalidTransition(StockbotError):
    """An order event is not a legal trigger from the order's current status (a bug or a broken venue)."""


class DuplicateFill(StockbotError):
    """A fill with this broker fill id was already applied to the order."""


class BrokerError(StockbotError):
    """The broker refused or failed a request."""


class TemporaryBrokerError(BrokerError):
    """Retry with back-off; usually resolves itself (network error, a venue's rate limit, 5xx)."""


class AmbiguousOrderOutcome(TemporaryBrokerError):
    """An order request may or may not have reached the broker; resolve by inquiry, never by re-sending."""


class OrderRejectedByBroker(BrokerError):
    """The broker refused this one order (tick size, price limit, cash); final for the order, not the day.

    Attributes
    ----------
    code : str
        The venue's error code or name, or a simulator code.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class FatalBrokerError(BrokerError):
    """Credentials, permissions or the account are wrong; stop trading and alert."""


class StorageUnavailable(StockbotError):
    """The database cannot be reached or opened; nothing was written. Fix the server or ``DB_URL``."""


class StopTrading(StockbotError):
    """A condition that must halt new orders for the rest of the session (kill switch, failed recovery)."""


class AiProviderError(StockbotError):
    """A language model's provider failed a request (after the adapter's retries); the AI job records it and
    goes on without the model. Never raised into the trading path.

    Attributes
    ----------
    attempts : int
        Requests made, retries included.
    """

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class AiTemporaryError(AiProviderError):
    """Retry with back-off: a timeout, a rate limit (429), a server error (5xx) or a lost connection."""


class AiRequestRefused(AiProviderError):
    """The provider refused the request itself (bad key, unknown model, bad request): retrying cannot help."""
