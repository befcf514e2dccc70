"""The account's settled sessions as the open and the close need them, without reading them all every session.

Start-of-day equity is the last close's; the drawdown and the daily report's equity curve need every
settlement's equities. A daemon settles one session after another, so it reads the account's settlements once
(without their summaries) and afterwards only the latest row: when that row is the settlement this daemon
stored last, it is appended to what is held (as stored, so amounts are those the database rounded); any other
latest row (another writer, a restore of the database) reads them all again.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from stock_manager.service_layer.ports.storage import DailySettlement, UnitOfWork


@dataclass(slots=True)
class SettledSessions:
    """The settlements of one account, oldest first, summaries left empty; read once, then row by row."""

    account_id: str
    reads_all: int = field(default=0, init=False)
    _held: list[DailySettlement] | None = field(default=None, init=False)
    _stored: tuple[date, datetime] | None = field(default=None, init=False)

    async def before(self, uow: UnitOfWork, day: date) -> list[DailySettlement]:
        """Return the account's settlements of dates before `day`, oldest first, summaries empty.

        Reads the latest settlement (one row); every settlement only the first time or when the latest is
        neither the one held last nor the one this object was told was stored (`stored`).
        """
        last = await uow.settlements.last(self.account_id)
        held = self._held
        key = None if last is None else (last.trading_date, last.ts_created)
        if held is not None and last is not None and key == self._stored:
            held = [*(s for s in held if s.trading_date != last.trading_date), last]
        elif held is None or key != (None if not held else (held[-1].trading_date, held[-1].ts_created)):
            held = await uow.settlements.list_all(self.account_id, with_summary=False)
            self.reads_all += 1
        self._held, self._stored = held, None
        return [s for s in held if s.trading_date < day]

    def stored(self, settlement: DailySettlement) -> None:
        """Note that `settlement` was committed (the next `before` reads it back as the latest row)."""
        self._stored = (settlement.trading_date, settlement.ts_created)
