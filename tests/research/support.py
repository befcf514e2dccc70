"""Helpers of the research tests: the daemon's direct replay in-process, its orders and fills as rows."""

import json
import shutil
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage, open_venue
from stock_manager.research.engine import BacktestResult
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings

type Row = tuple[object, ...]


def fresh_sqlite(template: Path, target_dir: Path) -> str:
    """Return the URL of a copy of the migrated SQLite template in `target_dir`."""
    target = target_dir / "stockbot.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target.as_posix()}"


async def daemon_replay(
    tmp_path: Path, db_url: str, start: date, end: date, symbols: str, params: Mapping[str, object] | None = None
) -> tuple[list[Row], list[Row]]:
    """Run the daemon over the direct sim replay (with `params` as its parameter file); return its (orders,
    fills) as comparable rows."""
    extra: dict[str, object] = {}
    if params is not None:
        extra["strategy_params_file"] = tmp_path / "params.json"
        extra["strategy_params_file"].write_text(json.dumps(params), encoding="utf-8")
    settings = replay_settings(
        tmp_path / "data", db_url, sim_from=start, sim_to=end, sim_symbols=symbols, sim_protocol="direct", **extra
    )
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        broker = SimBroker.attach(settings.sim_state_dir)
        assert broker is not None
        async with storage.uow_factory() as uow:
            orders = [o for day in broker.days for o in await uow.orders.list_for_date(result.account_id, day)]
            fills = [s.fill for s in await uow.fills.list_for_account(result.account_id)]
        await broker.close()
    order_rows = sorted(
        (
            o.trading_date,
            o.symbol,
            str(o.side),
            str(o.intent),
            str(o.order_type),
            o.quantity,
            o.limit_price,
            str(o.status),
            o.filled_quantity,
        )
        for o in orders
    )
    fill_rows = sorted(
        (f.trading_date, f.symbol, str(f.side), f.quantity, f.price, f.commission_krw, f.tax_krw, f.ts_filled)
        for f in fills
    )
    return order_rows, fill_rows


def backtest_rows(result: BacktestResult) -> tuple[list[Row], list[Row]]:
    """Return the backtest's (orders, fills) in the shape of `daemon_replay`'s."""
    orders = sorted(
        (
            o.trading_date,
            o.symbol,
            str(o.side),
            str(o.intent),
            str(o.order_type),
            o.quantity,
            o.limit_price,
            o.status,
            o.filled_quantity,
        )
        for o in result.orders
    )
    fills = sorted(
        (f.trading_date, f.symbol, str(f.side), f.quantity, f.price, f.commission_krw, f.tax_krw, f.ts_filled)
        for f in result.fills
    )
    return orders, fills


async def upbit_daemon_replay(tmp_path: Path, db_url: str, start: date, end: date, **overrides: object) -> str:
    """Run the daemon over the direct Upbit sim replay of the bundled KRW-BTC candles (``--venue upbit --mode
    sim``, ``SIM_PROTOCOL=direct``, in-process) from `start` to `end`; return its account id."""
    settings = replay_settings(
        tmp_path / "data",
        db_url,
        venue="upbit",
        sim_from=start,
        sim_to=end,
        sim_symbols="KRW-BTC",
        sim_protocol="direct",
        **overrides,
    )
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        broker = SimBroker.attach(settings.sim_state_dir)
        assert broker is not None
        await broker.close()
    return str(result.account_id)
