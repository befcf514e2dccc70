"""The parameters page (every strategy's parameters in force, the ACTIVE rows, the drafts), one draft with its
evidence, and the trade journal of a session.

A draft is shown as ``stockbot params show`` shows it: what it changes against the parameters in force on the
next session its venue has not opened, its out-of-sample backtests against the ACTIVE parameters, the walk-forward
windows and every rule of the gate. Approving and rejecting are in `param_controls`.
"""

from datetime import date
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.notifications.display import shown
from stock_manager.adapters.observability.masking import register_account
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.domain.strategies.registry import STRATEGIES
from stock_manager.entrypoints.dashboard.app import DashboardState, require_login, state_of
from stock_manager.entrypoints.dashboard.pages import Day, page_venue, render, venue_name
from stock_manager.entrypoints.dashboard.venues import VenueConfig
from stock_manager.service_layer.ports.ai_storage import ParamDraft
from stock_manager.service_layer.views.params import DraftDetail, StrategyInForce, draft_detail, params_in_force

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_login)])

#: Evidence figures shown for a draft, in order (those of ``stockbot params show``).
FIGURES = (
    "return_pct",
    "sharpe",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "costs_krw",
    "end_equity_krw",
    "kill_switch",
)
#: Drafts a person may still decide on.
WAITING = ("VALIDATED", "INVALID")


def venue_of_strategy(state: DashboardState, strategy_id: str) -> VenueConfig:
    """Return the venue that runs `strategy_id` (the first whose strategies name it; else the first venue)."""
    venues = state.config.venues
    return next((v for v in venues if strategy_id in v.strategies), venues[0])


async def venue_today(state: DashboardState, venue: VenueConfig) -> date:
    """Return the session the venue's latest daemon is on, else the venue's trading date of now."""
    async with state.uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, venue.name)
    if daemon is not None and daemon.trading_date is not None:
        return daemon.trading_date
    return venue.trading_day.date_of(SystemClock().now())


def _settings(state: DashboardState, venue: VenueConfig) -> Any:
    from stock_manager.config.settings import VenueName
    from stock_manager.entrypoints.dashboard.venues import settings_for

    if state.config.settings is None:
        raise HTTPException(503, "this dashboard was started without settings: use `stockbot params`")
    return settings_for(state.config.settings, VenueName(venue.option))


def venue_specs(state: DashboardState, venue: VenueConfig) -> dict[str, StrategySpec]:
    """Return the strategies of `venue`'s account by id (as ``stockbot params approve`` reads them)."""
    from stock_manager.entrypoints.bootstrap import strategy_specs

    return {s.strategy_id: s for s in strategy_specs(_settings(state, venue))}


async def earliest(state: DashboardState, venue: VenueConfig) -> date:
    """Return the first session `venue`'s daemon has not opened (``stockbot params approve``'s default date).

    Raises
    ------
    ConfigurationError
        When the venue's calendar has no session after that.
    """
    from stock_manager.entrypoints.ai_jobs import earliest_session

    return await earliest_session(_settings(state, venue), SimpleNamespace(uow_factory=state.uow_factory))


async def detail_of(state: DashboardState, draft_id: int) -> tuple[DraftDetail, VenueConfig]:
    """Return draft `draft_id` against the parameters in force on its venue's next session.

    Raises
    ------
    HTTPException
        404 for an unknown draft (or one of a strategy no venue runs).
    """
    async with state.uow_factory() as uow:
        draft = await uow.ai.get_draft(draft_id)
    if draft is None:
        raise HTTPException(404, f"no parameter draft {draft_id}")
    venue = venue_of_strategy(state, draft.strategy_id)
    try:
        on = await earliest(state, venue)
        params_file = state.config.settings.strategy_params_file if state.config.settings else None
        detail = await draft_detail(state.uow_factory, draft_id, STRATEGIES, on, params_file)
    except ConfigurationError as e:
        raise HTTPException(404, str(e)) from None
    return detail, venue


async def strategies_in_force(state: DashboardState) -> list[tuple[VenueConfig, StrategyInForce]]:
    """Return every strategy of the registry with the parameters it runs with today on its venue."""
    wanted: list[tuple[StrategySpec, date]] = []
    venues = []
    for spec in STRATEGIES.values():
        venue = venue_of_strategy(state, spec.strategy_id)
        wanted.append((spec, await venue_today(state, venue)))
        venues.append(venue)
    params_file = state.config.settings.strategy_params_file if state.config.settings else None
    found = await params_in_force(state.uow_factory, wanted, params_file)
    return list(zip(venues, found, strict=True))


def oos_line(draft: ParamDraft) -> str:
    """Return the out-of-sample objective of the proposal against the ACTIVE parameters' (``0.09 vs -1.34``)."""
    oos = (draft.evidence or {}).get("out_of_sample") or {}
    if not oos:
        return "-"
    return f"{oos.get('proposed', '-')} vs {oos.get('active', '-')} ({(draft.evidence or {}).get('objective', '')})"


def failed_rules(draft: ParamDraft) -> list[str]:
    """Return the reasons of the gate's failed rules (empty for a VALIDATED draft)."""
    return [shown(str(c.get("reason", ""))) for c in (draft.validation or {}).get("checks", []) if not c.get("passed")]


@router.get("/parameters")
async def parameters_page(request: Request) -> HTMLResponse:
    state = state_of(request)
    async with state.history() as history:
        active = await history.params_rows("ACTIVE")
    async with state.uow_factory() as uow:
        drafts = await uow.ai.list_drafts()
    return render(
        request,
        "parameters.html",
        in_force=await strategies_in_force(state),
        active=active,
        drafts=drafts,
        waiting=WAITING,
        oos_line=oos_line,
        failed_rules=failed_rules,
    )


@router.get("/parameters/drafts/{draft_id}")
async def draft_page(request: Request, draft_id: int) -> HTMLResponse:
    state = state_of(request)
    detail, venue = await detail_of(state, draft_id)
    return render(
        request,
        "draft.html",
        d=detail.draft,
        detail=detail,
        draft_venue=venue,
        figures=FIGURES,
        evidence=detail.draft.evidence or {},
        checks=(detail.draft.validation or {}).get("checks", []),
    )


@router.get("/journal")
async def journal_page(request: Request, day: Day = None) -> HTMLResponse:
    """The newest journal of a session (default: the last journaled) of the venue's latest daemon's account."""
    state = state_of(request)
    venue = await page_venue(request)
    async with state.uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None, venue_name(venue))
        account = daemon.account_id if daemon is not None else None
        dates = await uow.ai.journal_dates(account) if account else []
        wanted = date.fromisoformat(day) if day else (dates[-1] if dates else None)
        found = await uow.ai.latest_journal(wanted, account) if wanted and account else None
    register_account(account)
    return render(request, "journal.html", journal=found, dates=list(reversed(dates)), wanted=wanted, shown_venue=venue)
