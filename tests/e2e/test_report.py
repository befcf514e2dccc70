"""`stockbot report` after a replayed sim period: every session's figures agree with the fills table to
the won, on SQLite and PostgreSQL."""

import asyncio
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from stock_manager.adapters.observability.masking import partial_account
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage
from stock_manager.entrypoints.cli import app
from stock_manager.entrypoints.venues import open_venue
from stock_manager.localtime import kst_date
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

#: Two golden-cross buys (005930 on 2023-02-17, 069500 on 2023-02-23) and the stop-loss sale of 005930 on
#: 2023-03-10, which pays the 2023 sell tax.
LAST_DAY = date(2023, 3, 10)
WON = Decimal(1)


def realized_by_day(fills: list[Fill]) -> dict[date, Decimal]:
    # Average-cost realized PnL, computed here independently of the domain's positions.
    held: dict[str, tuple[Decimal, Decimal]] = {}
    realized: dict[date, Decimal] = defaultdict(Decimal)
    for f in sorted(fills, key=lambda f: f.ts_filled):
        quantity, avg = held.get(f.symbol, (Decimal(0), Decimal(0)))
        if f.side is Side.BUY:
            held[f.symbol] = (quantity + f.quantity, (avg * quantity + f.price * f.quantity) / (quantity + f.quantity))
        else:
            realized[kst_date(f.ts_filled)] += (f.price - avg) * f.quantity
            held[f.symbol] = (quantity - f.quantity, avg)
    return realized


def report_json(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.stdout


async def test_report_when_a_sim_period_was_replayed_then_each_session_matches_the_fills_to_the_won(tmp_path, db_url):
    # Arrange: replay the period through the whole daemon.
    settings = replay_settings(tmp_path / "data", db_url, sim_to=LAST_DAY)
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        async with storage.uow_factory() as uow:
            fills = [s.fill for s in await uow.fills.list_for_account(result.account_id)]
    days = [s.trading_date for s in result.settlements]
    by_day: dict[date, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_day[kst_date(fill.ts_filled)].append(fill)
    realized = realized_by_day(fills)
    assert sorted(by_day) == [date(2023, 2, 17), date(2023, 2, 23), LAST_DAY]
    assert sum((f.tax_krw for f in by_day[LAST_DAY]), Decimal(0)) > 0

    # Act / Assert: every session's report against sums over its fills.
    for day in days:
        code, out = await asyncio.to_thread(report_json, "--date", day.isoformat(), "--json", "--db-url", db_url)
        assert code == 0, out
        data = json.loads(out)
        todays = by_day.get(day, [])
        commission = sum((f.commission_krw for f in todays), Decimal(0))
        tax = sum((f.tax_krw for f in todays), Decimal(0))
        assert data["trading_date"] == day.isoformat() and data["account_id"] == partial_account(result.account_id)
        assert Decimal(data["realized_pnl_krw"]).quantize(WON) == realized[day].quantize(WON)
        assert Decimal(data["commission_krw"]) == commission
        assert Decimal(data["tax_krw"]) == tax
        assert Decimal(data["net_realized_pnl_krw"]).quantize(WON) == (realized[day] - commission - tax).quantize(WON)
        assert data["trades"] == len(todays) == len(data["fills"])
        masked = partial_account(result.account_id)  # shown partly, in fill ids too
        assert sorted(f["broker_fill_id"] for f in data["fills"]) == sorted(
            f.broker_fill_id.replace(result.account_id, masked) for f in todays
        )
    # The last session's report carries the whole equity curve and its drawdown.
    assert [p["trading_date"] for p in data["equity_curve"]] == [d.isoformat() for d in days]
    assert Decimal(data["max_drawdown_pct"]) >= Decimal(data["drawdown_pct"]) > 0


async def test_report_when_no_date_is_given_then_the_last_session_and_its_equity_curve_png(tmp_path, db_url):
    settings = replay_settings(tmp_path / "data", db_url, sim_from=date(2023, 2, 13), sim_to=date(2023, 2, 17))
    async with open_storage(settings, upgrade=False) as storage, open_venue(settings) as venue:
        await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
    png = tmp_path / "equity.png"

    code, out = await asyncio.to_thread(report_json, "--db-url", db_url, "--png", str(png))

    assert code == 0, out
    assert "Daily report 2023-02-17" in out and "BUY" in out and "005930" in out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_report_when_the_date_was_not_settled_then_it_says_which_sessions_were(tmp_path, db_url):
    settings = replay_settings(tmp_path / "data", db_url, sim_from=date(2023, 2, 13), sim_to=date(2023, 2, 14))
    async with open_storage(settings, upgrade=False) as storage, open_venue(settings) as venue:
        await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()

    code, out = await asyncio.to_thread(report_json, "--date", "2023-02-18", "--db-url", db_url)
    bad_code, _ = await asyncio.to_thread(report_json, "--date", "18/02/2023", "--db-url", db_url)

    assert code == 1
    assert "No daily settlement for 2023-02-18" in out and "2023-02-13 → 2023-02-14" in out
    assert bad_code == 2


def test_report_when_no_daemon_ever_ran_then_it_says_so(tmp_path: Path):
    code, out = report_json("--db-url", f"sqlite+aiosqlite:///{(tmp_path / 'new.db').as_posix()}")

    assert code == 1 and "No daemon has run against this database yet" in out
