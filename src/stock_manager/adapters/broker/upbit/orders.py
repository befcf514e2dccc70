"""The body of ``POST /v1/orders``, checked against Upbit's type matrix before anything is sent.

Source: upbit-openapi.md §4.3 (fields and the type matrix: send only the listed keys, omit the others rather than
sending null), §8.2 (8 decimals of quantity) and §9 pitfalls 4 and 6 (a market buy's ``price`` is the KRW to
spend, not a unit price). A request outside the matrix is refused here with
``OrderRejectedByBroker(code="CLIENT")``; Upbit never sees it.

=============  ======  ========  ========  ===============  ==========================
intent         side    ord_type  volume    price            time_in_force
=============  ======  ========  ========  ===============  ==========================
limit          either  limit     required  required (unit)  optional: ioc/fok/post_only
market buy     bid     price     —         required (KRW)   —
market sell    ask     market    required  —                —
best buy       bid     best      —         required (KRW)   required: ioc/fok
best sell      ask     best      required  —                required: ioc/fok
=============  ======  ========  ========  ===============  ==========================
"""

import re
from decimal import Decimal
from typing import Final

from stock_manager.domain.errors import OrderRejectedByBroker

CLIENT_CODE: Final = "CLIENT"
#: Decimal places Upbit accepts for a quantity (§8.2).
VOLUME_DECIMALS: Final = 8
LIMIT_TIME_IN_FORCE: Final = frozenset({"ioc", "fok", "post_only"})
BEST_TIME_IN_FORCE: Final = frozenset({"ioc", "fok"})
_MARKET = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")


def _refuse(reason: str) -> OrderRejectedByBroker:
    return OrderRejectedByBroker(f"order not sent: {reason}", code=CLIENT_CODE)


def _amount(name: str, value: object, *, max_decimals: int | None = None) -> Decimal:
    if not isinstance(value, Decimal):
        raise _refuse(f"{name} must be a Decimal, was {type(value).__name__} {value!r}")
    if not value.is_finite() or value <= 0:
        raise _refuse(f"{name} must be positive and finite, was {value}")
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if max_decimals is not None and -exponent > max_decimals:
        raise _refuse(f"{name} has more than {max_decimals} decimal places: {value}")
    return value


def _render(value: Decimal) -> str:
    # Plain notation without trailing zeros: Decimal("0.00010000") → "0.0001", Decimal("1E+2") → "100".
    return format(value.normalize(), "f")


def order_body(
    market: str,
    side: str,
    ord_type: str,
    *,
    volume: Decimal | None = None,
    price: Decimal | None = None,
    time_in_force: str | None = None,
    identifier: str | None = None,
) -> dict[str, str]:
    """Return the JSON body of ``POST /v1/orders`` for a request that fits the §4.3 matrix.

    Keys come in the order ``market, side, volume, price, ord_type, time_in_force, identifier`` and only those
    the order type uses are present (never a null); amounts are plain decimal strings.

    Parameters
    ----------
    market : str
        E.g. ``"KRW-BTC"``.
    side : str
        ``"bid"`` (buy) or ``"ask"`` (sell).
    ord_type : str
        ``"limit"``, ``"price"`` (market buy), ``"market"`` (market sell) or ``"best"``.
    volume : Decimal | None
        Base quantity (at most 8 decimals): limit, market sell, best sell.
    price : Decimal | None
        Limit: unit price (quote currency per base unit); market and best buys: quote amount to spend.
    time_in_force : str | None
        ``"ioc"``, ``"fok"`` or ``"post_only"`` (limit only); required ``ioc``/``fok`` for ``best``.
    identifier : str | None
        Client order id, unique for the account forever (§9 pitfall 13).

    Raises
    ------
    OrderRejectedByBroker
        With ``code="CLIENT"`` when the combination is not in the matrix, an amount is not a positive Decimal,
        a volume has more than 8 decimals, or the market or identifier is malformed.
    """
    if not isinstance(market, str) or not _MARKET.match(market):
        raise _refuse(f"market must look like 'KRW-BTC', was {market!r}")
    if side not in {"bid", "ask"}:
        raise _refuse(f"side must be 'bid' or 'ask', was {side!r}")
    if identifier is not None and (not isinstance(identifier, str) or not identifier.strip()):
        raise _refuse(f"identifier must be a non-empty string when given, was {identifier!r}")
    needs_volume, needs_price, tif_allowed, tif_required = _matrix(side, ord_type)
    for name, value, needed in (("volume", volume, needs_volume), ("price", price, needs_price)):
        if needed and value is None:
            raise _refuse(f"{ord_type} {side} orders need {name}")
        if not needed and value is not None:
            raise _refuse(f"{ord_type} {side} orders must not carry {name} (was {value})")
    if time_in_force is None and tif_required:
        raise _refuse(f"{ord_type} orders need time_in_force ioc or fok")
    if time_in_force is not None and time_in_force not in tif_allowed:
        allowed = ", ".join(sorted(tif_allowed)) or "none"
        raise _refuse(
            f"time_in_force {time_in_force!r} is not allowed for {ord_type} {side} orders (allowed: {allowed})"
        )
    body = {"market": market, "side": side}
    if volume is not None:
        body["volume"] = _render(_amount("volume", volume, max_decimals=VOLUME_DECIMALS))
    if price is not None:
        body["price"] = _render(_amount("price", price))
    body["ord_type"] = ord_type
    if time_in_force is not None:
        body["time_in_force"] = time_in_force
    if identifier is not None:
        body["identifier"] = identifier
    return body


def _matrix(side: str, ord_type: str) -> tuple[bool, bool, frozenset[str], bool]:
    # (needs volume, needs price, allowed time_in_force, time_in_force required)
    match ord_type, side:
        case "limit", _:
            return True, True, LIMIT_TIME_IN_FORCE, False
        case "price", "bid":
            return False, True, frozenset(), False
        case "market", "ask":
            return True, False, frozenset(), False
        case "best", "bid":
            return False, True, BEST_TIME_IN_FORCE, True
        case "best", "ask":
            return True, False, BEST_TIME_IN_FORCE, True
        case (("price" | "market"), _):
            raise _refuse(
                f"ord_type {ord_type!r} is only for {'bid' if ord_type == 'price' else 'ask'} orders "
                f"(market buys use 'price' with a KRW amount, market sells 'market' with a volume)"
            )
        case _:
            raise _refuse(f"ord_type must be limit, price, market or best, was {ord_type!r}")
