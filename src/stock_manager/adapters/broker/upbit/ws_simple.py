"""Upbit's SIMPLE WebSocket format: its abbreviated keys per message type, and their expansion to the DEFAULT
names, so both formats are parsed alike (`ws_messages.parse_ws_message`).

Source: upbit-openapi.md §5.2 (formats), §5.3 (the abbreviation of every field, per type). A SIMPLE message is
recognised by ``ty`` in place of ``type``.
"""

from collections.abc import Mapping
from typing import Any, Final

_COMMON: Final = {"ty": "type", "cd": "code", "tms": "timestamp", "st": "stream_type"}
#: SIMPLE → DEFAULT keys per type (§5.3). ``ap`` is avg_price in myOrder but ask_price in order-book units.
SIMPLE_KEYS: Final[Mapping[str, Mapping[str, str]]] = {
    "ticker": {
        **_COMMON,
        "op": "opening_price",
        "hp": "high_price",
        "lp": "low_price",
        "tp": "trade_price",
        "pcp": "prev_closing_price",
        "c": "change",
        "cp": "change_price",
        "scp": "signed_change_price",
        "cr": "change_rate",
        "scr": "signed_change_rate",
        "tv": "trade_volume",
        "atv": "acc_trade_volume",
        "atv24h": "acc_trade_volume_24h",
        "atp": "acc_trade_price",
        "atp24h": "acc_trade_price_24h",
        "tdt": "trade_date",
        "ttm": "trade_time",
        "ttms": "trade_timestamp",
        "ab": "ask_bid",
        "aav": "acc_ask_volume",
        "abv": "acc_bid_volume",
        "h52wp": "highest_52_week_price",
        "h52wdt": "highest_52_week_date",
        "l52wp": "lowest_52_week_price",
        "l52wdt": "lowest_52_week_date",
        "ms": "market_state",
        "dd": "delisting_date",
        "mw": "market_warning",
        "its": "is_trading_suspended",
    },
    "trade": {
        **_COMMON,
        "tp": "trade_price",
        "tv": "trade_volume",
        "ab": "ask_bid",
        "pcp": "prev_closing_price",
        "c": "change",
        "cp": "change_price",
        "td": "trade_date",
        "ttm": "trade_time",
        "ttms": "trade_timestamp",
        "sid": "sequential_id",
        "bap": "best_ask_price",
        "bas": "best_ask_size",
        "bbp": "best_bid_price",
        "bbs": "best_bid_size",
    },
    "orderbook": {**_COMMON, "tas": "total_ask_size", "tbs": "total_bid_size", "obu": "orderbook_units", "lv": "level"},
    "myOrder": {
        **_COMMON,
        "uid": "uuid",
        "ab": "ask_bid",
        "ot": "order_type",
        "s": "state",
        "tuid": "trade_uuid",
        "p": "price",
        "ap": "avg_price",
        "v": "volume",
        "rv": "remaining_volume",
        "ev": "executed_volume",
        "tc": "trades_count",
        "rsf": "reserved_fee",
        "rmf": "remaining_fee",
        "pf": "paid_fee",
        "l": "locked",
        "ef": "executed_funds",
        "tif": "time_in_force",
        "tf": "trade_fee",
        "im": "is_maker",
        "id": "identifier",
        "smpt": "smp_type",
        "pv": "prevented_volume",
        "pl": "prevented_locked",
        "ttms": "trade_timestamp",
        "otms": "order_timestamp",
    },
    "myAsset": {**_COMMON, "astuid": "asset_uuid", "ast": "assets", "asttms": "asset_timestamp"},
}
_ORDERBOOK_UNIT_KEYS: Final = {"ap": "ask_price", "bp": "bid_price", "as": "ask_size", "bs": "bid_size"}
_ASSET_KEYS: Final = {"cu": "currency", "b": "balance", "l": "locked"}


def to_default_format(message: Mapping[str, Any]) -> dict[str, Any]:
    """Return `message` with SIMPLE keys expanded to DEFAULT names (a DEFAULT message is returned as a copy)."""
    if "type" in message or "ty" not in message:
        return dict(message)
    keys = SIMPLE_KEYS.get(str(message["ty"]), _COMMON)
    expanded = {keys.get(key, key): value for key, value in message.items()}
    if isinstance(units := expanded.get("orderbook_units"), list):
        expanded["orderbook_units"] = [_expand(unit, _ORDERBOOK_UNIT_KEYS) for unit in units]
    if isinstance(assets := expanded.get("assets"), list):
        expanded["assets"] = [_expand(asset, _ASSET_KEYS) for asset in assets]
    return expanded


def _expand(row: Any, keys: Mapping[str, str]) -> Any:
    return {keys.get(key, key): value for key, value in row.items()} if isinstance(row, Mapping) else row
