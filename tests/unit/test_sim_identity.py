"""Which replay a restarted simulator resumes: the rule behind "restart never opens a second account"."""

from stock_manager.adapters.broker.sim.identity import (
    broker_arguments,
    choose_generation,
    is_same_replay,
    last_journaled_time,
    start_record,
)

PARAMS = {
    "symbols": ["005930"],
    "start_date": "2023-02-13",
    "end_date": "2023-03-03",
    "start_cash_krw": "10000000",
    "participation_rate": "0.25",
    "commission_rate": "0.000140527",
    "sell_tax_schedule": [["2023-01-01", "0.002"]],
    "data": "abc",
    "engine": 1,
}


def journal(generation: int, *, finished: bool, **changed: object) -> list[dict]:
    records = [
        start_record("r", {**PARAMS, **changed, "generation": generation}),
        {"type": "session", "day": "2023-02-13", "ts": "2023-02-12T23:30:00+00:00"},
    ]
    if finished:
        records.append({"type": "finished", "ts": "2023-03-03T06:30:00+00:00"})
    return records


def test_choose_generation_when_same_replay_finished_then_resumed_not_restarted():
    # A daemon killed after the broker's last close must find its account again, not a new one.
    assert (
        choose_generation(journal(3, finished=True), dict(PARAMS), requested=None, fresh=False, archived_count=3) == 3
    )


def test_choose_generation_when_same_replay_unfinished_then_resumed():
    assert (
        choose_generation(journal(0, finished=False), dict(PARAMS), requested=None, fresh=False, archived_count=0) == 0
    )


def test_choose_generation_when_fresh_then_new_generation_past_every_archived_one():
    assert choose_generation(journal(0, finished=True), dict(PARAMS), requested=None, fresh=True, archived_count=2) == 3


def test_choose_generation_when_parameters_differ_then_new_generation():
    records = journal(0, finished=False, start_cash_krw="5000000")
    assert choose_generation(records, dict(PARAMS), requested=None, fresh=False, archived_count=0) == 1


def test_choose_generation_when_no_journal_then_counts_archives():
    assert choose_generation([], dict(PARAMS), requested=None, fresh=False, archived_count=4) == 4


def test_is_same_replay_when_format_or_parameters_differ_then_false():
    records = journal(0, finished=False)
    assert is_same_replay(records, {**PARAMS, "generation": 0})
    assert not is_same_replay(records, {**PARAMS, "generation": 1})
    assert not is_same_replay([{**records[0], "format": 0}, *records[1:]], {**PARAMS, "generation": 0})


def test_broker_arguments_and_last_time_when_read_from_journal_then_rebuild_the_same_replay():
    records = journal(2, finished=True)
    arguments = broker_arguments(records[0])
    assert arguments["generation"] == 2 and arguments["symbols"] == ["005930"]
    assert str(arguments["cost_model"].sell_tax_rate(arguments["start_date"])) == "0.002"
    assert last_journaled_time(records).isoformat() == "2023-03-03T06:30:00+00:00"
