"""``stockbot divergence --venue upbit``: what the daemon traded on Upbit (sim or paper) over a period against
the Bitcoin backtest (`research.intraday`, the daemon's logic over the replayed KRW-BTC candles) of the same
days, with each strategy's parameters ACTIVE each day, compared per strategy and overall (`divergence.compare`).

The daemon's side is read from the database: the orders of an Upbit account (``accounts.venue = 'upbit'``)
in the period with their ``strategy_id``, its fills (joined by Upbit's order uuid alone: a GTC order may fill on
a later day), its daily settlements (start cash, equity) and its risk events (denials). Orders are matched on
(trading date, strategy, symbol, side, intent, rank), the rank counting a strategy's orders of that key by
creation time (`divergence.side_orders`). The trading date is Upbit's: the UTC date (days start 00:00 UTC =
09:00 KST). Money is exact `Decimal` KRW, quantized to 1e-12 KRW (the fills' commission column,
NUMERIC(36, 12)); quantities keep Upbit's 8 decimals; times are aware UTC.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.adapters.storage import tables
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.positions import positions_from_fills
from stock_manager.domain.strategies.base import StrategyParams, StrategySpec
from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.research.divergence import SideOrder, compare, run_figures, side_orders
from stock_manager.research.divergence_run import period_rows
from stock_manager.research.intraday import IntradayConfig, run_intraday
from stock_manager.research.store import active_params_rows, params_on
from stock_manager.service_layer.ports.venue import VenueProfile

__all__ = ["MONEY_QUANTUM", "upbit_divergence_report"]

#: KRW amounts of the report are exact to this (the fills' commission is stored NUMERIC(36, 12)).
MONEY_QUANTUM = Decimal("1E-12")
_SUMMARY = (
    "pnl_daemon_krw",
    "pnl_backtest_krw",
    "pnl_difference_krw",
    "decomposition_krw",
    "slippage_total_krw",
    "slippage_mean_bps",
    "costs_daemon_krw",
    "costs_backtest_krw",
)


async def upbit_divergence_report(
    storage: Any,
    start: date,
    end: date,
    *,
    market: ReplayMarket,
    venue: VenueProfile,
    template: IntradayConfig,
    strategies: Sequence[StrategySpec],
    named: bool,
    account: str | None,
    fallback: Callable[[StrategySpec], StrategyParams],
) -> dict[str, Any]:
    """Return the divergence report of an Upbit account over [start, end] (UTC trading dates, inclusive).

    Parameters
    ----------
    storage
        The open storage (``engine`` and ``uow_factory``) the daemon wrote.
    market, venue : ReplayMarket, VenueProfile
        The replayed Upbit candles and their venue profile (`intraday.upbit_replay`).
    template : IntradayConfig
        The simulated account (start cash when the period has no settlement, participation rate, Upbit's fee,
        the settings' risk limits, which the database's newest changes override as the daemon's open does).
    strategies : Sequence[StrategySpec]
        With `named`, the strategies to compare (the user's ``--strategies``); else the account's strategies in
        the daemon's order, of which those recorded on the period's orders are compared (a recorded strategy
        they lack is added in the registry's order).
    fallback
        A strategy's parameters on days without an ACTIVE ``strategy_params`` row.

    Returns
    -------
    dict
        `divergence.compare`'s report over all the strategies (pairs, missing, extra, PnL and its
        decomposition in KRW, slippage in KRW and bps, costs), plus ``by_strategy`` (the same figures per
        strategy id, without the rows), ``venue``, ``mode``, ``account``, ``period``, ``symbols``,
        ``strategies``, ``start_cash_krw``, ``held_at_start``, ``params_by_day`` (per strategy: the days its
        parameters changed), the orders, fills and denials of both sides and both equity curves (KRW).

    Raises
    ------
    ConfigurationError
        If no Upbit account (or more than one, without `account`) has orders in the period, if the period's
        orders name a strategy the registry does not know or none of `strategies`, or an ACTIVE row is invalid.
    """
    from stock_manager.service_layer.risk_config import effective_limits

    account, mode = await _upbit_account(storage.engine, start, end, account)
    async with storage.uow_factory() as uow:
        orders, fills_all, settlements = await period_rows(uow, account, start, end)
        events = await uow.risk.list_events(account, since=datetime.combine(start - timedelta(days=1), time(0), UTC))
        limits = await effective_limits(uow, template.limits)
    specs = _chosen(strategies, named, [o.strategy_id for o in orders])
    ids = {spec.strategy_id for spec in specs}
    orders = [o for o in orders if o.strategy_id in ids]
    numbers = {normalize_order_number(o.broker_order_number) for o in orders if o.broker_order_number}
    fills = [
        f
        for f in fills_all
        if start <= f.trading_date <= end and normalize_order_number(f.broker_order_number) in numbers
    ]
    held_before = {
        s: p.quantity
        for s, p in positions_from_fills(account, [f for f in fills_all if f.trading_date < start]).items()
        if p.quantity
    }
    params_for, changes = await _params_by_day(storage.engine, specs, fallback, start, end)
    start_cash = settlements[0].start_equity_krw if settlements else template.start_cash_krw
    config = replace(
        template,
        start=start,
        end=end,
        strategies=tuple((spec, params_for(start)[spec.strategy_id]) for spec in specs),
        limits=limits,
        start_cash_krw=start_cash,
        params_by_day=params_for,
    )
    # In a worker thread: the daemon's event loop keeps running while its journal replays the period.
    result = await asyncio.to_thread(run_intraday, market, venue, config)
    last_close = {s: _last_close(market, s, end) for s in market.symbols}
    for f in fills:
        last_close.setdefault(f.symbol, f.price)
    daemon_denials = {
        (venue.date_of(e.ts_event), e.symbol, str(side))
        for e in events
        if e.decision == "DENY"
        and e.symbol is not None
        and (side := (e.snapshot.get("proposal") or {}).get("side"))
        and start <= venue.date_of(e.ts_event) <= end
    }
    bt_denials = {(d.trading_date, d.symbol, str(d.side)) for d in result.denials}
    joined = {"per_strategy": True, "by_day": venue.order_numbers_restart_daily}
    d_orders = side_orders([o for o in orders if o.symbol in last_close], fills, _number, **joined)
    b_orders = side_orders(result.orders, result.fills, _number, **joined)
    report = compare(d_orders, b_orders, last_close, daemon_denials, bt_denials, quantum=MONEY_QUANTUM)
    report["by_strategy"] = {
        spec.strategy_id: _summary(spec.strategy_id, d_orders, b_orders, last_close, daemon_denials, bt_denials)
        for spec in specs
    }
    report.update(
        {
            "venue": "upbit",
            "mode": mode,
            "account": account,
            "period": f"{start}..{end}",
            "symbols": list(market.symbols),
            "strategies": [spec.strategy_id for spec in specs],
            "start_cash_krw": start_cash,
            "held_at_start": held_before,
            "params_by_day": changes,
            **run_figures(orders, fills, daemon_denials, result, settlements),
        }
    )
    return report


async def _upbit_account(engine: Any, start: date, end: date, account: str | None) -> tuple[str, str]:
    # The Upbit accounts with orders in the period, with their mode (sim | paper | live).
    statement = (
        select(tables.orders.c.account_id, tables.accounts.c.mode)
        .distinct()
        .join(tables.accounts, tables.accounts.c.account_id == tables.orders.c.account_id)
        .where(
            tables.accounts.c.venue == "upbit",
            tables.orders.c.trading_date >= start,
            tables.orders.c.trading_date <= end,
        )
    )
    if account is not None:
        statement = statement.where(tables.orders.c.account_id == account)
    async with engine.connect() as conn:
        found = sorted((r[0], r[1]) for r in await conn.execute(statement))
    if len(found) == 1:
        return found[0]
    if not found:
        who = f"account {account} has no Upbit orders" if account else "no Upbit account has orders"
        raise ConfigurationError(f"{who} in {start}..{end}; nothing to compare")
    raise ConfigurationError(
        f"{len(found)} Upbit accounts have orders in {start}..{end}: {', '.join(a for a, _ in found)}; "
        "name one with --account"
    )


def _chosen(strategies: Sequence[StrategySpec], named: bool, recorded: Sequence[str]) -> list[StrategySpec]:
    # The strategies compared: the named ones, else the recorded ones in the account's order.
    if named:
        return list(strategies)
    seen = dict.fromkeys(recorded)
    if unknown := sorted(s for s in seen if s not in STRATEGIES):
        raise ConfigurationError(
            f"the orders name unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGIES)}"
        )
    ordered = [spec for spec in strategies if spec.strategy_id in seen]
    ordered += [spec for sid, spec in STRATEGIES.items() if sid in seen and spec not in ordered]
    return ordered


async def _params_by_day(
    engine: Any,
    specs: Sequence[StrategySpec],
    fallback: Callable[[StrategySpec], StrategyParams],
    start: date,
    end: date,
) -> tuple[Callable[[date], Mapping[str, StrategyParams]], dict[str, list[dict[str, Any]]]]:
    # Each strategy's parameters per day (its ACTIVE row, checked as the daemon's open does, else `fallback`),
    # and the days they changed.
    rows = {spec.strategy_id: await active_params_rows(engine, spec.strategy_id) for spec in specs}
    memo: dict[date, dict[str, StrategyParams]] = {}

    def params_for(day: date) -> Mapping[str, StrategyParams]:
        if day not in memo:
            bound = {}
            for spec in specs:
                raw = params_on(rows[spec.strategy_id], day)
                if raw is not None and (problems := spec.problems(raw)):
                    raise ConfigurationError(
                        f"the ACTIVE strategy_params row of {spec.strategy_id} for {day}: {'; '.join(problems)}"
                    )
                bound[spec.strategy_id] = spec.params_from(raw) if raw is not None else fallback(spec)
            memo[day] = bound
        return memo[day]

    changes: dict[str, list[dict[str, Any]]] = {spec.strategy_id: [] for spec in specs}
    day = start
    while day <= end:
        for sid, params in params_for(day).items():
            mapping = params.to_mapping()
            if not changes[sid] or changes[sid][-1]["params"] != mapping:
                changes[sid].append({"from": day, "params": mapping})
        day += timedelta(days=1)
    return params_for, changes


def _summary(
    strategy_id: str,
    daemon: Sequence[SideOrder],
    backtest: Sequence[SideOrder],
    last_close: Mapping[str, Decimal],
    daemon_denials: set[tuple[date, str, str]],
    backtest_denials: set[tuple[date, str, str]],
) -> dict[str, Any]:
    # One strategy's figures: `compare` over its orders alone, the counts of its rows.
    mine = compare(
        [o for o in daemon if o.strategy_id == strategy_id],
        [o for o in backtest if o.strategy_id == strategy_id],
        last_close,
        daemon_denials,
        backtest_denials,
        quantum=MONEY_QUANTUM,
    )
    counts = {k: len(mine[k]) for k in ("pairs", "missing", "extra")}
    return {**counts, **{k: mine[k] for k in _SUMMARY}}


def _last_close(market: ReplayMarket, symbol: str, end: date) -> Decimal:
    bar = market.previous_close(symbol, end + timedelta(days=1))
    return bar.close if bar is not None else Decimal(0)


def _number(order: Any) -> Any:
    return order.broker_order_number
