"""The daemon trading Bitcoin: ``--venue upbit --mode sim`` replays real 30-minute KRW-BTC candles through the
Upbit adapter against the Upbit-compatible simulator on loopback; three strategies share one account and one
market, each order carrying its strategy; the database ends equal to the venue, on SQLite and PostgreSQL."""

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.adapters.broker.upbit_sim.render import OrderIds
from stock_manager.domain.positions import positions_from_fills
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage, open_venue
from tests.e2e.support import replay_settings, stockbot
from tests.fakes import RecordingNotifier

PERIOD = (date(2024, 3, 1), date(2024, 3, 10))
EIGHT_DECIMALS = Decimal("0.00000001")


async def run_upbit(tmp_path: Path, db_url: str, **overrides: object):
    settings = replay_settings(
        tmp_path / "data",
        db_url,
        venue="upbit",
        sim_from=PERIOD[0],
        sim_to=PERIOD[1],
        sim_symbols="KRW-BTC",
        **overrides,
    )
    notifier = RecordingNotifier()
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=notifier).run()
        broker = SimBroker.attach(settings.sim_state_dir)
        assert broker is not None
        async with storage.uow_factory() as uow:
            orders = [o for day in broker.days for o in await uow.orders.list_for_date(result.account_id, day)]
            fills = await uow.fills.list_for_account(result.account_id)
            settlements = await uow.settlements.list_all(result.account_id)
    return result, broker, orders, fills, settlements, notifier


async def test_upbit_sim_when_a_period_trades_then_three_strategies_share_the_account_and_all_equals_the_venue(
    tmp_path, db_url
):
    result, broker, orders, fills, settlements, notifier = await run_upbit(tmp_path, db_url)

    # Every UTC day of the period opened and closed (a 24/7 market: one session a day, 00:00 → 24:00 UTC).
    assert [s.trading_date for s in settlements] == broker.days
    assert broker.days == [PERIOD[0] + timedelta(days=n) for n in range(10)]
    assert not result.killed
    # Each strategy traded, and every order says whose it is.
    assert set(Counter(o.strategy_id for o in orders)) == {"volatility_breakout", "grid", "turtle"}
    assert all(o.client_order_id and len(o.client_order_id) <= 32 for o in orders)
    # Every trade at the venue is recorded once, by its trade uuid, as one of our orders', to 8 decimals.
    wire = OrderIds(broker.book, broker.replay_id)  # the simulator's Upbit uuids of the replay's trades
    venue_trades = {
        wire.trade_uuid(f.broker_fill_id): f
        for day in broker.days
        for f in await broker.get_fills(broker.account_id, day)
    }
    assert sorted(s.fill.broker_fill_id for s in fills) == sorted(venue_trades)
    assert all(s.order_id is not None for s in fills)
    assert all(s.fill.quantity == s.fill.quantity.quantize(EIGHT_DECIMALS) for s in fills)
    assert all(
        (s.fill.quantity, s.fill.price, s.fill.commission_krw)
        == (
            venue_trades[s.fill.broker_fill_id].quantity,
            venue_trades[s.fill.broker_fill_id].price,
            venue_trades[s.fill.broker_fill_id].commission_krw,
        )
        for s in fills
    )
    # Each fill is dated on the UTC day it traded.
    assert all(s.fill.trading_date == s.fill.ts_filled.astimezone(UTC).date() for s in fills)
    # The account's position is the venue's balance, and the sum of what each strategy holds.
    ours = positions_from_fills(result.account_id, [s.fill for s in fills])
    theirs = {p.symbol: p.quantity for p in await broker.get_positions(broker.account_id)}
    assert {s: p.quantity for s, p in ours.items() if p.quantity} == theirs
    strategy_of = {o.id: o.strategy_id for o in orders}
    per_strategy = Counter[str]()
    for s in fills:
        per_strategy[strategy_of[s.order_id]] += s.fill.quantity if s.fill.side.value == "BUY" else -s.fill.quantity
    assert sum(per_strategy.values(), Decimal(0)) == theirs.get("KRW-BTC", Decimal(0))
    # The fees of the settlements are the trades' fees, to the won's fraction; the period made a profit.
    assert sum((s.commission_krw for s in settlements), Decimal(0)) == sum(
        (s.fill.commission_krw for s in fills), Decimal(0)
    )
    assert settlements[-1].end_equity_krw > Decimal(10_000_000)
    assert notifier.of_kind("fill")


def test_upbit_sim_cli_when_run_then_events_in_kst_and_utc_and_a_summary_per_utc_day(tmp_path: Path, db_url):
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "DB_URL": db_url,
        "LOG_DIR": str(tmp_path / "logs"),
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "200",
        "PATH": "/usr/bin:/bin",
    }

    done = stockbot(
        "run",
        "--venue",
        "upbit",
        "--mode",
        "sim",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-03",
        env=env,
        cwd=tmp_path,
        timeout=180,
    )

    assert done.returncode == 0, done.stderr
    assert "stockbot upbit sim: KRW-BTC 2024-03-01 → 2024-03-03" in done.stdout
    fill = next(line for line in done.stdout.splitlines() if " fill " in line)
    when = datetime.strptime(fill[:19], "%Y-%m-%d %H:%M:%S")
    utc = datetime.strptime(fill.split("(", 1)[1][:19], "%Y-%m-%d %H:%M:%S")
    assert fill[19:24] == " KST " and when - utc == timedelta(hours=9)  # both zones, nine hours apart
    assert "── 2024-03-01 (UTC day: 09:00 KST → 09:00 KST) summary:" in done.stdout
    assert "│ sessions                  │                       3 │" in done.stdout
    # The venue's commands read the Upbit account: its status, and a recovery check that finds nothing to do.
    status = json.loads(stockbot("status", "--venue", "upbit", "--json", env=env, cwd=tmp_path).stdout)
    plan = stockbot("recover", "--dry-run", "--venue", "upbit", "--json", env=env, cwd=tmp_path, timeout=120)
    assert status["daemon"]["account_id"].startswith("UPBIT-") and status["daemon"]["trading_state"] == "EXITED"
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["clean"] is True
    assert json.loads(stockbot("status", "--venue", "kis", "--json", env=env, cwd=tmp_path).stdout)["daemon"] is None


def test_upbit_live_when_keys_are_missing_then_exit_2_naming_them_before_anything_starts(tmp_path: Path):
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_DIR": str(tmp_path / "logs"),
        "PYTHONIOENCODING": "utf-8",
        "PATH": "/usr/bin:/bin",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }

    done = stockbot("run", "--venue", "upbit", "--mode", "live", env=env, cwd=tmp_path, timeout=60)

    assert done.returncode == 2
    assert "UPBIT_ACCESS_KEY, UPBIT_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "stockbot.db").exists()  # refused before the database was touched
