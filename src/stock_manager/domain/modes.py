"""How a daemon run trades: where orders go (mode) and what happens to the orders the strategy decides.

Both travel as these enums from the settings to every component; their values are what the database and the
command line show (spec 001 §2).
"""

from enum import StrEnum


class Mode(StrEnum):
    """Where orders go: a replaying simulator, the venue's paper account, or the live account."""

    SIM = "sim"
    PAPER = "paper"
    LIVE = "live"

    def __str__(self) -> str:
        return self.value


class OrderMode(StrEnum):
    """What happens to the orders the strategy decides (spec 001 §2)."""

    SEND = "send"  # risk-checked orders go to the broker
    OBSERVE = "observe"  # the whole loop runs; orders are recorded as would-be orders and never sent
    STOP = "stop"  # stop mode from the start: nothing new is sent; monitoring and recording go on

    def __str__(self) -> str:
        return self.value
