"""Which replay a journal holds, and whether a broker resumes it: pure decisions over journal records.

A replay is identified by its parameters (symbols, period, cash, participation, costs, data fingerprint,
engine version) plus a generation. The journaled replay of the same parameters is resumed, finished or not:
only the daemon knows whether it settled every session. `fresh`, or other parameters, archive it and start
a new generation; the generation counts the archived journals, so a new replay's id, and so its simulated
account, differs from every earlier one.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from stock_manager.adapters.broker.sim.journal import Record
from stock_manager.domain.costs import CostModel

#: Version of the journal's record layout; a journal of another format is never resumed.
JOURNAL_FORMAT = 1


def choose_generation(
    records: list[Record], params: dict[str, Any], *, requested: int | None, fresh: bool, archived_count: int
) -> int:
    """Return the generation of the replay to run: the requested one, the journaled one to resume, or new."""
    if requested is not None:
        return requested
    journaled = dict((records[0].get("params") or {}) if records else {})
    same_replay = {**journaled, "generation": None} == {**params, "generation": None}
    if records and not fresh and journaled.get("generation") is not None and same_replay:
        return int(journaled["generation"])
    return archived_count + (1 if records else 0)


def is_same_replay(records: list[Record], params: dict[str, Any]) -> bool:
    """Return True when the journal's start record is of this format and exactly these parameters."""
    start = records[0] if records else {}
    return start.get("type") == "start" and start.get("format") == JOURNAL_FORMAT and start.get("params") == params


def start_record(replay_id: str, params: dict[str, Any]) -> Record:
    """Return the first record of a new journal."""
    return {"type": "start", "format": JOURNAL_FORMAT, "replay_id": replay_id, "params": params}


def last_journaled_time(records: list[Record]) -> datetime | None:
    """Return the latest ``ts`` of the records after the start record, or None when there is none.

    Raises
    ------
    KeyError, TypeError, ValueError
        On a record whose ``ts`` is missing or not ISO 8601.
    """
    stamps = [datetime.fromisoformat(record["ts"]) for record in records[1:]]
    return max(stamps) if stamps else None


def broker_arguments(start: Record) -> dict[str, Any]:
    """Return the `SimBroker` arguments that rebuild the replay of a journal's start record.

    Raises
    ------
    KeyError, TypeError, ValueError
        When the record is not a readable start record.
    """
    params = start["params"]
    return {
        "symbols": list(params["symbols"]),
        "start_date": date.fromisoformat(params["start_date"]),
        "end_date": date.fromisoformat(params["end_date"]),
        "participation_rate": Decimal(params["participation_rate"]),
        "start_cash_krw": Decimal(params["start_cash_krw"]),
        "cost_model": CostModel(
            commission_rate=Decimal(params["commission_rate"]),
            sell_tax_schedule=tuple((date.fromisoformat(d), Decimal(r)) for d, r in params["sell_tax_schedule"]),
            cost_quantum=_quantum(params.get("cost_quantum", "1")),
        ),
        "generation": params.get("generation"),
        "venue": params.get("venue", "krx"),
    }


def _quantum(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
