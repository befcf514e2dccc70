"""Fault knobs of the simulated KIS server, settable by tests while it runs, and the log of faults injected.

One-shot actions (drop the WebSocket connections, expire the tokens) are methods of
`KisExchangeSimulator`; the knobs here are read at each request or notice, and the periodic ones
(``drop_ws_every_secs``, ``expire_tokens_every_secs``) by tasks the simulator runs while started.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from stock_manager.adapters.broker.fault_log import FaultLog

__all__ = ["FaultKnobs", "FaultLog", "UnansweredMode"]

type UnansweredMode = Literal["hang", "close", "error500"]


@dataclass(slots=True)
class FaultKnobs:
    """Faults the simulator injects; all off by default.

    Attributes
    ----------
    unanswered_orders : int
        The next N order requests (order-cash and order-rvsecncl) are executed at the venue but their HTTP
        request is not answered as normal (see `unanswered_mode`); counts down to 0.
    unanswered_mode : "hang" | "close" | "error500"
        ``hang``: the response never comes (until the server stops); ``close``: the connection is closed
        without a response; ``error500``: an HTTP 500 gateway error although the order was accepted.
    rejected_after_accept : int
        The next N orders are accepted (HTTP 200 with an order number) and then refused by the exchange: a
        notice with ``RFUS_YN=1`` follows and the order never fills; counts down to 0.
    error500_probability : float
        Chance that a ``/uapi`` request is answered HTTP 500 (EGW00001) before anything is done.
    rate_limit_probability : float
        Chance that a ``/uapi`` request is answered EGW00201 (HTTP 500) before anything is done.
    unanswered_probability : float
        Chance that an order request (order-cash, order-rvsecncl) is executed at the venue and then not
        answered as normal (see `unanswered_mode`), drawn after the order was accepted.
    seed : int
        Seed of the RNG behind the probabilities (set it, then call `reseed`, to repeat a run).
    duplicate_fill_notices : bool
        Send every fill notice (``CNTG_YN=2``) twice, back to back.
    fill_notice_delay_secs : float
        Send fill notices this many seconds late (other notices and trades are not delayed).
    drop_ws_every_secs : float
        Abort every WebSocket connection every this many wall-clock seconds while the simulator runs
        (0: never).
    expire_tokens_every_secs : float
        Expire every access token every this many wall-clock seconds while the simulator runs (0: never).
    token_gate_secs : float
        Least time between two ``/oauth2/tokenP`` calls of an app key, else EGW00133 (KIS: 60). Lower it with
        ``expire_tokens_every_secs`` so a drill that expires tokens often does not spend its time waiting
        for the gate.
    history_outage_secs : float
        Daily-chart reads (``inquire-daily-itemchartprice``) are answered HTTP 500 (EGW00001) for this many
        wall-clock seconds from the first one (a history outage at the open; 0: never).
    """

    unanswered_orders: int = 0
    unanswered_mode: UnansweredMode = "hang"
    rejected_after_accept: int = 0
    error500_probability: float = 0.0
    rate_limit_probability: float = 0.0
    unanswered_probability: float = 0.0
    seed: int = 0
    duplicate_fill_notices: bool = False
    fill_notice_delay_secs: float = 0.0
    drop_ws_every_secs: float = 0.0
    expire_tokens_every_secs: float = 0.0
    token_gate_secs: float = 60.0
    history_outage_secs: float = 0.0
    _rng: random.Random = field(init=False, repr=False)
    _history_outage_from: datetime | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Restart the random faults from `seed`."""
        self._rng = random.Random(self.seed)  # noqa: S311 - fault injection, not cryptography  # nosec B311

    def draw_random_fault(self) -> Literal["error500", "rate_limit"] | None:
        """Return the random fault for one request, or None (draws only when a probability is set)."""
        if self.error500_probability <= 0 and self.rate_limit_probability <= 0:
            return None
        roll = self._rng.random()
        if roll < self.error500_probability:
            return "error500"
        if roll < self.error500_probability + self.rate_limit_probability:
            return "rate_limit"
        return None

    def history_out(self, now: datetime) -> bool:
        """Return True while daily-chart reads are to fail (`history_outage_secs` from the first one)."""
        if self.history_outage_secs <= 0:
            return False
        if self._history_outage_from is None:
            self._history_outage_from = now
        return now < self._history_outage_from + timedelta(seconds=self.history_outage_secs)

    def take_unanswered(self) -> UnansweredMode | None:
        """Consume one unanswered order, or draw one by `unanswered_probability`; return its mode, or None."""
        if self.unanswered_orders > 0:
            self.unanswered_orders -= 1
            return self.unanswered_mode
        if self.unanswered_probability > 0 and self._rng.random() < self.unanswered_probability:
            return self.unanswered_mode
        return None

    def take_rejected(self) -> bool:
        """Consume one reject-after-accept; return True when this order is to be refused."""
        if self.rejected_after_accept <= 0:
            return False
        self.rejected_after_accept -= 1
        return True
