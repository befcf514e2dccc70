"""Rebuilding the exchange from its journal: re-run the recorded commands through the deterministic engine.

Only the days with commands, or with orders still working from an earlier day (where orders outlive
their day), are replayed, plus the day being resumed, whose prints are replayed up to its last
checkpoint. Every print's fills are
checked against the checkpoints and every close's expiries against the journal; any difference means the
data, the engine or the journal changed, and the rebuild stops with `JournalError`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from stock_manager.adapters.broker.sim.journal import JournalError, Record
from stock_manager.adapters.broker.sim.matching import MatchingEngine
from stock_manager.adapters.broker.sim.records import decode_request, encode_fill
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.domain.market import Tick
from stock_manager.domain.sessions import TradingSession

#: Opens the engine's session of a day and returns it with the day's prints (all symbols, in order).
type DayOpener = Callable[[date], tuple[TradingSession, Sequence[Tick]]]


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a rebuilt replay continues.

    Attributes
    ----------
    day_index : int
        Index of the current (or next) day in the replay's days; their count when all closed.
    played : int
        Prints of that day already played (0 unless `session_open`).
    session_open : bool
        True when the engine's session of that day is open (the day was in progress).
    finished : bool
        True when the journal says the replay is over.
    ts : datetime | None
        The latest time in the journal (where the replay clock stood), None for a fresh replay.
    last_ts : datetime | None
        The time of the last record (the last checkpoint).
    """

    day_index: int
    played: int
    session_open: bool
    finished: bool
    ts: datetime | None
    last_ts: datetime | None


def rebuild(
    records: Sequence[Record], days: Sequence[date], engine: MatchingEngine, open_day: DayOpener
) -> ResumePoint:
    """Re-run the journal `records` (all but the ``start`` line) through `engine`.

    Raises
    ------
    JournalError
        If the journal names a day outside the replay, a command fails now, or a print's fills or a close's
        expiries differ from what the journal recorded.
    """
    dayful = [record for record in records if "day" in record]
    commands: dict[str, list[Record]] = {}
    checkpoints: dict[tuple[str, int], list[list[str]]] = {}
    closes: dict[str, Record] = {}
    for record in dayful:
        if record["type"] in ("place", "place_amount", "cancel", "burn"):
            commands.setdefault(record["day"], []).append(record)
        elif record["type"] == "print":
            checkpoints[(record["day"], int(record["at"]))] = record["fills"]
        elif record["type"] == "close":
            closes[record["day"]] = record

    day_index, resume_day, resume_at = 0, None, 0
    if dayful:
        last = dayful[-1]
        try:
            last_index = list(days).index(date.fromisoformat(last["day"]))
        except ValueError:
            raise JournalError(f"journal day {last['day']} is not a day of this replay") from None
        if last["type"] == "close":
            day_index = last_index + 1
        else:
            day_index, resume_day, resume_at = last_index, last["day"], int(last.get("at", 0))

    for day in days[: day_index + 1] if resume_day else days[:day_index]:
        key = day.isoformat()
        if key not in commands and key != resume_day and not engine.has_working_orders:
            continue
        session, prints = open_day(day)
        end = resume_at if key == resume_day else len(prints)
        pending = list(commands.get(key, []))
        for index in range(end + 1):
            while pending and int(pending[0]["at"]) == index:
                _replay_command(engine, pending.pop(0))
            if index == end:
                break
            fills = [encode_fill(fill) for fill in engine.on_print(prints[index])]
            engine.take_closed()  # buys by amount that ended: their notices were delivered before the crash
            if fills != checkpoints.get((key, index + 1), []):
                raise JournalError(f"print {index + 1} of {key} fills {fills}; the journal says otherwise")
        if pending:
            raise JournalError(f"journal commands of {key} lie beyond its last print")
        if key == resume_day:
            continue
        expired = [report.broker_order_number for report in engine.expire_open_orders(session.ts_close)]
        if key in closes and expired != closes[key]["expired"]:
            raise JournalError(f"orders expiring on {key} differ from the journal: {expired}")

    times = [datetime.fromisoformat(record["ts"]) for record in records]
    return ResumePoint(
        day_index=day_index,
        played=resume_at,
        session_open=resume_day is not None,
        finished=any(record["type"] == "finished" for record in records),
        ts=max(times) if times else None,
        last_ts=times[-1] if times else None,
    )


def _replay_command(engine: MatchingEngine, record: Record) -> None:
    ts = datetime.fromisoformat(record["ts"])
    try:
        if record["type"] == "place":
            ack = engine.submit(decode_request(record["request"]), ts)
            if ack.broker_order_number != record["order_number"]:
                raise JournalError(f"journaled order {record['order_number']} came back as {ack}")
        elif record["type"] == "place_amount":
            ack = engine.submit_amount_buy(
                record["account_id"], record["symbol"], Decimal(record["amount_krw"]), ts, record.get("client_order_id")
            )
            if ack.broker_order_number != record["order_number"]:
                raise JournalError(f"journaled order {record['order_number']} came back as {ack}")
        elif record["type"] == "burn":
            engine.burn_client_order_id(record["client_order_id"])
        else:
            engine.cancel(record["order_number"], ts)
    except OrderRejectedByBroker as exc:
        raise JournalError(f"journaled {record['type']} {record.get('order_number')} now fails: {exc}") from exc
