"""The controls: kill (halt, cancel open orders, or flatten) and resume, each behind a confirmation page, for
every daemon (scope ``*``) or one venue's (``krx``, ``upbit``), as ``stockbot kill [--venue]`` and ``resume``.

They do what ``stockbot kill`` and ``stockbot resume`` do (`entrypoints.control.set_kill_switch`): the switch is
set in the database, with a ``kill_switch_set`` event naming the dashboard and the remote address; a running
daemon hears of it within its poll (0.25 s) or at once on PostgreSQL. Every POST needs the session's CSRF token;
in read-only mode the controls are hidden and refused (403).
"""

from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stock_manager.entrypoints.control import set_kill_switch
from stock_manager.entrypoints.dashboard.app import require_login, state_of
from stock_manager.entrypoints.dashboard.pages import render
from stock_manager.entrypoints.dashboard.security import CSRF_FIELD, csrf_valid, remote_address
from stock_manager.entrypoints.dashboard.venues import EVERY_VENUE, kill_scopes
from stock_manager.service_layer.ports.records import KILL_SWITCH_ACTIONS

log = structlog.get_logger("stockbot.dashboard")

router = APIRouter(prefix="/control", include_in_schema=False, dependencies=[Depends(require_login)])

#: What each kill action does, as the confirmation page says it.
ACTION_TEXT = {
    "halt": "Send nothing new. Working orders stay at the broker.",
    "cancel_open": "Send nothing new and cancel every working order.",
    "flatten": "Cancel working orders and sell every position at market (while the session takes orders).",
}


def require_controls(request: Request) -> None:
    """Refuse a control on a read-only dashboard (403)."""
    if state_of(request).config.read_only:
        raise HTTPException(403, "this dashboard is read-only")


def _scope(request: Request, scope: str) -> str:
    if scope not in kill_scopes(state_of(request).config):
        raise HTTPException(422, f"scope must be one of {', '.join(kill_scopes(state_of(request).config))}")
    return scope


def _scope_label(request: Request, scope: str) -> str:
    if scope == EVERY_VENUE:
        return "every daemon"
    venue = next(v for v in state_of(request).config.venues if v.name == scope)
    return f"the {venue.label} daemon"


@router.get("/kill")
async def confirm_kill(request: Request, action: str = "halt", scope: str | None = None) -> HTMLResponse:
    require_controls(request)
    if action not in KILL_SWITCH_ACTIONS:
        action = "halt"
    chosen = _scope(request, scope) if scope else EVERY_VENUE
    return render(
        request,
        "confirm_kill.html",
        action=action,
        actions=ACTION_TEXT,
        scope=chosen,
        scopes=[(s, _scope_label(request, s)) for s in kill_scopes(state_of(request).config)],
    )


@router.post("/kill")
async def kill(
    request: Request,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    action: Annotated[str, Form()] = "halt",
    reason: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = EVERY_VENUE,
) -> Response:
    require_controls(request)
    if not csrf_valid(request, csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    if action not in KILL_SWITCH_ACTIONS:
        raise HTTPException(422, f"action must be one of {', '.join(KILL_SWITCH_ACTIONS)}")
    if confirm != "yes":
        raise HTTPException(422, "the kill was not confirmed")
    _scope(request, scope)
    who = remote_address(request)
    await set_kill_switch(
        state_of(request).control_uow_factory,
        active=True,
        action=action,
        reason=reason.strip() or "dashboard kill",
        set_by="dashboard",
        who=who,
        scope=scope,
    )
    log.warning("dashboard_kill", action=action, who=who, scope=scope)
    return RedirectResponse(f"/?done=kill&scope={quote(scope)}", status_code=303)


@router.get("/resume")
async def confirm_resume(request: Request, scope: str | None = None) -> HTMLResponse:
    require_controls(request)
    chosen = _scope(request, scope) if scope else EVERY_VENUE
    return render(request, "confirm_resume.html", scope=chosen, scope_label=_scope_label(request, chosen))


@router.post("/resume")
async def resume(
    request: Request,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    confirm: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = EVERY_VENUE,
) -> Response:
    """Clear the switch of `scope`; ``*`` clears every switch (what ``stockbot resume`` does)."""
    require_controls(request)
    if not csrf_valid(request, csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    if confirm != "yes":
        raise HTTPException(422, "the resume was not confirmed")
    _scope(request, scope)
    who = remote_address(request)
    await set_kill_switch(
        state_of(request).control_uow_factory,
        active=False,
        reason="dashboard resume",
        set_by="dashboard",
        who=who,
        scope=scope,
    )
    log.warning("dashboard_resume", who=who, scope=scope)
    return RedirectResponse(f"/?done=resume&scope={quote(scope)}", status_code=303)
