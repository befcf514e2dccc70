"""The fills a venue knows that our records lack, matched by quantity.

A venue reports an order's executions either one by one or as one aggregate per order (its cumulative
quantity at an average price); our records hold the executions we were told of. Laying both end to end by
cumulative quantity tells what is missing whatever the venue's granularity: `missing_by_quantity` returns
the executions beyond what is recorded, each under the identity the venue's scheme gives it (see
`service_layer.ports.venue.FillIdentity`), with amounts such that the order's recorded amount then equals the
venue's to the won,
or reports a surplus (more recorded than the venue executed), which no correction can explain and which must
stop trading.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from stock_manager.domain.fills import Fill, fill_from_amount

#: Prices and costs derived from averages are kept to this many decimal places (the columns' scale).
DERIVED_QUANTUM = Decimal("0.00000001")


def normalize_order_number(number: str) -> str:
    """Return a venue order number without leading zeros (venues pad numbers differently across their APIs:
    ``"11774"`` = ``"0000011774"``); compare numbers only in this form."""
    return number.strip().lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class MissingFills:
    """What a venue reports of one order beyond our records.

    Attributes
    ----------
    fills : tuple[Fill, ...]
        Executions to record, in order, each under its identity.
    surplus_quantity : Decimal
        Quantity recorded beyond what the venue executed (0 when consistent). Positive means our records
        hold an execution the venue does not know: stop trading and look.
    """

    fills: tuple[Fill, ...]
    surplus_quantity: Decimal


def missing_by_quantity(
    recorded: Sequence[Fill], at_broker: Sequence[Fill], identity: Callable[[Fill, Decimal], str]
) -> MissingFills:
    """Return the executions of one order the venue reports beyond those recorded.

    Parameters
    ----------
    recorded : Sequence[Fill]
        The fills recorded for the order (any order; only their quantities and notionals matter).
    at_broker : Sequence[Fill]
        The venue's executions of the same order, in execution order: individual ones, or one aggregate
        carrying the order's cumulative quantity at its average price.
    identity : Callable[[Fill, Decimal], str]
        The identity of a missing execution, given it and the order's cumulative quantity after it.

    The venue's executions are laid end to end by cumulative quantity. Those wholly beyond what is recorded
    are returned as they are (re-identified); one that straddles the recorded quantity is returned as its
    remainder, its amount the venue's up to its end less the recorded amount (exact, in `Fill.amount_krw`
    where price × quantity cannot carry it), with commission and tax the venue's up to its end less recorded.
    """
    recorded_qty = sum((f.quantity for f in recorded), Decimal(0))
    recorded_notional = sum((f.notional_krw for f in recorded), Decimal(0))
    recorded_costs = (
        sum((f.commission_krw for f in recorded), Decimal(0)),
        sum((f.tax_krw for f in recorded), Decimal(0)),
    )
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
        if start >= recorded_qty:
            found.append(replace(fill, broker_fill_id=identity(fill, cumulative)))
            continue
        # The venue's execution straddles what we recorded: only its remainder is missing.
        # Its amount is the venue's amount up to its end less the recorded amount, exactly (the price is that
        # amount ÷ the remainder, rounded to the stored scale; `Fill.amount_krw` keeps the amount).
        remainder = cumulative - recorded_qty
        found.append(
            fill_from_amount(
                fill,
                remainder,
                notional - recorded_notional,
                broker_fill_id=identity(fill, cumulative),
                commission_krw=max(Decimal(0), commission - recorded_costs[0]).quantize(DERIVED_QUANTUM),
                tax_krw=max(Decimal(0), tax - recorded_costs[1]).quantize(DERIVED_QUANTUM),
            )
        )
    return MissingFills(tuple(found), Decimal(0))
