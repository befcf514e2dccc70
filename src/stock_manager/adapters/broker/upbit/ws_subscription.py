"""What an Upbit WebSocket session subscribes to: the type objects and the request array.

Source: upbit-openapi.md §5.2 (request = JSON array ``[{ticket}, {type…}, …, {format}]``; a new request replaces
the whole set; no ``codes`` for ``myAsset``), §9 pitfall 10. Sent by `websocket.UpbitWebSocket` on every
(re)connection.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

PRIVATE_TYPES: Final = frozenset({"myOrder", "myAsset"})
FORMATS: Final = frozenset({"DEFAULT", "SIMPLE"})


@dataclass(frozen=True, slots=True)
class Subscription:
    """One type object of a subscription request (§5.2).

    Attributes
    ----------
    type : str
        ``ticker``, ``trade``, ``orderbook``, ``candle.1m``…, or private ``myOrder``/``myAsset``.
    codes : tuple[str, ...]
        Upper-case market codes (``KRW-BTC``; ``KRW-BTC.5`` for an order-book depth). Required for public
        types, optional for ``myOrder`` (empty = every market), forbidden for ``myAsset``.
    is_only_snapshot, is_only_realtime : bool
        Ask only the snapshot, or only real-time updates (both False: snapshot then updates).

    Raises
    ------
    ValueError
        On codes for ``myAsset``, no codes for a public type, or both flags set.
    """

    type: str
    codes: tuple[str, ...] = ()
    is_only_snapshot: bool = False
    is_only_realtime: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(code.upper() for code in self.codes))
        if self.type == "myAsset" and self.codes:
            raise ValueError("myAsset takes no codes (Upbit answers WRONG_FORMAT)")
        if self.type not in PRIVATE_TYPES and not self.codes:
            raise ValueError(f"{self.type} needs at least one market code")
        if self.is_only_snapshot and self.is_only_realtime:
            raise ValueError("is_only_snapshot and is_only_realtime exclude each other")

    def as_request_item(self) -> dict[str, Any]:
        """Return the type object as sent: ``{"type", "codes"?, "is_only_snapshot"?, "is_only_realtime"?}``."""
        item: dict[str, Any] = {"type": self.type}
        if self.codes:
            item["codes"] = list(self.codes)
        if self.is_only_snapshot:
            item["is_only_snapshot"] = True
        if self.is_only_realtime:
            item["is_only_realtime"] = True
        return item


def subscription_request(
    ticket: str, subscriptions: Sequence[Subscription], *, message_format: str = "DEFAULT"
) -> list[dict[str, Any]]:
    """Return the request array ``[{"ticket"}, {type…}, …, {"format"}]`` for the whole subscription set."""
    return [{"ticket": ticket}, *(s.as_request_item() for s in subscriptions), {"format": message_format}]
