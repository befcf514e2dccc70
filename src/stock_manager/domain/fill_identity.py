"""Fill identity without a broker fill id, and the fills a broker knows that our records lack.

KIS gives no id to an execution: a WebSocket notice (H0STCNI0/H0STCNI9) names the order, the quantity,
the price and the second; ``inquire-daily-ccld`` (TTTC0081R) only gives each order's cumulative executed
quantity and average price. Both views agree on one thing: the order's cumulative executed quantity. So a
fill is identified by its order and the cumulative quantity after it,
``<account>:<YYYYMMDD>:<order number>@<cumulative shares>``; the notice path and the REST path derive the
same identity for the same execution, and a fill seen both ways is recorded once.

`missing_fills` compares the fills recorded for one order with the broker's executions of it (individual
ones from a simulator, one aggregate per order from KIS) and returns what is missing, priced so that the
order's recorded notional then equals the broker's, or reports a surplus (more recorded than the broker
executed), which no correction can explain and which must stop trading.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from stock_manager.domain.clock import kst_date
from stock_manager.domain.fills import Fill

#: Prices and costs derived from averages are kept to this many KRW decimal places (the column scale).
_DERIVED_QUANTUM = Decimal("0.0001")


def normalize_order_number(number: str) -> str:
    """Return a broker order number without leading zeros (KIS paper ``"11774"`` = real ``"0000011774"``)."""
    return number.strip().lstrip("0") or "0"


def fill_identity(account_id: str, trading_date: date, broker_order_number: str, cumulative_quantity: Decimal) -> str:
    """Return the identity of the execution that brought an order's executed quantity to `cumulative_quantity`.

    Shape: ``"<account>:<YYYYMMDD>:<order number without leading zeros>@<shares>"``, e.g.
    ``"50123456-01:20250613:11774@30"``. KIS order numbers restart every day, hence the date.
    """
    shares = format(cumulative_quantity.normalize(), "f")
    return f"{account_id}:{trading_date:%Y%m%d}:{normalize_order_number(broker_order_number)}@{shares}"


def fill_day(fill: Fill) -> date:
    """Return the KST trading date of an execution (KRX orders are day orders: the order's own day)."""
    return kst_date(fill.ts_filled)


@dataclass(frozen=True, slots=True)
class MissingFills:
    """What `missing_fills` found for one order.

    Attributes
    ----------
    fills : tuple[Fill, ...]
        Executions to record, in order, each with its cumulative identity.
    surplus_quantity : Decimal
        Shares recorded beyond what the broker executed (0 when consistent). Positive means our records
        hold an execution the broker does not know: stop trading and look.
    """

    fills: tuple[Fill, ...]
    surplus_quantity: Decimal


def missing_fills(account_id: str, recorded: Sequence[Fill], at_broker: Sequence[Fill]) -> MissingFills:
    """Return the executions of one order the broker reports beyond those recorded.

    Parameters
    ----------
    account_id : str
        The account, part of each identity.
    recorded : Sequence[Fill]
        The fills recorded for the order (any order; only their quantities and notionals matter).
    at_broker : Sequence[Fill]
        The broker's executions of the same order, in execution order: several individual ones, or one
        aggregate carrying the order's cumulative quantity at its average price.

    The broker's executions are laid end to end by cumulative quantity. Those wholly beyond what is
    recorded are returned as they are (re-identified); one that straddles the recorded quantity is
    returned as its remainder, priced so that recorded plus missing notional equals the broker's up to its
    end, with commission and tax taken in the same proportion.
    """
    recorded_qty = sum((f.quantity for f in recorded), Decimal(0))
    recorded_notional = sum((f.notional_krw for f in recorded), Decimal(0))
    recorded_costs = (sum((f.commission_krw for f in recorded), Decimal(0)),
                      sum((f.tax_krw for f in recorded), Decimal(0)))
    broker_qty = sum((f.quantity for f in at_broker), Decimal(0))
    if recorded_qty >= broker_qty:
        return MissingFills((), recorded_qty - broker_qty)
    found: list[Fill] = []
    cumulative = Decimal(0)
    notional = Decimal(0)
    commission = Decimal(0)
    tax = Decimal(0)
    for fill in at_broker:
        start = cumulative
        cumulative += fill.quantity
        notional += fill.notional_krw
        commission += fill.commission_krw
        tax += fill.tax_krw
        if cumulative <= recorded_qty:
            continue
        identity = fill_identity(account_id, fill_day(fill), fill.broker_order_number, cumulative)
        if start >= recorded_qty:
            found.append(replace(fill, broker_fill_id=identity))
            continue
        # The broker's execution straddles what we recorded: only its remainder is missing.
        remainder = cumulative - recorded_qty
        price = ((notional - recorded_notional) / remainder).quantize(_DERIVED_QUANTUM, ROUND_HALF_EVEN)
        found.append(replace(
            fill, broker_fill_id=identity, quantity=remainder, price=price,
            commission_krw=max(Decimal(0), commission - recorded_costs[0]).quantize(_DERIVED_QUANTUM),
            tax_krw=max(Decimal(0), tax - recorded_costs[1]).quantize(_DERIVED_QUANTUM),
        ))
    return MissingFills(tuple(found), Decimal(0))
