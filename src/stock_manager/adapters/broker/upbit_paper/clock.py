"""`VenueClock`: the time a venue publishes on its market data, for a paper daemon in front of a replaying exchange.

Against api.upbit.com a paper daemon runs on the wall clock. A replaying simulator plays a past year many times
faster than real time, so there the daemon follows the venue's own time instead (``UPBIT_PAPER_CLOCK=venue``):
the latest snapshot or trade time seen on its public data (ticker ``timestamp``, trade ``timestamp`` and
``trade_timestamp``). Time never runs backwards, and stands still while the venue publishes nothing.
"""

from datetime import UTC, datetime


class VenueClock:
    """**Adapter:** `Clock` at the latest time the venue published (aware UTC).

    Raises
    ------
    RuntimeError
        From `now` before the venue published anything (the paper broker primes it from the ticker first).
    """

    def __init__(self) -> None:
        self._now: datetime | None = None

    @property
    def primed(self) -> bool:
        """Return True once the venue published a time."""
        return self._now is not None

    def now(self) -> datetime:
        """Return the latest venue time seen."""
        if self._now is None:
            raise RuntimeError("the venue has published no time yet: prime the paper market data first")
        return self._now

    def observe(self, ts: datetime) -> None:
        """Move to `ts` (aware) when it is later than the current time; earlier times are ignored.

        Raises
        ------
        ValueError
            If `ts` is naive.
        """
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(f"venue times must be timezone-aware, was {ts!r}")
        ts = ts.astimezone(UTC)
        if self._now is None or ts > self._now:
            self._now = ts
