"""The sim broker's side of its journal: start a replay or resume it, append records.

A collaborator of `SimBroker` (in `broker`), sharing its `ReplayState`. The journal's file format is in
`journal`, the resume-or-start decisions in `identity`, the rebuild of the engine in `recovery`. A new replay
journals its start record; a replay of the same parameters re-runs the journal through the deterministic
engine and continues where it stopped; a replay of other parameters archives the old journal. Commands are
fsync-ed before they are acknowledged, and a checkpoint is written at least every `CHECKPOINT_INTERVAL` of
market time.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
from stock_manager.adapters.broker.sim.state import ReplayState
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError

#: A checkpoint is written at least this often in market time, so a restart replays little.
CHECKPOINT_INTERVAL = timedelta(minutes=1)


class ReplayJournal:
    """Journal appends, and the start or resume of a replay.

    Parameters
    ----------
    journal : Journal
        The open journal file.
    state : ReplayState
        The replay's progress, updated by `start_or_resume`.
    clock : FixedClock
        The replay clock (records carry its time; a resume moves it).
    read_only : bool
        An attached replay: nothing may be written.
    """

    def __init__(self, journal: Journal, state: ReplayState, clock: FixedClock, *, read_only: bool) -> None:
        self.journal = journal
        self._state = state
        self._clock = clock
        self._read_only = read_only

    def checkpoint_due(self, ts: datetime) -> bool:
        """Return True when no record was written for `CHECKPOINT_INTERVAL` of market time before `ts`."""
        last = self._state.last_checkpoint
        return last is None or ts - last >= CHECKPOINT_INTERVAL

    def record(self, kind: str, **fields: Any) -> Record:
        """Return a record of the current day: its type, day, position among the day's prints and time."""
        state = self._state
        return {
            "type": kind,
            "day": state.days[state.day_index].isoformat(),
            "at": state.played,
            "ts": iso(self._clock.now()),
            **fields,
        }

    def write(self, record: Record, *, sync: bool = False) -> None:
        """Append `record` (fsync-ed when `sync`).

        Raises
        ------
        FatalBrokerError
            If the replay is closed or attached read-only, or the journal cannot be written.
        """
        self.require_usable()
        if self._read_only:
            raise FatalBrokerError("this replay was attached read-only; it accepts no order and plays nothing")
        try:
            self.journal.append(record, sync=sync)
        except OSError as exc:
            raise FatalBrokerError(f"the replay journal {self.journal.path} cannot be written: {exc}") from exc
        if "ts" in record:
            self._state.last_checkpoint = datetime.fromisoformat(record["ts"])

    def require_usable(self) -> None:
        """Raise `FatalBrokerError` once the broker (or its journal) is closed."""
        if self.journal.closed:
            raise FatalBrokerError("the sim broker is closed (or its journal failed); build a new one")

    def start_or_resume(
        self,
        replay_id: str,
        params: dict[str, Any],
        engine: MatchingEngine,
        open_day: DayOpener,
        first_order_time: Callable[[], datetime],
    ) -> None:
        """Journal a new replay's start, or rebuild `engine` from the journal of the same replay and move the
        state and the clock to where it stopped; archive the journal of another replay first.

        Raises
        ------
        ConfigurationError
            If attached read-only to another replay's journal, or the clock is ahead of the replay.
        JournalError
            If the journal is corrupt or contradicts the data and the engine.
        """
        state = self._state
        records = self.journal.records
        same = is_same_replay(records, params)
        if self._read_only and not same:
            raise ConfigurationError(f"the journal in {self.journal.path.parent} is not this replay's")
        if records and not same:
            self.journal.archive(str(records[0].get("replay_id", "unknown")))
            records = []
        try:
            resume_ts = last_journaled_time(records) or first_order_time()
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(f"journal {self.journal.path} has a record without a valid ts: {exc}") from exc
        if self._clock.now() > resume_ts:
            raise ConfigurationError(
                f"the replay clock ({self._clock.now().isoformat()}) is ahead of the replay"
                f" ({resume_ts.isoformat()}); start it at or before the replay's time"
            )
        if not records:
            self.write(start_record(replay_id, params), sync=True)
            return
        try:
            resume = rebuild(records[1:], state.days, engine, open_day)
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(f"journal {self.journal.path} does not replay: {exc!r}") from exc
        state.day_index, state.played = resume.day_index, resume.played
        state.session_open, state.finished = resume.session_open, resume.finished
        state.resumed_after_close = not resume.session_open and resume.day_index > 0
        if resume.session_open:
            state.last_opened = state.days[resume.day_index]
        elif resume.day_index > 0:
            state.last_opened = state.days[resume.day_index - 1]
        if resume.ts is not None and resume.ts > self._clock.now():
            self._clock.set(resume.ts)
        state.last_checkpoint = resume.last_ts


def attached_arguments(state_dir: Path) -> tuple[dict[str, Any], FixedClock] | None:
    """Return the arguments a read-only broker of the replay journaled in `state_dir` is built with, and its
    clock (an hour before the replay's first order time); None when no replay was ever started there.

    Raises
    ------
    ConfigurationError
        If the journal's start record cannot be read.
    """
    from stock_manager.adapters.broker.sim.market import replay_market

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
    market = replay_market(arguments.get("venue", "krx"), arguments["symbols"])
    return arguments, FixedClock(market.session(arguments["start_date"]).ts_first_order - timedelta(hours=1))
