"""Seeding the dashboard's tests by running the real code: a KRX sim run with the keyless nightly AI jobs (a
journal after every close, parameter drafts after every seventh) and then a short Upbit sim run with its journal,
in one database (each venue its own account and daemon row)."""

from datetime import date
from pathlib import Path

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage, open_venue
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

#: Three UTC days of real 30-minute KRW-BTC candles (the period of `tests.e2e.test_upbit_daemon`'s CLI run).
UPBIT_PERIOD = (date(2024, 3, 1), date(2024, 3, 3))
#: The nightly jobs of `tests.e2e.test_ai_nightly`: 14 KRX sessions, drafts after the 7th and 14th closes.
AI_JOBS = {
    "ai_journal_after_close": True,
    "ai_propose_nightly": True,
    "ai_propose_every_sessions": 7,
    "ai_propose_trials": 16,
    "ai_journal_language": "en",
    "sim_protocol": "direct",
}


async def run_daemon(data_dir: Path, db_url: str, **overrides: object) -> str:
    """Run one sim daemon to the end of its period; return its account id."""
    settings = replay_settings(data_dir, db_url, **overrides)
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        broker = SimBroker.attach(settings.sim_state_dir)
        if broker is not None:
            await broker.close()
    return result.account_id


async def seed_both_venues(data_dir: Path, db_url: str) -> tuple[str, str]:
    """Run the KRX daemon (with the AI jobs) and then the Upbit daemon on `db_url`; return their accounts."""
    krx = await run_daemon(data_dir, db_url, **AI_JOBS)
    upbit = await run_daemon(
        data_dir,
        db_url,
        venue="upbit",
        sim_from=UPBIT_PERIOD[0],
        sim_to=UPBIT_PERIOD[1],
        sim_symbols="KRW-BTC",
        ai_journal_after_close=True,
        ai_journal_language="en",
    )
    return krx, upbit
