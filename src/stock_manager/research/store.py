"""``--record``: research runs kept in the database by name (tables of revision 0011), and the reads the
research commands make (ACTIVE strategy parameters; a traded period's orders, fills and events)."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from stock_manager.adapters.storage import tables
from stock_manager.domain.fills import Fill
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID
from stock_manager.research.report import jsonable


async def record_run(
    engine: AsyncEngine,
    *,
    name: str,
    kind: str,
    period: tuple[date, date],
    symbols: Sequence[str],
    params: Mapping[str, Any],
    config: Mapping[str, Any],
    summary: Mapping[str, Any],
    ts_created: datetime,
    fills: Sequence[tuple[Fill, str]] = (),
    trials: Sequence[Mapping[str, Any]] = (),
    strategy_id: str = STRATEGY_ID,
) -> int:
    """Store one run with its fills (fill, intent) and optimisation trials; return the run's id.

    `ts_created` is when the run was recorded (aware UTC, from the caller's clock).

    Each trial mapping has ``window``, ``trial``, ``params``, ``in_sample``, ``out_of_sample``,
    ``objective_in_sample`` and ``objective_out_of_sample``.
    """
    async with engine.begin() as conn:
        run_id = (
            await conn.execute(
                insert(tables.backtest_runs)
                .values(
                    name=name,
                    kind=kind,
                    strategy_id=strategy_id,
                    period_from=period[0],
                    period_to=period[1],
                    symbols=list(symbols),
                    params=jsonable(dict(params)),
                    config=jsonable(dict(config)),
                    summary=jsonable(dict(summary)),
                    ts_created=ts_created,
                )
                .returning(tables.backtest_runs.c.id)
            )
        ).scalar_one()
        if fills:
            await conn.execute(
                insert(tables.backtest_fills),
                [
                    {
                        "run_id": run_id,
                        "seq": n,
                        "trading_date": f.trading_date,
                        "ts_filled": f.ts_filled,
                        "symbol": f.symbol,
                        "side": str(f.side),
                        "intent": intent,
                        "quantity": f.quantity,
                        "price": f.price,
                        "commission_krw": f.commission_krw,
                        "tax_krw": f.tax_krw,
                    }
                    for n, (f, intent) in enumerate(fills, start=1)
                ],
            )
        if trials:
            await conn.execute(
                insert(tables.optimize_trials),
                [
                    {
                        "run_id": run_id,
                        "window_index": t["window"],
                        "trial": t["trial"],
                        "params": jsonable(t["params"]),
                        "in_sample": jsonable(t["in_sample"]),
                        "out_of_sample": jsonable(t["out_of_sample"]),
                        "objective_in_sample": t["objective_in_sample"],
                        "objective_out_of_sample": t["objective_out_of_sample"],
                    }
                    for t in trials
                ],
            )
    return int(run_id)


async def list_runs(engine: AsyncEngine, name: str | None = None) -> list[dict[str, Any]]:
    """Return the recorded runs (of `name`), newest first."""
    statement = select(tables.backtest_runs).order_by(tables.backtest_runs.c.id.desc())
    if name is not None:
        statement = statement.where(tables.backtest_runs.c.name == name)
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(statement)]


async def active_params_rows(engine: AsyncEngine, strategy_id: str = STRATEGY_ID) -> list[tuple[date, int, dict]]:
    """Return every ACTIVE ``strategy_params`` row of `strategy_id` as (effective date, version, params)."""
    sp = tables.strategy_params
    statement = (
        select(sp.c.effective_date, sp.c.version, sp.c.params)
        .where(sp.c.strategy_id == strategy_id, sp.c.status == "ACTIVE")
        .order_by(sp.c.effective_date, sp.c.version)
    )
    async with engine.connect() as conn:
        return [(row.effective_date, row.version, dict(row.params)) for row in await conn.execute(statement)]


def params_on(rows: Sequence[tuple[date, int, dict]], day: date) -> dict | None:
    """Return the ACTIVE parameters in force on `day` (latest date <= day, highest version), or None."""
    best = None
    for effective, version, params in rows:
        if effective <= day and (best is None or (effective, version) >= best[:2]):
            best = (effective, version, params)
    return None if best is None else best[2]
