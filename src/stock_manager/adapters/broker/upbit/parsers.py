"""Parsers of Upbit REST answers into `models`' values, at the boundary; plus the field helpers they share.

Source: upbit-openapi.md §1 (Exchange REST sends decimals as JSON *strings*, Quotation REST and WebSocket as
JSON numbers; ``trades_count`` an integer, once seen as a string), §3 (quotation shapes; ``candle_date_time_utc``
is zone-less UTC), §4.1, §4.2 (``/orders/chance`` may come as an object or wrapped in an array), §4.10 (order
object; ``created_at`` carries ``+09:00``; ``price`` null for market sells; ``volume`` absent for ``price`` buys).

Every amount is built with ``Decimal(str(x))``, whether ``x`` arrived as a string, an int or a Decimal (the REST
client decodes JSON numbers as Decimal). A malformed payload raises `UpbitParseError`.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from stock_manager.adapters.broker.upbit.models import (
    UpbitBalance,
    UpbitCandle,
    UpbitChance,
    UpbitInstrument,
    UpbitOrder,
    UpbitTicker,
    UpbitTrade,
    UpbitTradeTick,
)

#: Upbit's exchange timestamps are in KST (UTC+9, no DST); used only for a ``created_at`` without an offset.
UPBIT_TZ = timezone(timedelta(hours=9), name="KST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

type Row = Mapping[str, Any]


class UpbitParseError(ValueError):
    """An Upbit payload lacks a field or carries a value of the wrong shape."""


# -- FIELD HELPERS -----------------------------------------------------------------------------------------


def to_decimal(value: Any, *, field: str) -> Decimal:
    """Return `value` (a JSON string, int or Decimal) as a finite Decimal, via ``Decimal(str(value))``.

    Raises
    ------
    UpbitParseError
        For None, a boolean, an empty or non-numeric text, or a non-finite number.
    """
    if value is None or isinstance(value, bool):
        raise UpbitParseError(f"{field} must be a number, was {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UpbitParseError(f"{field} must be a number, was {value!r}") from None
    if not number.is_finite():
        raise UpbitParseError(f"{field} must be finite, was {value!r}")
    return number


def dec(row: Row, name: str) -> Decimal:
    """Return the required decimal field `name` of `row`."""
    if name not in row:
        raise UpbitParseError(f"missing field {name!r}")
    return to_decimal(row[name], field=name)


def opt_dec(row: Row, name: str) -> Decimal | None:
    """Return the decimal field `name` of `row`, or None when it is absent, null or ``""``."""
    value = row.get(name)
    return None if value is None or value == "" else to_decimal(value, field=name)


def dec_or(row: Row, name: str, default: Decimal) -> Decimal:
    """Return the decimal field `name` of `row`, or `default` when it is absent, null or ``""``."""
    value = opt_dec(row, name)
    return default if value is None else value


def text(row: Row, name: str) -> str:
    """Return the required non-empty text field `name` of `row`."""
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise UpbitParseError(f"field {name!r} must be a non-empty string, was {value!r}")
    return value


def opt_text(row: Row, name: str) -> str | None:
    """Return the text field `name` of `row`, or None when absent, null or empty."""
    value = row.get(name)
    return str(value) if value not in (None, "") else None


def integer(row: Row, name: str, *, default: int | None = None) -> int:
    """Return the integer field `name` (an int, or its decimal text as once seen for ``trades_count``)."""
    value = row.get(name)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise UpbitParseError(f"field {name!r} must be an integer, was {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UpbitParseError(f"field {name!r} must be an integer, was {value!r}") from None
    if number != number.to_integral_value():
        raise UpbitParseError(f"field {name!r} must be an integer, was {value!r}")
    return int(number)


def exchange_time(row: Row, name: str) -> datetime:
    """Return an Exchange timestamp (``2025-07-04T15:00:00+09:00``, ``…Z``) as aware UTC; a value without an
    offset is read as KST, Upbit's exchange zone [U]."""
    value = text(row, name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UpbitParseError(f"field {name!r} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UPBIT_TZ)
    return parsed.astimezone(UTC)


def utc_wall_time(row: Row, name: str) -> datetime:
    """Return a zone-less UTC wall time (``candle_date_time_utc``: ``2025-07-01T12:01:00``) as aware UTC."""
    value = text(row, name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UpbitParseError(f"field {name!r} is not an ISO 8601 time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def epoch_ms(row: Row, name: str) -> datetime:
    """Return the required epoch-milliseconds field `name` as an aware UTC datetime (exact to the ms)."""
    return _EPOCH + timedelta(milliseconds=integer(row, name))


def opt_epoch_ms(row: Row, name: str) -> datetime | None:
    """Return the epoch-milliseconds field `name` as aware UTC, or None when absent or null."""
    return None if row.get(name) is None else epoch_ms(row, name)


def strings(row: Row, name: str) -> tuple[str, ...]:
    """Return the list-of-strings field `name` as a tuple (empty when absent)."""
    value = row.get(name) or []
    if not isinstance(value, list):
        raise UpbitParseError(f"field {name!r} must be a list, was {value!r}")
    return tuple(str(item) for item in value)


def rows(payload: Any, *, what: str) -> list[Row]:
    """Return `payload` as a list of JSON objects, or raise `UpbitParseError`."""
    if not isinstance(payload, list) or not all(isinstance(item, Mapping) for item in payload):
        raise UpbitParseError(f"{what}: expected a JSON array of objects, was {type(payload).__name__}")
    return payload


def _object(payload: Any, *, what: str) -> Row:
    if not isinstance(payload, Mapping):
        raise UpbitParseError(f"{what}: expected a JSON object, was {type(payload).__name__}")
    return payload


# -- EXCHANGE ----------------------------------------------------------------------------------------------


def parse_trade(row: Row) -> UpbitTrade:
    """Parse one element of an order's ``trades`` (§4.10)."""
    return UpbitTrade(
        uuid=text(row, "uuid"),
        market=text(row, "market"),
        price=dec(row, "price"),
        volume=dec(row, "volume"),
        funds=dec(row, "funds"),
        side=text(row, "side"),
        created_at=exchange_time(row, "created_at"),
        trend=opt_text(row, "trend"),
    )


def parse_order(payload: Any) -> UpbitOrder:
    """Parse an order object of ``POST /v1/orders``, ``GET /v1/order``, ``DELETE /v1/order`` or a list (§4.10).

    Raises
    ------
    UpbitParseError
        If a required field is missing or malformed.
    """
    row = _object(payload, what="order")
    trades = row.get("trades") or []
    if not isinstance(trades, list):
        raise UpbitParseError(f"order trades must be a list, was {trades!r}")
    return UpbitOrder(
        uuid=text(row, "uuid"),
        identifier=opt_text(row, "identifier"),
        market=text(row, "market"),
        side=text(row, "side"),
        ord_type=text(row, "ord_type"),
        state=text(row, "state"),
        price=opt_dec(row, "price"),
        volume=opt_dec(row, "volume"),
        remaining_volume=opt_dec(row, "remaining_volume"),
        executed_volume=dec_or(row, "executed_volume", Decimal(0)),
        executed_funds=opt_dec(row, "executed_funds"),
        reserved_fee=dec_or(row, "reserved_fee", Decimal(0)),
        remaining_fee=dec_or(row, "remaining_fee", Decimal(0)),
        paid_fee=dec_or(row, "paid_fee", Decimal(0)),
        locked=dec_or(row, "locked", Decimal(0)),
        trades_count=integer(row, "trades_count", default=0),
        time_in_force=opt_text(row, "time_in_force"),
        created_at=exchange_time(row, "created_at"),
        trades=tuple(parse_trade(t) for t in trades),
    )


def parse_orders(payload: Any) -> list[UpbitOrder]:
    """Parse an array of order objects (``/v1/orders/open``, ``/closed``, ``/uuids``)."""
    return [parse_order(row) for row in rows(payload, what="orders")]


def parse_balance(row: Row) -> UpbitBalance:
    """Parse one element of ``GET /v1/accounts`` (§4.1); the old ``avg_krw_buy_price`` name is accepted too."""
    avg = row.get("avg_buy_price", row.get("avg_krw_buy_price"))
    return UpbitBalance(
        currency=text(row, "currency"),
        balance=dec(row, "balance"),
        locked=dec_or(row, "locked", Decimal(0)),
        avg_buy_price=Decimal(0) if avg in (None, "") else to_decimal(avg, field="avg_buy_price"),
        avg_buy_price_modified=bool(row.get("avg_buy_price_modified", row.get("modified", False))),
        unit_currency=opt_text(row, "unit_currency") or "KRW",
    )


def parse_accounts(payload: Any) -> list[UpbitBalance]:
    """Parse ``GET /v1/accounts``: every currency held (zero balances may be absent)."""
    return [parse_balance(row) for row in rows(payload, what="accounts")]


def parse_chance(payload: Any) -> UpbitChance:
    """Parse ``GET /v1/orders/chance`` (§4.2): a single object, or one wrapped in a one-element array [U]."""
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]
    row = _object(payload, what="orders/chance")
    market = _object(row.get("market"), what="orders/chance market")
    bid = _object(market.get("bid") or {}, what="orders/chance market.bid")
    ask = _object(market.get("ask") or {}, what="orders/chance market.ask")
    bid_fee, ask_fee = dec(row, "bid_fee"), dec(row, "ask_fee")
    return UpbitChance(
        market=text(market, "id"),
        bid_fee=bid_fee,
        ask_fee=ask_fee,
        maker_bid_fee=dec_or(row, "maker_bid_fee", bid_fee),
        maker_ask_fee=dec_or(row, "maker_ask_fee", ask_fee),
        bid_currency=text(bid, "currency"),
        ask_currency=text(ask, "currency"),
        bid_min_total=dec(bid, "min_total"),
        ask_min_total=dec(ask, "min_total"),
        max_total=opt_dec(market, "max_total"),
        bid_types=strings(market, "bid_types"),
        ask_types=strings(market, "ask_types"),
        order_sides=strings(market, "order_sides"),
        state=opt_text(market, "state") or "",
        bid_account=_opt_balance(row.get("bid_account")),
        ask_account=_opt_balance(row.get("ask_account")),
    )


def _opt_balance(value: Any) -> UpbitBalance | None:
    return parse_balance(value) if isinstance(value, Mapping) else None


# -- QUOTATION ---------------------------------------------------------------------------------------------


def parse_candle(row: Row) -> UpbitCandle:
    """Parse one minute or day candle (§3.2)."""
    unit = row.get("unit")
    return UpbitCandle(
        market=text(row, "market"),
        start_utc=utc_wall_time(row, "candle_date_time_utc"),
        opening_price=dec(row, "opening_price"),
        high_price=dec(row, "high_price"),
        low_price=dec(row, "low_price"),
        trade_price=dec(row, "trade_price"),
        last_trade_at=epoch_ms(row, "timestamp"),
        acc_trade_price=dec(row, "candle_acc_trade_price"),
        acc_trade_volume=dec(row, "candle_acc_trade_volume"),
        unit_mins=None if unit is None else integer(row, "unit"),
    )


def parse_candles(payload: Any) -> list[UpbitCandle]:
    """Parse a candle array in Upbit's order (newest first)."""
    return [parse_candle(row) for row in rows(payload, what="candles")]


def parse_ticker(row: Row) -> UpbitTicker:
    """Parse one element of ``GET /v1/ticker`` (§3.4)."""
    return UpbitTicker(
        market=text(row, "market"),
        trade_price=dec(row, "trade_price"),
        opening_price=dec(row, "opening_price"),
        high_price=dec(row, "high_price"),
        low_price=dec(row, "low_price"),
        prev_closing_price=dec(row, "prev_closing_price"),
        change=text(row, "change"),
        signed_change_price=dec(row, "signed_change_price"),
        signed_change_rate=dec(row, "signed_change_rate"),
        trade_volume=dec(row, "trade_volume"),
        acc_trade_price_24h=dec(row, "acc_trade_price_24h"),
        acc_trade_volume_24h=dec(row, "acc_trade_volume_24h"),
        traded_at=epoch_ms(row, "trade_timestamp"),
        timestamp=epoch_ms(row, "timestamp"),
    )


def parse_tickers(payload: Any) -> list[UpbitTicker]:
    """Parse ``GET /v1/ticker``."""
    return [parse_ticker(row) for row in rows(payload, what="ticker")]


def parse_trade_tick(row: Row) -> UpbitTradeTick:
    """Parse one element of ``GET /v1/trades/ticks`` (§3.3)."""
    return UpbitTradeTick(
        market=text(row, "market"),
        traded_at=epoch_ms(row, "timestamp"),
        trade_price=dec(row, "trade_price"),
        trade_volume=dec(row, "trade_volume"),
        ask_bid=text(row, "ask_bid"),
        sequential_id=integer(row, "sequential_id"),
    )


def parse_trade_ticks(payload: Any) -> list[UpbitTradeTick]:
    """Parse ``GET /v1/trades/ticks`` in Upbit's order (newest first)."""
    return [parse_trade_tick(row) for row in rows(payload, what="trades/ticks")]


def parse_instruments(payload: Any) -> list[UpbitInstrument]:
    """Parse ``GET /v1/orderbook/instruments`` (§3.6): ``tick_size`` and ``supported_levels`` as Decimals."""
    return [
        UpbitInstrument(
            market=text(row, "market"),
            quote_currency=opt_text(row, "quote_currency") or "",
            tick_size=dec(row, "tick_size"),
            supported_levels=tuple(to_decimal(v, field="supported_levels") for v in row.get("supported_levels") or ()),
        )
        for row in rows(payload, what="orderbook/instruments")
    ]
