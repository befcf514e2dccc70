"""The two ways a venue's executions get a stable identity (the `FillIdentity` port).

* `CumulativeFillIdentity`: for venues that give an execution no id (KIS: a WebSocket notice names the order,
  quantity, price and second; ``inquire-daily-ccld`` only each order's cumulative quantity and average
  price). Both views agree on the order's cumulative executed quantity, so a fill is identified by its order
  and the cumulative quantity after it, ``<account>:<YYYYMMDD>:<order number>@<cumulative quantity>``; the
  stream and the inquiry derive the same identity for the same execution. Order numbers restart every
  trading day, hence the date.
* `TradeIdFillIdentity`: for venues that name each trade (Upbit's trade ``uuid``): the venue's id, once.
"""

from collections.abc import Sequence
from decimal import Decimal

from stock_manager.domain.fill_matching import MissingFills, missing_by_quantity, normalize_order_number
from stock_manager.domain.fills import Fill


def cumulative_identity(account_id: str, fill: Fill, cumulative_quantity: Decimal) -> str:
    """Return ``"<account>:<YYYYMMDD>:<order number without leading zeros>@<quantity>"`` for the execution
    that brought its order's executed quantity to `cumulative_quantity` (e.g. ``"50123456-01:20250613:11774@30"``)."""
    quantity = format(cumulative_quantity.normalize(), "f")
    return f"{account_id}:{fill.trading_date:%Y%m%d}:{normalize_order_number(fill.broker_order_number)}@{quantity}"


class CumulativeFillIdentity:
    """Fills identified by their order and cumulative quantity (venues without execution ids)."""

    def identify(self, account_id: str, fill: Fill, recorded_quantity: Decimal) -> str:
        """Return the identity of `fill` given the quantity of its order already recorded."""
        return cumulative_identity(account_id, fill, recorded_quantity + fill.quantity)

    def missing(self, account_id: str, recorded: Sequence[Fill], at_broker: Sequence[Fill]) -> MissingFills:
        """Return the venue's executions of one order beyond `recorded` (see `missing_by_quantity`)."""
        return missing_by_quantity(
            recorded, at_broker, lambda fill, cumulative: cumulative_identity(account_id, fill, cumulative)
        )


class TradeIdFillIdentity:
    """Fills identified by the venue's own trade id (``fill.broker_fill_id`` as the adapter reports it)."""

    def identify(self, account_id: str, fill: Fill, recorded_quantity: Decimal) -> str:
        """Return the venue's trade id of `fill`."""
        return fill.broker_fill_id

    def missing(self, account_id: str, recorded: Sequence[Fill], at_broker: Sequence[Fill]) -> MissingFills:
        """Return the venue's trades of one order whose ids are not recorded, or the surplus when more is
        recorded than the venue executed."""
        known = {f.broker_fill_id for f in recorded}
        recorded_qty = sum((f.quantity for f in recorded), Decimal(0))
        broker_qty = sum((f.quantity for f in at_broker), Decimal(0))
        if recorded_qty > broker_qty:
            return MissingFills((), recorded_qty - broker_qty)
        return MissingFills(tuple(f for f in at_broker if f.broker_fill_id not in known), Decimal(0))
