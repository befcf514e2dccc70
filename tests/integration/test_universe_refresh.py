"""The KIS symbol master kept current (spec 001 §4.1.7): downloaded from the local KIS simulator as from KIS (a
zip holding one kospi_code.mst), refreshed at KIS's update times in KST, and a failed refresh keeps the last good
master with an alert."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis_sim.rest import MASTER_PATH
from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator
from stock_manager.adapters.marketdata.master_download import KisMasterDownload, next_update
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.lifecycle_settings import KIS_MASTER_DEFAULT_TIMES, refresh_times
from stock_manager.domain.clock import FixedClock
from stock_manager.entrypoints.bootstrap import build_sim_broker, replay_clock
from stock_manager.service_layer.ports.symbol_master import ListedSymbols, SymbolMasterUnavailable
from stock_manager.service_layer.universe import UniverseRefresh
from tests.e2e.support import replay_settings
from tests.fakes import RecordingNotifier

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 17:00 KST


@pytest.fixture
async def kis_sim(tmp_path: Path):
    settings = replay_settings(tmp_path / "exchange", "sqlite+aiosqlite:///unused.db")
    exchange = build_sim_broker(settings, replay_clock(settings))
    server = KisExchangeSimulator(exchange, mode="paper", wall_clock=FixedClock(T0), rate_limit_per_sec=None)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        await exchange.close()


async def test_download_when_from_the_kis_simulator_then_the_bundled_master_is_read_and_kept(kis_sim, tmp_path):
    cache = tmp_path / "data" / "kis-master" / "kospi_code.mst"
    master = KisMasterDownload(f"{kis_sim.rest_base_url}{MASTER_PATH}", clock=FixedClock(T0), cache_path=cache)

    listed = await master.fetch()

    assert {"005930", "069500", "000660"} <= listed.symbols and len(listed.symbols) > 2000
    assert listed.ts_fetched == T0
    bundled = Path(__file__).parents[2] / "src" / "stock_manager" / "data" / "market" / "kis_kospi_code_2026-02-10.mst"
    assert cache.read_bytes() == bundled.read_bytes()  # the bundled file, as downloaded


async def test_download_when_the_url_answers_404_then_unavailable_naming_the_status(kis_sim):
    master = KisMasterDownload(f"{kis_sim.rest_base_url}/common/master/nothing.zip", clock=FixedClock(T0))

    with pytest.raises(SymbolMasterUnavailable, match="HTTP 404"):
        await master.fetch()


async def test_download_when_nothing_listens_then_unavailable_naming_the_error():
    master = KisMasterDownload("http://127.0.0.1:9/kospi_code.mst.zip", clock=FixedClock(T0), timeout_secs=2)

    with pytest.raises(SymbolMasterUnavailable, match="ConnectError"):
        await master.fetch()


def test_next_update_when_asked_then_the_next_of_kis_times_in_kst_next_day_after_the_last():
    times = refresh_times(KIS_MASTER_DEFAULT_TIMES)

    assert next_update(T0, times) == datetime(2026, 12, 3, 8, 10, tzinfo=UTC)  # 17:10 KST
    after_last = datetime(2026, 12, 3, 9, 55, tzinfo=UTC)  # 18:55 KST: the next is 06:00 tomorrow
    assert next_update(after_last, times) == datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    assert next_update(T0, (time(6, 0),)) == datetime(2026, 12, 3, 21, 0, tzinfo=UTC)


class FlakyMaster:
    """A master that answers with `listed` until told to fail."""

    def __init__(self, listed: ListedSymbols) -> None:
        self.listed, self.failing = listed, False

    async def fetch(self) -> ListedSymbols:
        if self.failing:
            raise SymbolMasterUnavailable("ConnectError from https://kis.example/kospi_code.mst.zip")
        return self.listed


async def test_refresh_when_it_fails_then_the_last_good_master_is_kept_and_an_alert_says_so(
    uow_factory: SqlUnitOfWorkFactory,
):
    good = ListedSymbols(frozenset({"005930", "069500"}), T0)
    master, notifier = FlakyMaster(good), RecordingNotifier()
    refresh = UniverseRefresh(
        master=master,
        traded=("005930",),
        next_refresh=lambda after: after + timedelta(hours=1),
        clock=FixedClock(T0),
        uow_factory=uow_factory,
        notifier=notifier,
    )
    assert await refresh.refresh()

    master.failing = True
    refreshed = await refresh.refresh()

    assert not refreshed and refresh.last_good is good and refresh.failures == 1
    [alert] = [e for e in notifier.events if e.kind == "master_refresh_failed"]
    assert alert.severity == "WARNING"
    assert alert.message == (
        "symbol master refresh failed: ConnectError from https://kis.example/kospi_code.mst.zip; "
        "keeping the master of 2026-12-03T08:00:00+00:00"
    )
    async with uow_factory() as uow:
        stored = await uow.events.list_kind("master_refresh_failed")
    assert [e.message for e in stored] == [alert.message]


async def test_refresh_when_a_traded_symbol_is_no_longer_listed_then_an_alert_names_it(
    uow_factory: SqlUnitOfWorkFactory,
):
    notifier = RecordingNotifier()
    refresh = UniverseRefresh(
        master=FlakyMaster(ListedSymbols(frozenset({"069500"}), T0)),
        traded=("005930", "069500"),
        next_refresh=lambda after: after + timedelta(hours=1),
        clock=FixedClock(T0),
        uow_factory=uow_factory,
        notifier=notifier,
    )

    await refresh.refresh()

    [event] = notifier.events
    assert (event.kind, event.severity) == ("master_refreshed", "WARNING")
    assert event.message == "symbol master refreshed (1 symbols); no longer listed: 005930"
