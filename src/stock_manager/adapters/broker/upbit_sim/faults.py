"""Fault knobs of the simulated Upbit server, settable by tests while it runs; the faults injected are counted in
a `FaultLog` (shared with the KIS simulator).

One-shot actions (drop the WebSocket connections, start a block now) are methods of `UpbitExchangeSimulator`;
the knobs here are read at each request or event, and ``drop_ws_every_secs`` by a task the simulator runs while
started.
"""

import random
from dataclasses import dataclass, field
from typing import Literal

from stock_manager.adapters.broker.fault_log import FaultLog

__all__ = ["FaultLog", "LostMode", "UpbitFaultKnobs"]

type LostMode = Literal["hang", "close", "error500"]


@dataclass(slots=True)
class UpbitFaultKnobs:
    """Faults the simulator injects; all off by default.

    Attributes
    ----------
    rate_limited_requests : int
        The next N requests are answered 429 before anything is done (a burst; each counts towards a block,
        see `RateGate.block_after_429s`); counts down to 0.
    blocked_requests : int
        The next request starts a 418 block of `block_secs` (every request of the key or IP is answered 418
        until it ends); counts down to 0.
    block_secs : float
        Length of a block started by `blocked_requests`.
    error5xx_requests : int
        The next N requests are answered HTTP 500 before anything is done; counts down to 0.
    error5xx_probability : float
        Chance that a request is answered HTTP 500 before anything is done.
    rate_limit_probability : float
        Chance that a request starts a 429 burst of `rate_limit_burst` requests (itself the first; not during a
        burst).
    rate_limit_burst : int
        Length of a burst started by `rate_limit_probability`.
    block_probability : float
        Chance that a request starts a 418 block of `block_secs`.
    lost_order_responses : int
        The next N ``POST /v1/orders`` are executed at the venue but not answered as normal (see `lost_mode`);
        counts down to 0.
    lost_order_probability : float
        Chance that a ``POST /v1/orders`` is executed but not answered as normal (see `lost_mode`).
    lost_mode : "hang" | "close" | "error500"
        ``hang``: no answer until the server stops; ``close``: the connection is closed without an answer;
        ``error500``: HTTP 500 although the order exists.
    duplicate_my_order_events : bool
        Send every ``myOrder`` fill (``trade``) event twice, back to back.
    my_order_delay_secs : float
        Send ``myOrder`` fill events this many seconds late (other events are not delayed).
    lost_my_order_probability : float
        Chance that a ``myOrder`` fill (``trade``) event is never sent (the fill is only learnt by inquiry).
    drop_ws_every_secs : float
        Abort every WebSocket connection every this many wall-clock seconds while running (0: never).
    seed : int
        Seed of the RNG behind the probabilities (set it, then call `reseed`, to repeat a run).
    """

    rate_limited_requests: int = 0
    blocked_requests: int = 0
    block_secs: float = 30.0
    error5xx_requests: int = 0
    error5xx_probability: float = 0.0
    rate_limit_probability: float = 0.0
    rate_limit_burst: int = 1
    block_probability: float = 0.0
    lost_order_responses: int = 0
    lost_order_probability: float = 0.0
    lost_mode: LostMode = "hang"
    duplicate_my_order_events: bool = False
    my_order_delay_secs: float = 0.0
    lost_my_order_probability: float = 0.0
    drop_ws_every_secs: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Restart the random faults from `seed`."""
        self._rng = random.Random(self.seed)  # noqa: S311 - fault injection, not cryptography  # nosec B311

    def take_request_fault(self) -> Literal["block", "rate_limit", "error500"] | None:
        """Consume the fault of one request (blocks first, then 429 bursts, then 5xx), or None; a drawn block or
        burst starts here (the rest of a burst is counted in `rate_limited_requests`)."""
        if self.block_probability > 0 and self._rng.random() < self.block_probability:
            self.blocked_requests += 1
        if self.blocked_requests > 0:
            self.blocked_requests -= 1
            return "block"
        drawn = self.rate_limit_probability > 0 and self._rng.random() < self.rate_limit_probability
        if drawn and self.rate_limited_requests == 0:  # a burst starts only after the last one ended
            self.rate_limited_requests = max(1, self.rate_limit_burst)
        if self.rate_limited_requests > 0:
            self.rate_limited_requests -= 1
            return "rate_limit"
        if self.error5xx_requests > 0:
            self.error5xx_requests -= 1
            return "error500"
        if self.error5xx_probability > 0 and self._rng.random() < self.error5xx_probability:
            return "error500"
        return None

    def take_lost_my_order_event(self) -> bool:
        """Return True when the next ``myOrder`` fill event is to be lost (drawn by `lost_my_order_probability`)."""
        return self.lost_my_order_probability > 0 and self._rng.random() < self.lost_my_order_probability

    def take_lost_response(self) -> LostMode | None:
        """Consume one lost order response (counted, or drawn by `lost_order_probability`); return its mode, or
        None."""
        if self.lost_order_probability > 0 and self._rng.random() < self.lost_order_probability:
            self.lost_order_responses += 1
        if self.lost_order_responses <= 0:
            return None
        self.lost_order_responses -= 1
        return self.lost_mode
