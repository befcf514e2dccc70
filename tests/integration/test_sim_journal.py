"""SimBroker persistence: the journal rebuilds the exchange after a crash; the replay resumes where it was."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim import JournalError, SimBroker
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType, Side
from stock_manager.localtime import KST, kst_datetime
from stock_manager.service_layer.ports.broker import BrokerOrderEvent, FillReport, OrderRequest

SAMSUNG, KODEX = "005930", "069500"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
D1, D2, D3 = date(2023, 12, 20), date(2023, 12, 21), date(2023, 12, 22)


class SimulatedKill(Exception):
    """Raised from a handler to stop the replay mid-day, as a killed daemon would."""


def _broker(state_dir: Path, start: date = D1, end: date = D3, symbols=(SAMSUNG, KODEX), **kw) -> SimBroker:
    return SimBroker(
        symbols=list(symbols), start_date=start, end_date=end, clock=FixedClock(EPOCH), state_dir=state_dir, **kw
    )


def _request(broker: SimBroker, symbol: str, side: Side, qty: int, price: int | None = None) -> OrderRequest:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return OrderRequest(broker.account_id, symbol, side, kind, Decimal(qty), None if price is None else Decimal(price))


def _plan() -> dict[tuple[str, datetime], Callable[[SimBroker, list[str]], object]]:
    # Decisions keyed by (symbol, print time): every run, resumed or not, makes the same ones.
    def at(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
        return kst_datetime(day, time(hh, mm, ss))

    async def place(broker: SimBroker, numbers: list[str], request: OrderRequest) -> None:
        numbers.append((await broker.place_order(request)).broker_order_number)

    async def cancel_last(broker: SimBroker, numbers: list[str]) -> None:
        await broker.cancel_order(broker.account_id, numbers[-1], "00950")

    return {
        (SAMSUNG, at(D1, 9, 22, 30)): lambda b, n: place(b, n, _request(b, SAMSUNG, Side.BUY, 10)),
        (KODEX, at(D1, 9, 22, 30)): lambda b, n: place(b, n, _request(b, KODEX, Side.BUY, 5, 33000)),
        (SAMSUNG, at(D2, 9, 45)): lambda b, n: place(b, n, _request(b, SAMSUNG, Side.SELL, 5, 75000)),
        (KODEX, at(D2, 10, 7, 30)): lambda b, n: place(b, n, _request(b, KODEX, Side.BUY, 20, 34700)),
        (KODEX, at(D2, 10, 30)): cancel_last,
        (SAMSUNG, at(D3, 9, 11, 15)): lambda b, n: place(b, n, _request(b, SAMSUNG, Side.SELL, 5)),
    }


class Trader:
    """Handlers that follow `_plan`, record what they were given, and can die at a chosen print."""

    def __init__(self, broker: SimBroker, kill_at: tuple[str, datetime] | None = None) -> None:
        self.broker = broker
        self.kill_at = kill_at
        self.plan = _plan()
        self.numbers: list[str] = []
        self.ticks: list[Tick] = []
        self.events: list[BrokerOrderEvent] = []

    async def on_tick(self, tick: Tick) -> None:
        self.ticks.append(tick)
        action = self.plan.get((tick.symbol, tick.ts_event))
        if action is not None:
            await action(self.broker, self.numbers)  # type: ignore[misc]
        if (tick.symbol, tick.ts_event) == self.kill_at:
            raise SimulatedKill

    async def on_event(self, event: BrokerOrderEvent) -> None:
        self.events.append(event)

    async def run(self) -> None:
        await self.broker.subscribe_quotes(list(self.broker.symbols), self.on_tick)
        await self.broker.subscribe_order_events(self.on_event)
        async for session in self.broker.sessions():
            await self.broker.run_until_close(session)

    @property
    def fill_ids(self) -> list[str]:
        return [e.fill.broker_fill_id for e in self.events if isinstance(e, FillReport)]


async def _state(broker: SimBroker) -> tuple[object, ...]:
    account = broker.account_id
    return (
        [await broker.get_orders(account, day) for day in broker.days],
        [await broker.get_fills(account, day) for day in broker.days],
        await broker.get_cash(account),
        await broker.get_positions(account),
    )


async def test_restart_when_killed_mid_day_then_state_identical_and_replay_resumes_after_last_print(
    tmp_path: Path,
) -> None:
    uninterrupted = Trader(_broker(tmp_path / "whole"))
    await uninterrupted.run()

    kill = (SAMSUNG, kst_datetime(D2, time(11, 15)))
    first = Trader(_broker(tmp_path / "crash"), kill_at=kill)
    with pytest.raises(SimulatedKill):
        await first.run()
    before = await _state(first.broker)
    progress = first.broker.progress
    await first.broker.close()  # what the kernel does to a killed process: the file is closed, nothing more
    del first.broker

    rebuilt = _broker(tmp_path / "crash")
    second = Trader(rebuilt)
    after_rebuild = await _state(rebuilt)
    assert after_rebuild == before
    assert rebuilt.progress == progress
    assert rebuilt.clock.now() == kill[1]  # the journaled clock
    await second.run()

    assert (second.ticks[0].symbol, second.ticks[0].ts_event) == (KODEX, kill[1])  # the next print, same time
    assert first.ticks[-1].ts_event == kill[1] and first.ticks[-1].symbol == SAMSUNG
    assert [*first.ticks, *second.ticks] == uninterrupted.ticks
    assert [*first.fill_ids, *second.fill_ids] == uninterrupted.fill_ids  # none duplicated, none lost
    assert len(uninterrupted.fill_ids) == 3
    assert await _state(rebuilt) == await _state(uninterrupted.broker)
    assert rebuilt.finished


async def test_restart_when_killed_between_checkpoints_then_resumes_at_the_first_print_after_the_last(
    tmp_path: Path,
) -> None:
    day = date(2025, 6, 13)  # real 1-minute bars: four prints a minute, a checkpoint a minute
    kill = (SAMSUNG, kst_datetime(day, time(10, 0, 30)))
    first = Trader(_broker(tmp_path, day, day, symbols=(SAMSUNG,)), kill_at=kill)
    with pytest.raises(SimulatedKill):
        await first.run()
    await first.broker.close()

    rebuilt = _broker(tmp_path, day, day, symbols=(SAMSUNG,))
    second = Trader(rebuilt)
    await second.run()

    assert second.ticks[0].ts_event.astimezone(KST).time() == time(10, 0, 15)  # after the 10:00:00 checkpoint
    assert second.ticks[0] == first.ticks[-2]
    assert len(first.ticks) + len(second.ticks) == 1441 + 2


async def test_restart_when_last_line_truncated_then_ignored_and_journal_repaired(tmp_path: Path) -> None:
    first = Trader(_broker(tmp_path), kill_at=(SAMSUNG, kst_datetime(D2, time(11, 15))))
    with pytest.raises(SimulatedKill):
        await first.run()
    before = await _state(first.broker)
    await first.broker.close()
    journal = tmp_path / "journal.jsonl"
    with journal.open("ab") as f:
        f.write(b'{"type":"place","day":"2023-12-21","at":33,"ts":"2023-12-21T02:1')  # crash mid-write

    rebuilt = _broker(tmp_path)

    assert await _state(rebuilt) == before
    assert journal.read_bytes().endswith(b"}\n")
    await Trader(rebuilt).run()
    assert all(json.loads(line) for line in journal.read_text().splitlines())


async def test_restart_when_line_in_the_middle_corrupt_then_journal_error(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    await Trader(broker).run()
    await broker.close()
    journal = tmp_path / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[3] = b'{"type":"pri'
    journal.write_bytes(b"\n".join(lines))

    with pytest.raises(JournalError, match="line 4"):
        _broker(tmp_path)


async def test_restart_when_parameters_differ_then_old_journal_archived_and_new_replay(tmp_path: Path) -> None:
    old = _broker(tmp_path)
    await Trader(old).run()
    await old.close()

    new = _broker(tmp_path, start_cash_krw=Decimal(5_000_000))

    assert new.replay_id != old.replay_id
    assert (tmp_path / "archive" / f"journal-{old.replay_id}-1.jsonl").is_file()
    assert await new.get_orders(new.account_id, D1) == []
    assert (await new.get_cash(new.account_id)).deposit_krw == Decimal(5_000_000)
    assert not new.finished
    first_line = json.loads((tmp_path / "journal.jsonl").read_text().splitlines()[0])
    assert (first_line["type"], first_line["replay_id"]) == ("start", new.replay_id)


async def test_restart_when_replay_finished_then_resumed_and_last_session_offered_again(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    await Trader(broker).run()
    final = await _state(broker)
    await broker.close()

    again = _broker(tmp_path)
    sessions = [s async for s in again.sessions()]

    assert again.finished and again.account_id == broker.account_id
    # Only the last (closed) session, so a daemon that died before settling it can settle it; nothing replays.
    assert [s.trading_date for s in sessions] == [again.days[-1]]
    await again.run_until_close(sessions[0])
    assert await _state(again) == final
    await again.close()


async def test_open_when_fresh_then_old_journal_archived_and_new_replay_on_new_account(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    await Trader(broker).run()
    await broker.close()

    fresh = _broker(tmp_path, fresh=True)

    assert not fresh.finished
    assert fresh.account_id != broker.account_id  # a new simulated account: no idempotency key can collide
    assert (tmp_path / "archive" / f"journal-{broker.replay_id}-1.jsonl").is_file()
    assert (await fresh.get_cash(fresh.account_id)).deposit_krw == Decimal(10_000_000)
    assert [s.trading_date async for s in fresh.sessions()] == fresh.days
    await fresh.close()


async def test_attach_when_replay_finished_then_read_only_view_of_its_final_state(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    await Trader(broker).run()
    final = await _state(broker)
    await broker.close()
    journal_before = (tmp_path / "journal.jsonl").read_bytes()

    attached = SimBroker.attach(tmp_path)

    assert attached is not None and attached.finished
    assert attached.account_id == broker.account_id
    assert await _state(attached) == final
    await attached.close()
    assert (tmp_path / "journal.jsonl").read_bytes() == journal_before


async def test_open_when_another_broker_holds_the_state_dir_then_configuration_error(tmp_path: Path) -> None:
    holder = _broker(tmp_path)

    with pytest.raises(ConfigurationError, match="in use"):
        _broker(tmp_path)
    await holder.close()
    _broker(tmp_path)


def test_open_when_clock_is_ahead_of_the_replay_then_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ahead of the replay"):
        SimBroker(
            symbols=[SAMSUNG],
            start_date=D1,
            end_date=D3,
            clock=FixedClock(datetime(2024, 1, 1, tzinfo=UTC)),
            state_dir=tmp_path,
        )
