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
from stock_manager.entrypoints.dashboard.app import require_login, state_of
from stock_manager.entrypoints.dashboard.pages import Day, order_filter
from stock_manager.entrypoints.dashboard.present import (
    equity_data,
    event_data,
    order_data,
    overview_data,
    timeline_data,
)
from stock_manager.entrypoints.dashboard.venues import VenueConfig, venue_named
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

#: The ``venue`` query parameter of the endpoints that read one account.
VenueQuery = Annotated[
    str | None,
    Query(description="krx or upbit (kis is krx): the latest daemon of that venue; default: the latest daemon"),
]


def venue_of(request: Request, venue: str | None) -> VenueConfig | None:
    """Return the venue asked for (None: the latest daemon's); 422 for an unknown one."""
    return venue_named(state_of(request).config, venue)


def _name(venue: VenueConfig | None) -> str | None:
    return venue.name if venue is not None else None


@router.get("/status", summary="Mode, daemon state, kill switch, positions, open orders, today's realized PnL")
async def status(request: Request, venue: VenueQuery = None) -> Any:
    """The same data as ``stockbot status --json`` (``--venue``)."""
    scope = _name(venue_of(request, venue))
    return jsonable(status_data(await status_report(state_of(request).uow_factory, venue=scope)))


@router.get("/overview", summary="The overview page: status plus marked positions, equity, drawdown, fills")
async def overview_json(request: Request, venue: VenueQuery = None) -> Any:
    """``status`` is ``stockbot status --json``; positions are marked at the last price the database knows (the
    last close's snapshot or a later fill), named in ``mark_source``; ``venue`` is the account's."""
    found = await overview(state_of(request).uow_factory, venue=_name(venue_of(request, venue)))
    return jsonable({**overview_data(found), "venue": found.status.venue})


@router.get("/orders", summary="Orders with filters, newest first")
async def orders(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    symbol: str | None = None,
    strategy: str | None = None,
    status: Annotated[str | None, Query(description="comma-separated: NEW,SENT,…")] = None,
    venue: VenueQuery = None,
) -> Any:
    """Orders of the latest daemon's account (of ``venue``); dates are the venue's trading dates, both ends
    included."""
    state = state_of(request)
    where = order_filter(date_from, date_to, symbol, strategy, status)
    found = await search_orders(state.uow_factory, state.history, where, _name(venue_of(request, venue)))
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
    venue: VenueQuery = None,
) -> Any:
    """Newest first; pass the newest id seen as ``after_id`` to get only what came after it. With ``venue``: that
    venue's latest daemon's events and those of no account; without it, every venue's."""
    if severity not in SEVERITIES:
        raise HTTPException(422, f"severity must be one of {', '.join(SEVERITIES)}")
    state = state_of(request)
    account = None
    if (scope := _name(venue_of(request, venue))) is not None:
        async with state.uow_factory() as uow:
            daemon = await uow.control.get_daemon_state(None, scope)
        account = daemon.account_id if daemon is not None else None
    async with state.history() as history:
        found = await history.events(min_severity=severity, after_id=after_id, limit=limit, account_id=account)
    return jsonable({"events": [event_data(e) for e in found]})


@router.get("/risk", summary="Risk limits in force, their source, today's usage and denials by rule")
async def risk(request: Request, venue: VenueQuery = None) -> Any:
    """The same data as ``stockbot risk show --json`` (``--venue``: that venue's settings and account)."""
    state = state_of(request)
    chosen = venue_of(request, venue)
    limits, day = (
        (chosen.risk_limits, chosen.trading_day) if chosen else (state.config.risk_limits, state.config.trading_day)
    )
    report = await risk_report(state.uow_factory, limits, SystemClock().now(), day, _name(chosen))
    return jsonable(risk_data(report))


@router.get("/reports", summary="Every settled session of the latest daemon's account, newest first")
async def reports(request: Request, venue: VenueQuery = None) -> Any:
    async with state_of(request).uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, _name(venue_of(request, venue)))
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False) if daemon else []
    return jsonable({"sessions": [settlement_data(s) for s in reversed(settlements)]})


@router.get("/reports/{day}", summary="One session's daily report")
async def report(request: Request, day: date, venue: VenueQuery = None) -> Any:
    """The same data as ``stockbot report --date DAY --json``."""
    found = await load_daily_report(state_of(request).uow_factory, day, venue=_name(venue_of(request, venue)))
    if found.report is None:
        raise HTTPException(404, f"no daily report for {day}")
    return jsonable(report_data(found.report))


@router.get("/equity", summary="End-of-session equity and drawdown over a range of sessions")
async def equity(request: Request, date_from: Day = None, date_to: Day = None, venue: VenueQuery = None) -> Any:
    """Columns: ``dates``, ``equity_krw``, ``drawdown_pct`` (from the running peak since the first session)."""
    async with state_of(request).uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, _name(venue_of(request, venue)))
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False) if daemon else []
    start, end = (date.fromisoformat(d) if d else None for d in (date_from, date_to))
    return jsonable(equity_data(equity_points(settlements, start, end)))


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> Any:
    """The OpenAPI description of these endpoints (behind the login, like them)."""
    return request.app.openapi()
