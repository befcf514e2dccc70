"""JSON endpoints of every venue at once, the strategy parameters, the drafts and the trade journal (documented by
OpenAPI with the rest, ``/api/openapi.json``).

``/api/venues``: each venue's latest daemon and the kill switch it honours, and the switch of every daemon.
``/api/parameters``: every strategy's parameters in force on its venue's day, and the ACTIVE rows.
``/api/drafts`` and ``/api/drafts/{id}``: the shapes of ``stockbot params drafts --json`` and ``params show --json``
(times KST, as there). ``/api/journal``: ``stockbot ai journal show --json``. Accounts are masked.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from stock_manager.adapters.notifications.display import account as shown_account
from stock_manager.adapters.observability.masking import register_account
from stock_manager.entrypoints.ai_views import draft_data, journal_data
from stock_manager.entrypoints.dashboard.api import VenueQuery, venue_of
from stock_manager.entrypoints.dashboard.app import require_login, state_of
from stock_manager.entrypoints.dashboard.pages import Day
from stock_manager.entrypoints.dashboard.params_pages import detail_of, strategies_in_force
from stock_manager.service_layer.events import jsonable
from stock_manager.service_layer.views.venues import venue_board, venue_of_latest

router = APIRouter(prefix="/api", tags=["views"], dependencies=[Depends(require_login)])


def _switch(s: Any) -> dict[str, Any]:
    return {
        "scope": s.scope,
        "active": s.active,
        "action": s.action,
        "reason": s.reason,
        "set_by": s.set_by,
        "ts_changed": s.ts_changed,
    }


@router.get("/venues", summary="Every venue: its latest daemon (state, heartbeat) and kill switch")
async def venues(request: Request) -> Any:
    """``kill_switch`` is the switch the venue's daemon honours (``*`` when set, else its own); ``own_switch`` the
    venue's own; ``every_venue_switch`` the one that stops every daemon. ``latest`` is the venue of the most
    recently started daemon (what the pages show without a choice)."""
    state = state_of(request)
    board = await venue_board(state.uow_factory, [v.name for v in state.config.venues])
    labels = {v.name: v.label for v in state.config.venues}
    rows = []
    for v in board.venues:
        d = v.daemon
        register_account(d.account_id if d else None)
        rows.append(
            {
                "venue": v.venue,
                "label": labels.get(v.venue, v.venue),
                "daemon": None
                if d is None
                else {
                    "account_id": shown_account(d.account_id),
                    "mode": d.mode,
                    "trading_state": d.trading_state,
                    "stop_reason": d.stop_reason,
                    "trading_date": d.trading_date,
                    "pid": d.pid,
                    "ts_started": d.ts_started,
                    "ts_heartbeat": d.ts_heartbeat,
                },
                "kill_switch": _switch(v.kill_switch),
                "own_switch": _switch(v.own_switch) if v.own_switch else None,
            }
        )
    return jsonable(
        {
            "venues": rows,
            "every_venue_switch": _switch(board.every_venue_switch),
            "latest": await venue_of_latest(state.uow_factory),
        }
    )


@router.get("/parameters", summary="Every strategy's parameters in force, and the ACTIVE strategy_params rows")
async def parameters(request: Request) -> Any:
    """``strategies``: each strategy of the registry with its venue, the day (its venue's latest daemon's session,
    else the venue's date of now), the parameters the daemon runs with then and their ``source``
    (``strategy_params``, a file, or ``built-in defaults`` with ``fallback`` true)."""
    state = state_of(request)
    async with state.history() as history:
        rows = await history.params_rows("ACTIVE")
    return jsonable(
        {
            "strategies": [
                {
                    "strategy_id": p.strategy_id,
                    "name": p.name,
                    "venue": venue.name,
                    "on": p.on,
                    "params": p.params,
                    "source": p.source,
                    "fallback": p.fallback,
                    "problem": p.problem,
                }
                for venue, p in await strategies_in_force(state)
            ],
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


@router.get("/drafts", summary="Parameter drafts, newest first (stockbot params drafts --json)")
async def drafts(
    request: Request,
    status: Annotated[str | None, Query(description="comma-separated: VALIDATED,INVALID,APPROVED,…")] = None,
) -> Any:
    """Every draft (of the statuses given) with its evidence and the gate's verdict; times KST as the CLI's."""
    wanted = tuple(s for s in (status or "").split(",") if s) or None
    async with state_of(request).uow_factory() as uow:
        found = await uow.ai.list_drafts(wanted)
    return jsonable({"drafts": [draft_data(d) for d in found]})


@router.get("/drafts/{draft_id}", summary="One draft against the parameters in force (stockbot params show --json)")
async def draft(request: Request, draft_id: int) -> Any:
    """``in_force`` are the parameters on ``in_force_on``, the next session the draft's venue has not opened."""
    detail, venue = await detail_of(state_of(request), draft_id)
    return jsonable(
        {
            **draft_data(detail.draft),
            "venue": venue.name,
            "in_force_on": detail.on,
            "in_force": detail.active,
            "in_force_source": detail.active_source,
            "changes": [{"name": n, "in_force": a, "proposed": b} for n, a, b in detail.changes],
        }
    )


@router.get("/journal", summary="The trade journal of a session (stockbot ai journal show --json)")
async def journal(request: Request, day: Day = None, venue: VenueQuery = None) -> Any:
    """The newest version of the journal of `day` (default: the last journaled) of the venue's latest daemon's
    account; ``dates`` lists every journaled session."""
    chosen = venue_of(request, venue)
    async with state_of(request).uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, chosen.name if chosen else None)
        if daemon is None:
            raise HTTPException(404, "no daemon has run against this database")
        dates = await uow.ai.journal_dates(daemon.account_id)
        wanted = date.fromisoformat(day) if day else (dates[-1] if dates else None)
        found = await uow.ai.latest_journal(wanted, daemon.account_id) if wanted else None
    register_account(daemon.account_id)
    if found is None:
        raise HTTPException(404, f"no journal for {wanted or 'any session'}")
    return jsonable({"journal": journal_data(found), "dates": dates})
