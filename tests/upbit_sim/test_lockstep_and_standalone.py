"""The in-process replay in lockstep (every venue event waits until the adapter handled every frame sent, so a
replay over the loopback protocol is deterministic), and the stand-alone server."""

import asyncio
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.progress import HandledFrames
from stock_manager.adapters.broker.upbit_sim import UpbitExchangeSimulator, UpbitSimOptions, run_upbit_exchange_sim
from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import FillReport, OrderRequest
from tests.upbit_sim.support import BTC, DAY, Recorder, make_adapter, make_venue


async def _replay_once(state_dir: Path) -> list[tuple[str, object]]:
    venue = make_venue(state_dir, participation=Decimal("0.001"))
    frames = HandledFrames()
    sim = UpbitExchangeSimulator(
        venue, wall_clock=SystemClock(), rate_limits=None, after_broadcast=lambda: frames.wait_for(sim.data_frames_sent)
    )
    await sim.start()
    adapter = make_adapter(sim, frames)
    seen: list[tuple[str, object]] = []
    placed = False

    async def on_tick(tick: object) -> None:
        nonlocal placed
        seen.append(("tick", tick))
        if not placed:  # a decision taken on a print, like a strategy's
            placed = True
            await adapter.place_order(
                OrderRequest(
                    adapter.account_id,
                    BTC,
                    Side.BUY,
                    OrderType.LIMIT,
                    Decimal("0.5"),
                    Decimal(86_000_000),
                    "lockstep-1",
                )
            )

    recorder = Recorder()
    await adapter.subscribe_quotes([BTC], on_tick)
    await adapter.subscribe_order_events(recorder.on_event)
    session = await anext(aiter(venue.sessions()))
    await venue.run_until_close(session)
    seen.extend(("fill", (e.fill.quantity, e.fill.price, e.fill.ts_filled)) for e in recorder.of(FillReport))
    await adapter.close()
    await sim.stop()
    await venue.close()
    return seen


async def test_lockstep_when_the_replay_runs_over_loopback_then_every_print_is_handled_in_order_and_runs_repeat(
    tmp_path: Path,
):
    first = await _replay_once(tmp_path / "one")
    second = await _replay_once(tmp_path / "two")

    ticks = [t for kind, t in first if kind == "tick"]
    assert len(ticks) == 192  # all handled by the time run_until_close returned: nothing was waited for after
    assert [t.ts_event for t in ticks] == sorted(t.ts_event for t in ticks)  # type: ignore[attr-defined]
    assert any(kind == "fill" for kind, _ in first)
    assert first == second


async def test_standalone_when_started_then_banner_with_the_key_serves_and_stops_cleanly(tmp_path: Path):
    lines: list[str] = []
    stop = asyncio.Event()
    options = UpbitSimOptions(
        port=0, date_from=DAY, date_to=DAY, symbols=[BTC], speed=None, state_dir=tmp_path / "standalone"
    )

    task = asyncio.create_task(run_upbit_exchange_sim(options, lines.append, stop))
    for _ in range(200):
        if any(line.startswith("replay finished") for line in lines):
            break
        await asyncio.sleep(0.05)
    stop.set()

    assert await asyncio.wait_for(task, 10) == 0
    assert any(line.startswith("UPBIT_ACCESS_KEY=") for line in lines)
    assert any(line.startswith("day 2024-03-01") for line in lines)
    assert lines[-1] == "Upbit exchange simulator stopped."
