"""The dashboard's HTML pages and the fragments their live parts re-fetch (``/fragments/...``), the login, and
the Server-Sent Events stream that says when to re-fetch."""

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.masking import register_account
from stock_manager.domain.order_status import OrderStatus
from stock_manager.entrypoints.dashboard.app import is_authenticated, require_login, state_of
from stock_manager.entrypoints.dashboard.security import (
    CSRF_FIELD,
    csrf_token,
    csrf_valid,
    remote_address,
    start_authenticated_session,
    verify_password,
)
from stock_manager.entrypoints.dashboard.venues import VenueConfig, selected_venue, venue_named
from stock_manager.service_layer.ports.history import SEVERITIES, OrderFilter
from stock_manager.service_layer.views.orders import order_timeline, search_orders
from stock_manager.service_layer.views.overview import Overview, equity_points, overview
from stock_manager.service_layer.views.reports import load_daily_report
from stock_manager.service_layer.views.risk import risk_report
from stock_manager.service_layer.views.venues import venue_board, venue_of_latest

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(require_login)])

Day = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` with the page's common context (CSRF token, the current path, the venue selected and
    the venue whose account the page shows, `shown_venue`, which decides how times and quantities read)."""
    selected = selected_venue(request) if is_authenticated(request) else None
    return state_of(request).templates.TemplateResponse(
        request,
        template,
        {
            "csrf_token": csrf_token(request),
            "path": request.url.path,
            "logged_in": is_authenticated(request),
            "selected_venue": selected,
            "shown_venue": selected,
            **context,
        },
        status_code=status_code,
    )


async def page_venue(request: Request) -> VenueConfig | None:
    """Return the venue a page shows: the one selected, else the latest daemon's (None before any daemon)."""
    selected = selected_venue(request)
    if selected is not None:
        return selected
    latest = await venue_of_latest(state_of(request).uow_factory)
    return next((v for v in state_of(request).config.venues if v.name == latest), None)


def venue_name(venue: VenueConfig | None) -> str | None:
    """Return the database's name of `venue` (what the views filter on), None for None."""
    return venue.name if venue is not None else None


def order_filter(
    date_from: str | None, date_to: str | None, symbol: str | None, strategy: str | None, status: str | None
) -> OrderFilter:
    """Return the filter of the orders page's query.

    Raises
    ------
    HTTPException
        422 for a status that is not an order status.
    """
    statuses = tuple(s for s in (status or "").split(",") if s)
    if bad := [s for s in statuses if s not in OrderStatus.__members__]:
        raise HTTPException(422, f"unknown order status {', '.join(bad)}")
    return OrderFilter(
        date.fromisoformat(date_from) if date_from else None,
        date.fromisoformat(date_to) if date_to else None,
        (symbol or "").strip() or None,
        strategy or None,
        statuses,
    )


# -- LOGIN -----------------------------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if is_authenticated(request) and state_of(request).config.password_hash is not None:
        return RedirectResponse(next if next.startswith("/") else "/", status_code=303)
    return render(request, "login.html", next=next if next.startswith("/") and not next.startswith("//") else "/")


@router.post("/login")
async def login(
    request: Request,
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    import asyncio

    state = state_of(request)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if not csrf_valid(request, csrf):
        return render(request, "login.html", 403, next=target, error="The form expired; try again.")
    if state.config.password_hash is None:
        return RedirectResponse(target, status_code=303)
    address = remote_address(request)
    wait = state.limiter.retry_after_secs(address)
    if wait > 0:
        response = render(
            request, "login.html", 429, next=target, error=f"Too many failed logins; try again in {wait:.0f} s."
        )
        response.headers["retry-after"] = f"{wait:.0f}"
        return response
    if not await asyncio.to_thread(verify_password, state.config.password_hash, password):
        state.limiter.failed(address)
        return render(request, "login.html", 401, next=target, error="Wrong password.")
    state.limiter.succeeded(address)
    start_authenticated_session(request)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    if not csrf_valid(request, csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    request.session.clear()
    return RedirectResponse("/login" if state_of(request).config.password_hash else "/", status_code=303)


# -- PAGES -----------------------------------------------------------------------------------------------------


@pages.get("/")
async def overview_page(request: Request) -> HTMLResponse:
    return render(request, "overview.html", **await _overview(request))


@pages.get("/fragments/overview")
async def overview_fragment(request: Request) -> HTMLResponse:
    return render(request, "_overview.html", **await _overview(request))


async def _overview(request: Request) -> dict[str, Any]:
    state = state_of(request)
    venue = await page_venue(request)
    found: Overview = await overview(state.uow_factory, venue=venue_name(venue))
    register_account(found.status.daemon.account_id if found.status.daemon else None)  # masked in messages too
    board = await venue_board(state.uow_factory, [v.name for v in state.config.venues])
    for each in board.venues:
        register_account(each.daemon.account_id if each.daemon else None)
    configs = {v.name: v for v in state.config.venues}
    return {"o": found, "board": board, "venue_configs": configs, "shown_venue": venue}


@pages.get("/orders")
async def orders_page(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    symbol: str | None = None,
    strategy: str | None = None,
    status: str | None = None,
) -> HTMLResponse:
    where = order_filter(date_from, date_to, symbol, strategy, status)
    state = state_of(request)
    venue = await page_venue(request)
    found = await search_orders(state.uow_factory, state.history, where, venue_name(venue))
    register_account(found.account_id)
    query = urlencode(
        {
            k: v
            for k, v in {
                "date_from": date_from,
                "date_to": date_to,
                "symbol": symbol,
                "strategy": strategy,
                "status": status,
            }.items()
            if v
        }
    )
    return render(
        request,
        "orders.html",
        found=found,
        query=query,
        statuses=[s.value for s in OrderStatus],
        shown_venue=venue,
        selected={
            "date_from": date_from or "",
            "date_to": date_to or "",
            "symbol": symbol or "",
            "strategy": strategy or "",
            "status": status or "",
        },
    )


@pages.get("/fragments/orders")
async def orders_fragment(
    request: Request,
    date_from: Day = None,
    date_to: Day = None,
    symbol: str | None = None,
    strategy: str | None = None,
    status: str | None = None,
) -> HTMLResponse:
    state = state_of(request)
    venue = await page_venue(request)
    found = await search_orders(
        state.uow_factory, state.history, order_filter(date_from, date_to, symbol, strategy, status), venue_name(venue)
    )
    register_account(found.account_id)
    return render(request, "_orders.html", found=found, shown_venue=venue)


@pages.get("/orders/{order_id}")
async def order_page(request: Request, order_id: int) -> HTMLResponse:
    state = state_of(request)
    timeline = await order_timeline(state.uow_factory, state.history, order_id)
    if timeline is None:
        raise HTTPException(404, f"no order {order_id}")
    register_account(timeline.order.account_id)
    async with state.uow_factory() as uow:
        venue = venue_named(state.config, await uow.accounts.venue_of(timeline.order.account_id))
    return render(request, "order.html", t=timeline, shown_venue=venue)


@pages.get("/events")
async def events_page(request: Request, severity: str = "INFO") -> HTMLResponse:
    return render(request, "events.html", severity=severity, severities=SEVERITIES, **await _events(request, severity))


@pages.get("/fragments/events")
async def events_fragment(request: Request, severity: str = "INFO") -> HTMLResponse:
    return render(request, "_events.html", **await _events(request, severity))


async def _events(request: Request, severity: str) -> dict[str, Any]:
    """The newest events at or above `severity`: of the selected venue's account (and those of no account), or
    of every venue when none is selected; with each account's venue (an Upbit event reads in KST and UTC)."""
    if severity not in SEVERITIES:
        raise HTTPException(422, f"severity must be one of {', '.join(SEVERITIES)}")
    state = state_of(request)
    venue = selected_venue(request)
    configs = {v.name: v for v in state.config.venues}
    async with state.uow_factory() as uow:
        daemons = await uow.control.list_daemon_states()
        venues = {d.account_id: configs.get(await uow.accounts.venue_of(d.account_id) or "") for d in daemons}
    for account_id in venues:
        register_account(account_id)  # masked in the messages
    account = next((a for a, v in venues.items() if venue and v and v.name == venue.name), None)
    async with state.history() as history:
        if venue is not None and account is None:
            found = []  # no daemon of that venue yet
        else:
            found = await history.events(min_severity=severity, limit=200, account_id=account)
    return {"events": found, "event_venues": venues}


@pages.get("/risk")
async def risk_page(request: Request) -> HTMLResponse:
    state = state_of(request)
    venue = await page_venue(request)
    limits, day = (
        (venue.risk_limits, venue.trading_day) if venue else (state.config.risk_limits, state.config.trading_day)
    )
    report = await risk_report(state.uow_factory, limits, SystemClock().now(), day, venue_name(venue))
    register_account(report.account_id)
    return render(request, "risk.html", r=report, shown_venue=venue)


@pages.get("/reports")
async def reports_page(request: Request, date_from: Day = None, date_to: Day = None) -> HTMLResponse:
    state = state_of(request)
    venue = await page_venue(request)
    async with state.uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, venue_name(venue))
        settlements = await uow.settlements.list_all(daemon.account_id, with_summary=False) if daemon else []
        journaled = set(await uow.ai.journal_dates(daemon.account_id)) if daemon else set()
    start, end = (date.fromisoformat(d) if d else None for d in (date_from, date_to))
    shown = [
        s for s in settlements if (start is None or s.trading_date >= start) and (end is None or s.trading_date <= end)
    ]
    async with state.history() as history:
        runs = await history.research_runs()
    return render(
        request,
        "reports.html",
        settlements=list(reversed(shown)),
        runs=runs,
        journaled=journaled,
        shown_venue=venue,
        points=equity_points(settlements, start, end),
        date_from=date_from or "",
        date_to=date_to or "",
        query=urlencode(
            {k: v for k, v in {"date_from": date_from, "date_to": date_to, "venue": venue_name(venue)}.items() if v}
        ),
    )


@pages.get("/reports/{day}")
async def report_page(request: Request, day: date) -> HTMLResponse:
    venue = await page_venue(request)
    found = await load_daily_report(state_of(request).uow_factory, day, venue=venue_name(venue))
    if found.report is None:
        raise HTTPException(404, f"no daily report for {day}")
    register_account(found.account_id)
    async with state_of(request).uow_factory() as uow:
        journaled = day in await uow.ai.journal_dates(found.account_id)
    return render(request, "report.html", r=found.report, shown_venue=venue, journaled=journaled)


@pages.get("/api-docs")
async def api_docs_page(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    endpoints = [
        (path, method.upper(), op.get("summary", ""), op.get("description", ""))
        for path, methods in schema.get("paths", {}).items()
        for method, op in methods.items()
    ]
    return render(request, "api_docs.html", endpoints=endpoints)


@pages.get("/stream")
async def stream(request: Request) -> StreamingResponse:
    watcher = state_of(request).watcher

    async def events() -> Any:
        async for version in watcher.listen():
            if await request.is_disconnected():
                return
            yield f"event: changed\ndata: {version}\n\n" if version >= 0 else ": keep-alive\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )


router.include_router(pages)
