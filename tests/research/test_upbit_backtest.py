"""The Bitcoin backtest is the daemon's logic: on the bundled KRW-BTC candles its orders and fills equal the
daemon's direct replay (``--venue upbit --mode sim`` with ``SIM_PROTOCOL=direct``, in-process), strategy by
strategy, with the venue's instrument, fee, GTC orders and the 00:00 UTC (09:00 KST) day."""

from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.domain.model import Side
from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.entrypoints.bootstrap import build_daemon, open_storage, open_venue, risk_limits
from stock_manager.research.intraday import IntradayConfig, run_intraday, strategies_of, upbit_replay
from stock_manager.research.metrics import summarize
from stock_manager.service_layer.ports.notifications import NullNotifier
from tests.e2e.support import replay_settings
from tests.research.support import fresh_sqlite

PERIOD = (date(2024, 3, 1), date(2024, 3, 10))
EIGHT_DECIMALS = Decimal("0.00000001")
BITCOIN = ("volatility_breakout", "grid", "turtle")

type Row = tuple[object, ...]


def _settings(tmp_path: Path, db_url: str, period: tuple[date, date] = PERIOD, **overrides: object):
    return replay_settings(
        tmp_path / "data",
        db_url,
        venue="upbit",
        sim_from=period[0],
        sim_to=period[1],
        sim_symbols="KRW-BTC",
        sim_protocol="direct",
        **overrides,
    )


async def _daemon(
    tmp_path: Path, db_url: str, period: tuple[date, date] = PERIOD, **overrides: object
) -> tuple[list[Row], list[Row], Decimal]:
    settings = _settings(tmp_path, db_url, period, **overrides)
    async with open_storage(settings, upgrade=False) as storage:
        async with open_venue(settings) as venue:
            result = await build_daemon(settings, storage, venue, notifier=NullNotifier()).run()
        broker = SimBroker.attach(settings.sim_state_dir)
        assert broker is not None
        async with storage.uow_factory() as uow:
            orders = [o for day in broker.days for o in await uow.orders.list_for_date(result.account_id, day)]
            fills = [s.fill for s in await uow.fills.list_for_account(result.account_id)]
            settlements = await uow.settlements.list_all(result.account_id)
        await broker.close()
    order_rows = sorted(
        (
            o.trading_date,
            o.strategy_id,
            o.ts_created,
            str(o.side),
            str(o.intent),
            str(o.order_type),
            o.quantity,
            o.limit_price,
            str(o.status),
            o.filled_quantity,
            o.reason,
        )
        for o in orders
    )
    fill_rows = sorted(
        (f.trading_date, f.ts_filled, str(f.side), f.quantity, f.price, f.commission_krw, f.tax_krw) for f in fills
    )
    return order_rows, fill_rows, settlements[-1].end_equity_krw


async def test_upbit_backtest_when_the_daemon_replays_ten_days_then_same_orders_fills_and_equity(
    tmp_path, _sqlite_template
):
    daemon_orders, daemon_fills, daemon_equity = await _daemon(tmp_path, fresh_sqlite(_sqlite_template, tmp_path))
    market, venue = upbit_replay(["KRW-BTC"])
    config = IntradayConfig(
        *PERIOD,
        strategies_of([STRATEGIES[s] for s in BITCOIN]),
        limits=risk_limits(_settings(tmp_path, "sqlite+aiosqlite:///unused.db")),
    )

    result = run_intraday(market, venue, config)

    orders = sorted(
        (
            o.trading_date,
            o.strategy_id,
            o.ts_created,
            str(o.side),
            str(o.intent),
            str(o.order_type),
            o.quantity,
            o.limit_price,
            o.status,
            o.filled_quantity,
            o.reason,
        )
        for o in result.orders
    )
    fills = sorted(
        (f.trading_date, f.ts_filled, str(f.side), f.quantity, f.price, f.commission_krw, f.tax_krw)
        for f in result.fills
    )
    assert orders == daemon_orders
    assert fills == daemon_fills
    last_day, equity = result.equity[-1]
    assert (last_day, equity.quantize(EIGHT_DECIMALS)) == (PERIOD[1], daemon_equity)  # stored as NUMERIC(.., 8)
    # Each strategy traded; quantities on the 1e-8 BTC grid, prices on the price-unit table, the 0.05 % fee.
    assert {o[1] for o in orders} == set(BITCOIN)
    instrument = market.instruments()["KRW-BTC"]
    for f in result.fills:
        assert f.quantity == f.quantity.quantize(EIGHT_DECIMALS)
        assert instrument.round_price(f.price, Side.BUY) == f.price
        assert f.commission_krw == f.quantity * f.price * Decimal("0.0005") and f.tax_krw == 0
        assert f.trading_date == f.ts_filled.astimezone(UTC).date()  # the 09:00 KST day
    assert len(fills) >= 50
    summary = summarize(result)
    assert summary["end_equity_krw"] == equity and summary["fills"] == len(fills)


def _rows(result) -> tuple[list[Row], list[Row]]:
    orders = sorted(
        (
            o.trading_date,
            o.strategy_id,
            o.ts_created,
            str(o.side),
            str(o.intent),
            str(o.order_type),
            o.quantity,
            o.limit_price,
            o.status,
            o.filled_quantity,
            o.reason,
        )
        for o in result.orders
    )
    fills = sorted(
        (f.trading_date, f.ts_filled, str(f.side), f.quantity, f.price, f.commission_krw, f.tax_krw)
        for f in result.fills
    )
    return orders, fills


@pytest.mark.slow
async def test_upbit_backtest_when_risk_denies_and_the_loss_limit_trips_then_the_same_as_the_daemon(
    tmp_path, _sqlite_template
):
    # The August 2024 fall with tight limits: per-symbol value denials, then a 0.5 % daily loss on 2024-08-01
    # stops the session and latches the kill switch; neither trades after it.
    period = (date(2024, 7, 25), date(2024, 8, 20))
    tight = {"risk_daily_loss_limit_pct": "0.5", "risk_max_value_per_symbol_krw": "2500000"}
    daemon_orders, daemon_fills, daemon_equity = await _daemon(
        tmp_path, fresh_sqlite(_sqlite_template, tmp_path), period, **tight
    )
    market, venue = upbit_replay(["KRW-BTC"])
    limits = risk_limits(_settings(tmp_path, "sqlite+aiosqlite:///unused.db", period, **tight))

    result = run_intraday(
        market, venue, IntradayConfig(*period, strategies_of([STRATEGIES[s] for s in BITCOIN]), limits=limits)
    )

    assert _rows(result) == (daemon_orders, daemon_fills)
    assert result.kill_reason is not None and result.kill_reason.startswith("daily loss limit hit on 2024-08-01")
    assert result.days[-1] == date(2024, 8, 1) and result.equity[-1][1].quantize(EIGHT_DECIMALS) == daemon_equity
    assert {d.rule for d in result.denials} == {"max_value_per_symbol"}
