"""An approved draft takes effect at the first session the daemon has not opened, on the venue's own calendar:
KRX sessions for stocks, Upbit's UTC days for Bitcoin."""

from datetime import date

from stock_manager.config.settings import load_settings
from stock_manager.entrypoints.ai_jobs import earliest_session
from stock_manager.entrypoints.bootstrap import open_storage


async def test_earliest_session_when_nothing_traded_then_the_venues_first_replayed_day(tmp_path, db_url):
    found = {}
    for venue, start in (("kis", "2023-01-01"), ("upbit", "2024-03-02")):  # 2023-01-01 is a Sunday
        settings = load_settings(
            venue=venue,
            mode="sim",
            sim_from=start,
            sim_to=start,
            data_dir=tmp_path,
            db_url=db_url,
            sim_symbols="005930" if venue == "kis" else "KRW-BTC",
        )
        async with open_storage(settings, upgrade=False) as storage:
            found[venue] = await earliest_session(settings, storage)

    assert found == {"kis": date(2023, 1, 2), "upbit": date(2024, 3, 2)}  # a Saturday trades on Upbit
