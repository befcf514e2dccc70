"""The sim broker's side of its journal: start a replay or resume it, attach read-only, append records.

A mixin of `SimBroker` (in `broker`), whose state it shares; it is never used alone. The journal's file
format is in `journal`, the resume-or-start decisions in `identity`, the rebuild of the engine in `recovery`.
A new replay journals its start record; a replay of the same parameters re-runs the journal through the
deterministic engine and continues where it stopped; a replay of other parameters archives the old journal.
Commands are fsync-ed before they are acknowledged, and a checkpoint is written at least every
`CHECKPOINT_INTERVAL` of market time.
"""

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stock_manager.adapters.broker.sim.identity import (
    broker_arguments,
    is_same_replay,
    last_journaled_time,
    start_record,
)
from stock_manager.adapters.broker.sim.journal import JOURNAL_FILE, Journal, JournalError, Record
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.broker.sim.records import iso
from stock_manager.adapters.broker.sim.recovery import DayOpener, rebuild
from stock_manager.adapters.venues.krx.calendar import pre_open, session_for
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.broker import SimBroker

#: A checkpoint is written at least this often in market time, so a restart replays little.
CHECKPOINT_INTERVAL = timedelta(minutes=1)


class JournaledReplay:
    """Journal start, resume and appends of the sim broker; mixed into `SimBroker`."""

    # Provided by SimBroker.
    account_id: str
    replay_id: str
    _clock: FixedClock
    _days: list[date]
    _params: dict[str, Any]
    _engine: MatchingEngine
    _journal: Journal
    _read_only: bool
    _day_index: int
    _played: int
    _session_open: bool
    _finished: bool
    _resumed_after_close: bool
    _last_opened: date | None
    _last_checkpoint: datetime | None
    _advance_clock: Callable[[datetime], None]
    _open_engine_day: DayOpener

    @classmethod
    def attach(cls: "type[SimBroker]", state_dir: Path) -> "SimBroker | None":
        """Open the replay journaled in `state_dir` read-only, with its clock at the last journaled time.

        For ``stockbot recover --dry-run``: the broker's view of orders, fills, cash and holdings, with no
        write to the journal. Returns None when no replay was ever started there.

        Raises
        ------
        ConfigurationError
            If a running daemon holds the replay, or the journal was written by other data or engine.
        """
        path = state_dir / JOURNAL_FILE
        try:
            first = path.read_bytes().split(b"\n", 1)[0]
        except FileNotFoundError:
            return None
        if not first:
            return None
        try:
            arguments = broker_arguments(json.loads(first))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"the replay journal {path} cannot be read: {exc!r}") from None
        clock = FixedClock(pre_open(session_for(arguments["start_date"])) - timedelta(hours=1))
        broker = cls(**arguments, clock=clock, state_dir=state_dir, read_only=True)
        last = last_journaled_time(broker._journal.records)
        if last is not None and last > clock.now():
            clock.set(last)
        return broker

    # -- INTERNALS: journal ---------------------------------------------------------------------------

    def _checkpoint_due(self, ts: datetime) -> bool:
        return self._last_checkpoint is None or ts - self._last_checkpoint >= CHECKPOINT_INTERVAL

    def _record(self, kind: str, **fields: Any) -> Record:
        day = self._days[self._day_index]
        return {
            "type": kind,
            "day": day.isoformat(),
            "at": self._played,
            "ts": iso(self._clock.now()),
            **fields,
        }

    def _write(self, record: Record, *, sync: bool = False) -> None:
        self._require_usable()
        if self._read_only:
            raise FatalBrokerError("this replay was attached read-only; it accepts no order and plays nothing")
        try:
            self._journal.append(record, sync=sync)
        except OSError as exc:
            raise FatalBrokerError(
                f"the replay journal {self._journal.path} cannot be written: {exc}"
            ) from exc
        if "ts" in record:
            self._last_checkpoint = datetime.fromisoformat(record["ts"])

    def _require_usable(self) -> None:
        if self._journal.closed:
            raise FatalBrokerError("the sim broker is closed (or its journal failed); build a new one")

    def _require_account(self, account_id: str) -> None:
        self._require_usable()
        if account_id != self.account_id:
            raise FatalBrokerError(f"account {account_id} does not exist in replay {self.replay_id}")

    def _start_or_resume(self) -> None:
        records = self._journal.records
        same = is_same_replay(records, self._params)
        if self._read_only and not same:
            raise ConfigurationError(f"the journal in {self._journal.path.parent} is not this replay's")
        if records and not same:
            self._journal.archive(str(records[0].get("replay_id", "unknown")))
            records = []
        try:
            resume_ts = last_journaled_time(records) or pre_open(session_for(self._days[0]))
        except (KeyError, TypeError, ValueError) as exc:
            message = f"journal {self._journal.path} has a record without a valid ts: {exc}"
            raise JournalError(message) from exc
        if self._clock.now() > resume_ts:
            raise ConfigurationError(
                f"the replay clock ({self._clock.now().isoformat()}) is ahead of the replay"
                f" ({resume_ts.isoformat()}); start it at or before the replay's time"
            )
        if not records:
            self._write(start_record(self.replay_id, self._params), sync=True)
            return
        try:
            resume = rebuild(records[1:], self._days, self._engine, self._open_engine_day)
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(f"journal {self._journal.path} does not replay: {exc!r}") from exc
        self._day_index, self._played = resume.day_index, resume.played
        self._session_open, self._finished = resume.session_open, resume.finished
        self._resumed_after_close = not resume.session_open and resume.day_index > 0
        if resume.session_open:
            self._last_opened = self._days[resume.day_index]
        elif resume.day_index > 0:
            self._last_opened = self._days[resume.day_index - 1]
        if resume.ts is not None:
            self._advance_clock(resume.ts)
        self._last_checkpoint = resume.last_ts
