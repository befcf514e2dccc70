"""Left running for days: a paper daemon against the local KIS simulator on a fast clock (one simulated week in
seconds) trades each session of the XKRX calendar, WAITS over the night, the weekend and the Seollal holidays
in between (its state saying until when), logs in again each trading day (a new access token, as KIS tokens
last 24 h), refreshes the KIS symbol master from the simulator at KIS's update times, and stops within a second
when the kill switch is set while it waits."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest

from stock_manager.adapters.broker import wall_schedule
from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.rest import MASTER_PATH
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.broker.wall_schedule import CalendarSchedule
from stock_manager.adapters.venues.krx.calendar import next_session
from stock_manager.entrypoints.bootstrap import build_daemon, build_sim_broker, open_storage, replay_clock
from stock_manager.entrypoints.control import set_kill_switch
from stock_manager.entrypoints.kis_factory import from_settings
from stock_manager.entrypoints.venues import Venue
from stock_manager.localtime import KST, kst_date, kst_datetime
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

pytestmark = pytest.mark.slow

#: How much faster than real time the schedule's waits pass: a night in about 0.6 s, the Seollal long weekend
#: in about 4 s.
SPEED = 100_000.0


class WarpClock:
    """The wall clock of a paper daemon: real time, except that the schedule's sleeps pass `speed` times faster
    (so a session's work takes the time it takes, and the nights, weekends and holidays take almost none)."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start, self._speed, self._t0 = start, speed, time.monotonic()
        self._warped_secs = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0 + self._warped_secs)

    async def sleep(self, secs: float) -> None:
        real_secs = max(secs, 0.0) / self._speed
        await asyncio.sleep(real_secs)
        self._warped_secs += max(secs, 0.0) - real_secs


def latest_due(at: datetime) -> datetime:
    """The last update time (06:00 or 18:55 KST) at or before `at`."""
    local = at.astimezone(KST)
    day = local.replace(second=0, microsecond=0)
    for due in (day.replace(hour=18, minute=55), day.replace(hour=6, minute=0)):
        if due <= local:
            return due.astimezone(UTC)
    return (day - timedelta(days=1)).replace(hour=18, minute=55).astimezone(UTC)


def all_dues(first: datetime, count: int) -> list[datetime]:
    """`count` update times (06:00 and 18:55 KST) from `first` on."""
    dues, at = [], first
    while len(dues) < count:
        dues.append(at)
        at = latest_due(at + timedelta(hours=13, minutes=6))  # past the next one, never past two
    return dues


async def watch_states(
    storage, seen: list[tuple[str, datetime | None, date | None]], beats: set[datetime], stop: asyncio.Event
) -> None:
    """Record each change of the daemon's reported state (what `stockbot status` reads), and its heartbeats while
    it waits."""
    while not stop.is_set():
        async with storage.uow_factory() as uow:
            state = await uow.control.get_daemon_state()
        if state is not None:
            if state.trading_state == "WAITING":
                beats.add(state.ts_heartbeat)
            entry = (state.trading_state, state.ts_next_session, state.trading_date)
            if not seen or seen[-1] != entry:
                seen.append(entry)
        await asyncio.sleep(0.02)


async def test_paper_daemon_when_left_over_a_holiday_weekend_then_waits_relogs_daily_and_stops_on_kill_in_a_second(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
):
    # Arrange: the KIS simulator (paper) serving the bundled 2024 data; the daemon's wall clock starts on
    # Wednesday 2024-02-07 after the close. KRX was closed Fri 02-09 and Mon 02-12 (Seollal) and the weekend.
    market = replay_settings(
        tmp_path / "exchange",
        "sqlite+aiosqlite:///unused.db",
        sim_from=date(2024, 2, 5),
        sim_to=date(2024, 2, 20),
        sim_symbols="005930",
    )
    monkeypatch.setattr(wall_schedule, "MAX_SLEEP_SLICE_SECS", 900.0)  # fewer, longer slices of a warped wait
    clock = WarpClock(datetime(2024, 2, 7, 7, 0, tzinfo=UTC), SPEED)  # 16:00 KST
    exchange = build_sim_broker(market, replay_clock(market))
    credential = KisCredential(
        app_key="PSpaperAPPKEY" + "0" * 23, app_secret="S" * 180, account="50123456-01", hts_id="owner01"
    )
    server = KisExchangeSimulator(
        exchange, mode="paper", credentials=(credential,), wall_clock=clock, rate_limit_per_sec=None
    )
    await server.start()
    paper = replay_settings(
        tmp_path / "daemon",
        db_url,
        mode="paper",
        sim_symbols="005930",
        kis_app_key=credential.app_key,
        kis_app_secret=credential.app_secret,
        kis_account=credential.account,
        kis_hts_id=credential.hts_id,
        kis_rest_base_url=server.rest_base_url,
        kis_ws_url=server.ws_url,
        kis_rate_limit_per_sec=50,
        heartbeat_interval_secs=0.2,
        kis_master_url=f"{server.rest_base_url}{MASTER_PATH}",
        kis_master_refresh_times="06:00,18:55",
    )
    broker = from_settings(paper, clock=clock)
    schedule = CalendarSchedule(clock, next_session, sleep=clock.sleep)
    seen: list[tuple[str, datetime | None, date | None]] = []
    beats: set[datetime] = set()
    stop_watching = asyncio.Event()
    try:
        async with open_storage(paper, upgrade=False) as storage:
            venue = Venue(broker, schedule, clock, sleep=lambda secs: asyncio.sleep(0.02))  # the clock is polled
            daemon = build_daemon(paper, storage, venue, notifier=NullNotifier())
            watcher = asyncio.create_task(watch_states(storage, seen, beats, stop_watching))
            run = asyncio.create_task(daemon.run())
            # Act: let it trade three sessions, then kill it while it waits for the fourth.
            deadline = time.monotonic() + 60
            while seen[-1:] != [("WAITING", datetime(2024, 2, 14, 23, 30, tzinfo=UTC), date(2024, 2, 14))]:
                assert time.monotonic() < deadline, seen
                assert not run.done(), run.result()
                await asyncio.sleep(0.02)
            killed_at = time.monotonic()
            await set_kill_switch(storage.uow_factory, active=True, reason="test: kill while waiting")
            result = await asyncio.wait_for(run, timeout=5)
            exited_after_secs = time.monotonic() - killed_at
            await asyncio.sleep(0.1)
            stop_watching.set()
            await watcher
            async with storage.uow_factory() as uow:
                refreshed = await uow.events.list_kind("master_refreshed")
                failed = await uow.events.list_kind("master_refresh_failed")
    finally:
        await server.stop()
        await exchange.close()

    # Assert: sessions on Thu 02-08, Tue 02-13 and Wed 02-14 (the holidays and the weekend skipped), each
    # announced by WAITING with its pre-open (08:30 KST = 23:30 UTC the day before).
    traded = [s.trading_date for s in result.settlements]
    assert traded == [date(2024, 2, 8), date(2024, 2, 13), date(2024, 2, 14)]
    waits = [ts for state, ts, _ in seen if state == "WAITING"]
    assert waits == [
        datetime(2024, 2, 7, 23, 30, tzinfo=UTC),
        datetime(2024, 2, 12, 23, 30, tzinfo=UTC),
        datetime(2024, 2, 13, 23, 30, tzinfo=UTC),
        datetime(2024, 2, 14, 23, 30, tzinfo=UTC),
    ]
    # The heartbeat kept moving while it waited (the four-day wait alone takes seconds here).
    assert len(beats) >= 8
    # A login before each session it waited for; each trading day began with a new access token (the one of
    # the day before had expired or was within its last hour).
    assert daemon.waiter is not None and daemon.waiter.logins == 3
    new_tokens = [at for _, at, new in server.gateway.token_calls if new]
    assert {kst_date(at) for at in new_tokens} >= set(traded)
    for day in traded:
        assert any(kst_date(at) == day and at <= kst_datetime(day, dtime(9, 0)) for at in new_tokens), day
    # The KIS master: read from the simulator at start, then at KIS's update times (06:00 and 18:55 KST here,
    # every day, nights and holidays included), never twice for one. On this clock a real second of work is a
    # day of market time, so a refresh may land hours after its time, and one that takes long on a busy machine
    # may run past the next time (which is then not caught up: the next refresh is the next time to come).
    assert failed == [] and all(e.message.startswith("symbol master refreshed (") for e in refreshed)
    dues = [latest_due(e.ts_event) for e in refreshed[1:]]
    expected = all_dues(datetime(2024, 2, 7, 9, 55, tzinfo=UTC), 16)  # Wed 18:55 KST … Thu 02-15 06:00
    assert dues == sorted(set(dues)) and set(dues) <= set(expected) and len(dues) >= 10, dues
    # The kill during the wait: EXITED in under a second.
    assert result.killed and seen[-1][0] == "EXITED"
    assert exited_after_secs < 1.0, exited_after_secs
