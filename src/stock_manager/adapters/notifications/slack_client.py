"""The Slack Web API through slack-sdk's `WebClient`: every call returns a `SlackResult`, never raises.

Channels are addressed by ID only (spec 001 §6.3): nothing here looks a channel up by name. Calls block
(urllib); the Slack notifier makes them from its own worker thread, never from the event loop.
"""

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from stock_manager.adapters.observability.masking import mask

DEFAULT_BASE_URL = "https://slack.com/api/"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class SlackResult:
    """The outcome of one Slack call.

    Attributes
    ----------
    ok : bool
        True when Slack accepted the call.
    error : str
        Why not (Slack's error code such as ``ratelimited`` or ``channel_not_found``, or the transport
        failure), secrets masked; empty when `ok`.
    ts : str | None
        The posted message's Slack timestamp, when there is one.
    """

    ok: bool
    error: str = ""
    ts: str | None = None


class SlackPoster:
    """Posts messages and uploads files to channels by ID.

    Parameters
    ----------
    token : str
        Bot token (``xoxb-…``); registered for masking by the composition root.
    base_url : str
        Web API root (a local fake in tests).
    timeout_secs : int
        Per-request timeout.
    retries : int
        Extra attempts after a connection error, and after ``ratelimited`` (waiting Retry-After).
    """

    def __init__(
        self, token: str, *, base_url: str = DEFAULT_BASE_URL, timeout_secs: int = 10, retries: int = 1
    ) -> None:
        quiet = logging.getLogger("stockbot.slack_sdk")
        quiet.setLevel(logging.CRITICAL)  # the notifier logs failures itself; slack-sdk would echo bodies
        self._client = WebClient(
            token=token,
            base_url=base_url,
            timeout=timeout_secs,
            logger=quiet,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=retries),
                RateLimitErrorRetryHandler(max_retry_count=retries),
            ],
        )
        if urlsplit(base_url).hostname in _LOOPBACK:
            self._client.proxy = None  # a proxy from the environment must not intercept a local server

    def auth_test(self) -> SlackResult:
        """Check the token (``auth.test``)."""
        return self._call(self._client.auth_test)

    def post_message(self, channel_id: str, text: str) -> SlackResult:
        """Post `text` (Slack mrkdwn, masked again here) to the channel with ID `channel_id`."""
        return self._call(
            self._client.chat_postMessage, channel=channel_id, text=mask(text), unfurl_links=False, unfurl_media=False
        )

    def upload_file(self, channel_id: str, filename: str, data: bytes, *, title: str, comment: str) -> SlackResult:
        """Upload `data` as `filename` to the channel with `comment` as its message (files upload v2 flow:
        ``files.getUploadURLExternal``, the upload URL, ``files.completeUploadExternal``).
        """
        return self._call(
            self._client.files_upload_v2,
            channel=channel_id,
            filename=filename,
            content=data,
            title=title,
            initial_comment=mask(comment),
        )

    def _call(self, method: Any, **kwargs: Any) -> SlackResult:
        try:
            response = method(**kwargs)
        except SlackApiError as e:
            error = (e.response.get("error") if e.response is not None else None) or str(e)
            return SlackResult(False, mask(str(error)))
        except Exception as e:  # transport failures of any kind: the caller decides, nothing is raised
            return SlackResult(False, mask(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
        ts = response.get("ts") if hasattr(response, "get") else None
        return SlackResult(True, ts=ts if isinstance(ts, str) else None)
