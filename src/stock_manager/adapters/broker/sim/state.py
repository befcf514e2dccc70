"""Where a replay stands: the one state object the sim broker's collaborators share."""

from dataclasses import dataclass, field
from datetime import date, datetime

from stock_manager.domain.market import Tick


@dataclass(slots=True)
class ReplayState:
    """Progress of a replay over its days.

    Attributes
    ----------
    days : list[date]
        Every trading day of the replay, in order.
    day_index : int
        The current (or next) day in `days`; their count once every day closed.
    played : int
        Prints of the current day already played.
    session_open : bool
        True while the current day's session is open in the engine.
    last_opened : date | None
        The day whose session opened last (the quotes' day).
    finished : bool
        True once the journal says the last session closed.
    resumed_after_close : bool
        True when a resumed replay stood between two sessions (its last closed session is offered again).
    last_checkpoint : datetime | None
        Market time of the last journaled record.
    prints : tuple[date, list[Tick]] | None
        The cached prints of one day (all symbols, in order).
    """

    days: list[date]
    day_index: int = 0
    played: int = 0
    session_open: bool = False
    last_opened: date | None = None
    finished: bool = False
    resumed_after_close: bool = False
    last_checkpoint: datetime | None = None
    prints: tuple[date, list[Tick]] | None = field(default=None, repr=False)

    @property
    def current_day(self) -> date:
        """Return the current (or next) day; the last day once all are done."""
        return self.days[min(self.day_index, len(self.days) - 1)]
