"""Approving and rejecting a parameter draft from the dashboard, each behind a confirmation page with a reason.

They call the use cases behind ``stockbot params approve`` and ``reject`` (`service_layer.ai.approval`) with the
same rules: only a VALIDATED draft is approved, from a session after the data it saw and not before the next
session its venue's daemon has not opened (the default), with the strategy's own validation; a reason is
required; the decision, its ``params_approved``/``params_rejected`` event and the history name who decided as
``dashboard <remote address>``. Every POST needs the session's CSRF token; in read-only mode the controls are
hidden and refused (403).
"""

from datetime import date
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.dashboard.app import require_login, state_of
from stock_manager.entrypoints.dashboard.controls import require_controls
from stock_manager.entrypoints.dashboard.pages import render
from stock_manager.entrypoints.dashboard.params_pages import detail_of, earliest, venue_specs
from stock_manager.entrypoints.dashboard.security import CSRF_FIELD, csrf_valid, remote_address
from stock_manager.service_layer.ai.approval import approve_draft, reject_draft
from stock_manager.service_layer.ports.notifications import NullNotifier

log = structlog.get_logger("stockbot.dashboard")

router = APIRouter(prefix="/control/drafts", include_in_schema=False, dependencies=[Depends(require_login)])

DECISIONS = ("approve", "reject")


def decider(request: Request) -> str:
    """Return who decides, as the history records it: ``dashboard <remote address>``."""
    return f"dashboard {remote_address(request)}"


async def _confirm_page(
    request: Request, draft_id: int, decision: str, status_code: int = 200, error: str = "", reason: str = ""
) -> HTMLResponse:
    state = state_of(request)
    detail, venue = await detail_of(state, draft_id)
    try:
        first = await earliest(state, venue)
    except ConfigurationError as e:
        first, error = None, error or str(e)
    return render(
        request,
        "confirm_draft.html",
        status_code,
        detail=detail,
        d=detail.draft,
        decision=decision,
        earliest=first,
        who=decider(request),
        error=error,
        reason=reason,
    )


@router.get("/{draft_id}/{decision}")
async def confirm_decision(request: Request, draft_id: int, decision: str) -> HTMLResponse:
    require_controls(request)
    if decision not in DECISIONS:
        raise HTTPException(404, f"no such decision {decision!r}")
    return await _confirm_page(request, draft_id, decision)


@router.post("/{draft_id}/{decision}")
async def decide(
    request: Request,
    draft_id: int,
    decision: str,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    date_from: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    require_controls(request)
    if decision not in DECISIONS:
        raise HTTPException(404, f"no such decision {decision!r}")
    if not csrf_valid(request, csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    if confirm != "yes":
        raise HTTPException(422, f"the {decision} was not confirmed")
    state = state_of(request)
    detail, venue = await detail_of(state, draft_id)
    who = decider(request)
    try:
        if not reason.strip():
            raise ConfigurationError("a reason is required: say why (it is kept in the draft's history)")
        if decision == "approve":
            first = await earliest(state, venue)
            try:
                effective = date.fromisoformat(date_from) if date_from.strip() else first
            except ValueError:
                raise ConfigurationError(f"the first session must be YYYY-MM-DD, was {date_from!r}") from None
            await approve_draft(
                state.control_uow_factory,
                NullNotifier(),
                draft_id,
                specs=venue_specs(state, venue),
                effective_from=effective,
                earliest=first,
                by=who,
                reason=reason.strip(),
                ts=SystemClock().now(),
            )
        else:
            await reject_draft(
                state.control_uow_factory,
                NullNotifier(),
                draft_id,
                by=who,
                reason=reason.strip(),
                ts=SystemClock().now(),
            )
    except ConfigurationError as e:
        return await _confirm_page(request, draft_id, decision, 422, error=str(e), reason=reason)
    log.warning(f"dashboard_draft_{decision}", draft_id=draft_id, strategy_id=detail.draft.strategy_id, who=who)
    return RedirectResponse(f"/parameters/drafts/{draft_id}?done={decision}", status_code=303)
