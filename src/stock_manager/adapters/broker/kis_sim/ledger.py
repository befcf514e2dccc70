"""What the KIS front knows about orders beyond the venue: who placed them, their ``ORD_DVSN``, revise and
cancel orders (which get their own order numbers at KIS), exchange rejections, and a data version that
invalidates paging contexts (SYDB0050) whenever an order or fill changes.

Revise/cancel order numbers are drawn from their own range (``8000000001`` upward) because the venue numbers
only the orders it matches [deviation: KIS uses one sequence for both].
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from stock_manager.adapters.broker.kis_sim.auth import KisCredential

CANCEL_NUMBER_START = 8_000_000_001


@dataclass(slots=True)
class OrderMeta:
    """The KIS-side facts of one venue order.

    Attributes
    ----------
    number : str
        The venue's order number (10 digits).
    credential : KisCredential
        Who placed it (its HTS id receives the notices).
    ord_dvsn : str
        ``"00"`` limit or ``"01"`` market.
    original : str
        For a revised order, the order it replaced (``orgn_odno``); "" otherwise.
    rejected : bool
        Refused by the exchange after acceptance (fault knob): the remainder is ``rjct_qty``.
    pending : "CancelOrder | None"
        The revise/cancel order waiting for the venue's confirmation.
    """

    number: str
    credential: KisCredential
    ord_dvsn: str
    original: str = ""
    rejected: bool = False
    pending: "CancelOrder | None" = None


@dataclass(slots=True)
class CancelOrder:
    """A revise (``"1"``) or cancel (``"2"``) order: a row of its own in ``inquire-daily-ccld``."""

    number: str
    original: str
    kind: str  # RVSE_CNCL_DVSN_CD: "01" revise, "02" cancel
    ts: datetime
    quantity: Decimal
    credential: KisCredential
    replacement: str = ""  # the venue order that carries a revise's new terms
    confirmed_quantity: Decimal | None = None


@dataclass(slots=True)
class Ledger:
    """Order facts by venue order number, revise/cancel orders, and the paging data version."""

    orders: dict[str, OrderMeta] = field(default_factory=dict)
    cancels: list[CancelOrder] = field(default_factory=list)
    version: int = 0
    _next_cancel: int = CANCEL_NUMBER_START

    def add(self, meta: OrderMeta) -> None:
        """Record a newly accepted venue order."""
        self.orders[meta.number] = meta
        self.version += 1

    def new_cancel(
        self, original: str, kind: str, ts: datetime, quantity: Decimal, credential: KisCredential
    ) -> CancelOrder:
        """Return a new revise/cancel order of `original`, numbered from its own range."""
        cancel = CancelOrder(str(self._next_cancel), original, kind, ts, quantity, credential)
        self._next_cancel += 1
        self.cancels.append(cancel)
        self.version += 1
        return cancel

    def changed(self) -> None:
        """Note a change (fill, cancel confirmation) that invalidates paging contexts."""
        self.version += 1
