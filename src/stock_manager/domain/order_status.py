"""Order statuses and the state machine as data (spec 001 §8).

The spec's paths are NEW→SENT→PARTIAL→FILLED, NEW→SENT→CANCELED and NEW→SENT→REJECTED; transitions are
one-way. Real brokers force a few more; each one is commented with the situation that causes it.
"""

from enum import StrEnum
from typing import Final


class OrderStatus(StrEnum):
    """Life-cycle status of an order; the database's ``orders.status`` holds the value."""

    NEW = "NEW"  # committed to the database, not yet acknowledged by the broker
    SENT = "SENT"  # acknowledged by the broker (it holds a broker order number)
    PARTIAL = "PARTIAL"  # some quantity filled, the rest still working
    FILLED = "FILLED"  # the whole quantity filled
    CANCELED = "CANCELED"  # no more quantity will fill (cancelled, expired at the close, or never placed)
    REJECTED = "REJECTED"  # the broker refused the order

    def __str__(self) -> str:
        return self.value


S = OrderStatus

#: ``(current status, trigger status) -> next status``. A trigger is the status an order event implies.
TRANSITIONS: Final[dict[tuple[OrderStatus, OrderStatus], OrderStatus]] = {
    # The spec's paths.
    (S.NEW, S.SENT): S.SENT,
    (S.SENT, S.PARTIAL): S.PARTIAL,
    (S.PARTIAL, S.PARTIAL): S.PARTIAL,  # each further partial fill
    (S.PARTIAL, S.FILLED): S.FILLED,
    (S.SENT, S.CANCELED): S.CANCELED,
    (S.SENT, S.REJECTED): S.REJECTED,  # rejected after acceptance (a reject notice)
    # Forced by real brokers.
    (S.SENT, S.FILLED): S.FILLED,  # the whole quantity filled in one execution
    (S.PARTIAL, S.CANCELED): S.CANCELED,  # the unfilled remainder was cancelled (by us, or expired at the close)
    (S.NEW, S.REJECTED): S.REJECTED,  # refused in the order response itself: no order number is issued
    (S.NEW, S.CANCELED): S.CANCELED,  # never reached the broker (kill switch before send; recovery found none)
    (S.NEW, S.PARTIAL): S.PARTIAL,  # a fill notice overtook the order acknowledgement (WS before HTTP)
    (S.NEW, S.FILLED): S.FILLED,  # same race, whole quantity; or recovery adopting an order filled while down
    (S.CANCELED, S.PARTIAL): S.CANCELED,  # a late fill that raced our cancel; the remainder stays cancelled
    (S.CANCELED, S.FILLED): S.FILLED,  # the cancel came too late: everything had filled
}

#: Statuses in which the broker may still fill quantity; the daemon must track these.
OPEN_STATUSES: Final = frozenset({S.NEW, S.SENT, S.PARTIAL})
#: Statuses in which a cancel request makes sense (the broker holds a working order).
CANCELLABLE_STATUSES: Final = frozenset({S.SENT, S.PARTIAL})
#: Statuses from which no transition leads anywhere but a late-fill correction.
TERMINAL_STATUSES: Final = frozenset({S.FILLED, S.CANCELED, S.REJECTED})


def next_status(current: OrderStatus, trigger: OrderStatus) -> OrderStatus | None:
    """Return the status after `trigger` from `current`, or None when the transition is illegal."""
    return TRANSITIONS.get((current, trigger))
