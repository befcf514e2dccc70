"""JSON endpoints behind the pages, documented by OpenAPI (``/api/openapi.json``; listed at ``/api-docs``).

The shapes are the CLI's where the CLI has one: ``/api/status`` is ``stockbot status --json``, ``/api/risk`` is
``stockbot risk show --json``, ``/api/reports/{day}`` is ``stockbot report --json``. Accounts are masked and
no secret is ever included.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.masking import register_account
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID
from stock_manager.entrypoints.dashboard.app import require_login, state_of
from stock_manager.entrypoints.dashboard.pages import Day, order_filter
from stock_manager.entrypoints.dashboard.present import (
    equity_data,
    event_data,
    order_data,
    overview_data,
    timeline_data,
)
from stock_manager.entrypoints.risk_views import risk_data
from stock_manager.entrypoints.views import report_data, settlement_data, status_data
from stock_manager.service_layer.events import jsonable
from stock_manager.service_layer.ports.history import SEVERITIES
from stock_manager.service_layer.views.orders import order_timeline, search_orders
from stock_manager.service_layer.views.overview import equity_points, overview
from stock_manager.service_layer.views.reports import load_daily_report
from stock_manager.service_layer.views.risk import risk_report
from stock_manager.service_layer.views.status import status_report

router = APIRouter(prefix="/api", tags=["views"], dependencies=[Depends(require_login)])


@router.get("/status", summary="Mode, daemon state, kill switch, positions, open orders, today's realized PnL")
async def status(request: Request) -> Any:
    """The same data as ``stockbot status --json``."""
    return jsonable(status_data(await status_report(state_of(request).uow_factory)))


@router.get("/overview", summary="The overview page: status plus marked positions, equity, drawdown, fills")
async def overview_json(request: Request) -> Any:
    """``status`` is ``stockbot status --json``; positions are marked at the last price the database knows (the
    last close's snapshot or a later fill), named in ``mark_source``."""
    return jsonable(overview_data(await overview(state_of(request).uow_factory)))


@router.get("/orders", summary="Orders with filters, newest first")
async def orders(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    symbol: str | None = None,
    strategy: str | None = None,
    status: Annotated[str | None, Query(description="comma-separated: NEW,SENT,…")] = None,
) -> Any:
    """Orders of the latest daemon's account; dates are the venue's trading dates, both ends included."""
    state = state_of(request)
    found = await search_orders(
        state.uow_factory, state.history, order_filter(date_from, date_to, symbol, strategy, status)
    )
    register_account(found.account_id)
    return jsonable({"orders": [order_data(o) for o in found.orders], "strategies": found.strategies})


@router.get("/orders/{order_id}", summary="One order and its timeline (status steps and its decision's events)")
async def order(request: Request, order_id: int) -> Any:
    state = state_of(request)
    timeline = await order_timeline(state.uow_factory, state.history, order_id)
    if timeline is None:
        raise HTTPException(404, f"no order {order_id}")
    register_account(timeline.order.account_id)
    return jsonable(timeline_data(timeline))


@router.get("/events", summary="The newest events at or above a severity")
async def events(
    request: Request,
    severity: Annotated[str, Query(description=", ".join(SEVERITIES))] = "INFO",
    after_id: int = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Newest first; pass the newest id seen as ``after_id`` to get only what came after it."""
    if severity not in SEVERITIES:
        raise HTTPException(422, f"severity must be one of {', '.join(SEVERITIES)}")
    async with state_of(request).history() as history:
        found = await history.events(min_severity=severity, after_id=after_id, limit=limit)
    return jsonable({"events": [event_data(e) for e in found]})


@router.get("/risk", summary="Risk limits in force, their source, today's usage and denials by rule")
async def risk(request: Request) -> Any:
    """The same data as ``stockbot risk show --json``."""
    state = state_of(request)
    report = await risk_report(
        state.uow_factory, state.config.risk_limits, SystemClock().now(), state.config.trading_day
    )
    return jsonable(risk_data(report))


@router.get("/reports", summary="Every settled session of the latest daemon's account, newest first")
async def reports(request: Request) -> Any:
    async with state_of(request).uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None)
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False) if daemon else []
    return jsonable({"sessions": [settlement_data(s) for s in reversed(settlements)]})


@router.get("/reports/{day}", summary="One session's daily report")
async def report(request: Request, day: date) -> Any:
    """The same data as ``stockbot report --date DAY --json``."""
    found = await load_daily_report(state_of(request).uow_factory, day)
    if found.report is None:
        raise HTTPException(404, f"no daily report for {day}")
    return jsonable(report_data(found.report))


@router.get("/equity", summary="End-of-session equity and drawdown over a range of sessions")
async def equity(request: Request, date_from: Day = None, date_to: Day = None) -> Any:
    """Columns: ``dates``, ``equity_krw``, ``drawdown_pct`` (from the running peak since the first session)."""
    async with state_of(request).uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None)
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False) if daemon else []
    start, end = (date.fromisoformat(d) if d else None for d in (date_from, date_to))
    return jsonable(equity_data(equity_points(settlements, start, end)))


@router.get("/parameters", summary="ACTIVE strategy parameter rows and the ones in force today")
async def parameters(request: Request) -> Any:
    state = state_of(request)
    async with state.history() as history:
        rows = await history.params_rows("ACTIVE")
    async with state.uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None)
        today = (
            daemon.trading_date
            if daemon and daemon.trading_date
            else state.config.trading_day.date_of(SystemClock().now())
        )
        in_force = await uow.strategies.active_params(STRATEGY_ID, today)
    return jsonable(
        {
            "strategy_id": STRATEGY_ID,
            "trading_date": today,
            "in_force": in_force,
            "active": [
                {
                    "id": r.id,
                    "strategy_id": r.strategy_id,
                    "effective_date": r.effective_date,
                    "version": r.version,
                    "params": r.params,
                    "source": r.source,
                    "ts_created": r.ts_created,
                }
                for r in rows
            ],
        }
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> Any:
    """The OpenAPI description of these endpoints (behind the login, like them)."""
    return request.app.openapi()
