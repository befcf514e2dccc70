"""Journal records of a replay: the replay's parameters and the JSON shape of orders and fills.

Decimals are written as strings, times as ISO 8601 with their UTC offset; `journal` documents the records.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from stock_manager.adapters.broker.sim.matching import MatchingConfig
from stock_manager.adapters.marketdata import data_fingerprint
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import OrderType, Side, TimeInForce
from stock_manager.service_layer.ports.broker import OrderRequest

#: Bump when a change to the matching rules or the replay paths would replay a journal differently.
ENGINE_VERSION = 1


def number(value: Decimal) -> str:
    """Return `value` as a plain decimal string without exponent or trailing zeros (``"10000000"``)."""
    return format(value.normalize(), "f")


def iso(ts: datetime) -> str:
    """Return `ts` in ISO 8601 with its offset."""
    return ts.isoformat()


def replay_params(
    symbols: tuple[str, ...],
    start: date,
    end: date,
    config: MatchingConfig,
    *,
    venue: str = "krx",
    data: str | None = None,
) -> dict[str, Any]:
    """Return the parameters that identify a replay: same parameters, same replay (and the same journal).

    `data` is the replayed data's fingerprint (the bundled data's by default); `venue` is recorded only when it
    is not KRX, so the journals of KRX replays keep their identity.
    """
    costs = config.cost_model
    params: dict[str, Any] = {
        "symbols": list(symbols),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "start_cash_krw": number(config.start_cash_krw),
        "participation_rate": number(config.participation_rate),
        "commission_rate": number(costs.commission_rate),
        "sell_tax_schedule": [[day.isoformat(), number(rate)] for day, rate in costs.sell_tax_schedule],
        "data": data if data is not None else data_fingerprint(),
        "engine": ENGINE_VERSION,
    }
    if venue != "krx":
        params["venue"] = venue
        params["cost_quantum"] = None if costs.cost_quantum is None else number(costs.cost_quantum)
    return params


def encode_request(request: OrderRequest) -> dict[str, Any]:
    """Return the JSON object of an order request."""
    return (
        {
            "account_id": request.account_id,
            "symbol": request.symbol,
            "side": request.side.value,
            "order_type": request.order_type.value,
            "quantity": str(request.quantity),
            "limit_price": None if request.limit_price is None else str(request.limit_price),
        }
        | ({} if request.client_order_id is None else {"client_order_id": request.client_order_id})
        | ({} if request.time_in_force is TimeInForce.DAY else {"time_in_force": request.time_in_force.value})
    )


def decode_request(data: dict[str, Any]) -> OrderRequest:
    """Return the order request of a JSON object written by `encode_request`."""
    return OrderRequest(
        account_id=data["account_id"],
        symbol=data["symbol"],
        side=Side(data["side"]),
        order_type=OrderType(data["order_type"]),
        quantity=Decimal(data["quantity"]),
        limit_price=None if data["limit_price"] is None else Decimal(data["limit_price"]),
        client_order_id=data.get("client_order_id"),
        time_in_force=TimeInForce(data.get("time_in_force", TimeInForce.DAY.value)),
    )


def encode_fill(fill: Fill) -> list[str]:
    """Return ``[fill id, quantity, price]``: what a checkpoint records of a fill, to verify a rebuild."""
    return [fill.broker_fill_id, str(fill.quantity), str(fill.price)]
