"""Upbit's wire conventions as the simulator writes them: error bodies, decimals as strings (Exchange API) or
exact JSON numbers (Quotation API and WebSocket), KST timestamps, and the parameter formats it reads.

Source: ../reference/upbit-openapi.md §1 (content types; Exchange REST decimals are strings, Quotation REST and
WebSocket numbers), §3.2 (``to`` formats; a zone-less time is UTC), §4.7 (``start_time``/``end_time`` as ISO 8601
or epoch milliseconds), §4.10 (``created_at`` in KST with its offset) and §7 (error body; Quotation errors carry a
numeric ``name``).
"""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from aiohttp import web

from stock_manager.localtime import KST

EXCHANGE_CONTENT_TYPE: Final = "application/json"
_NUMBER_MARK = "\u0001num:"
_MARKED = re.compile('"\\\\u0001num:([-0-9.E+]+)"')


class UpbitApiError(Exception):
    """A refusal to answer with ``{"error": {"name", "message"}}`` and `status`.

    Parameters
    ----------
    status : int
        HTTP status.
    name : str | int
        The error name (an int for Quotation errors, §7).
    message : str
        Upbit's message text.
    """

    def __init__(self, status: int, name: str | int, message: str) -> None:
        super().__init__(f"{status} {name}: {message}")
        self.status = status
        self.name = name
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the error body."""
        return {"error": {"name": self.name, "message": self.message}}


def validation_error(message: str) -> UpbitApiError:
    """Return the 400 ``validation_error`` naming a field (``"side is missing, side does not have a valid value"``)."""
    return UpbitApiError(400, "validation_error", message)


def quotation_error(status: int, message: str) -> UpbitApiError:
    """Return a Quotation API error: its ``name`` is the HTTP status as a number."""
    return UpbitApiError(status, status, message)


def text(value: Decimal) -> str:
    """Return `value` as a plain decimal string (``"0.0001"``, ``"140000000"``), as the Exchange API writes it."""
    return format(value.normalize(), "f") if value else "0"


def number(value: Decimal) -> str:
    """Return `value` marked to be written as an exact JSON number by `dumps`."""
    return f"{_NUMBER_MARK}{text(value)}"


def dumps(body: Any) -> str:
    """Return the JSON text of `body`, with every `number`-marked string written as a bare JSON number."""
    return _MARKED.sub(r"\1", json.dumps(body, ensure_ascii=False, separators=(",", ":")))


def exchange_response(body: Any, *, status: int = 200) -> web.Response:
    """Return an Exchange API answer (decimals already rendered with `text`)."""
    return web.Response(text=dumps(body), status=status, content_type=EXCHANGE_CONTENT_TYPE)


def quotation_response(body: Any, *, status: int = 200) -> web.Response:
    """Return a Quotation API answer (``application/json;charset=UTF-8``; numbers marked with `number`)."""
    return web.Response(text=dumps(body), status=status, content_type="application/json", charset="UTF-8")


def error_response(error: UpbitApiError) -> web.Response:
    """Return the answer of `error`."""
    return web.Response(text=dumps(error.body()), status=error.status, content_type="application/json", charset="utf-8")


def kst_iso(ts: datetime, *, micro: bool = False) -> str:
    """Return `ts` in KST with its offset: ``2025-07-04T15:00:00+09:00`` (trades carry microseconds)."""
    return ts.astimezone(KST).isoformat(timespec="microseconds" if micro else "seconds")


def epoch_ms(ts: datetime) -> int:
    """Return `ts` as epoch milliseconds."""
    return int(ts.timestamp() * 1000)


def parse_time(value: str, name: str, *, quotation: bool = False) -> datetime:
    """Return a time parameter as aware UTC: ISO 8601 with ``Z`` or an offset, ``YYYY-MM-DD HH:MM:SS``, a zone-less
    time (read as UTC), or epoch milliseconds.

    Raises
    ------
    UpbitApiError
        400 (numeric for the Quotation API, ``validation_error`` otherwise) when the value is none of those.
    """
    value = value.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except (ValueError, OverflowError):
        if quotation:
            raise quotation_error(400, "Invalid parameter. Check the given value!") from None
        raise validation_error(f"{name} does not have a valid value") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_amount(value: Any, name: str, *, max_decimals: int | None = None) -> Decimal:
    """Return a positive finite decimal parameter (a JSON string or number).

    Raises
    ------
    UpbitApiError
        400 ``validation_error`` for anything else (or more decimals than `max_decimals`).
    """
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise InvalidOperation
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise validation_error(f"{name} does not have a valid value") from None
    if not amount.is_finite() or amount <= 0:
        raise validation_error(f"{name} does not have a valid value")
    exponent = amount.normalize().as_tuple().exponent
    if max_decimals is not None and isinstance(exponent, int) and -exponent > max_decimals:
        raise validation_error(f"{name} does not have a valid value")
    return amount
