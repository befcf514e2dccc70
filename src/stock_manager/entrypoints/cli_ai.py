"""The AI batch jobs and parameter approval on the command line (``stockbot ai ...``, ``stockbot params ...``).

Thin like the rest of the CLI: read options, build through the composition root (`ai_jobs`), call the service
layer, print (`ai_views`). Approving and rejecting ask for confirmation (``--yes`` skips it) and need a
reason; approval is never automatic. Exit codes: see `cli_app`.
"""

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli_app import DbUrl, JsonOut, app, console, guarded
from stock_manager.entrypoints.cli_app import settings as _settings

ai_app = typer.Typer(
    help="AI batch jobs: the trade journal and parameter drafts (they never place orders).", no_args_is_help=True
)
journal_app = typer.Typer(help="The trade journal (매매일지) of a session: write it, or show it with `show`.")
params_app = typer.Typer(
    help="Strategy parameter drafts: list, show, approve, reject; the history of changes.", no_args_is_help=True
)
ai_app.add_typer(journal_app, name="journal")
app.add_typer(ai_app, name="ai")
app.add_typer(params_app, name="params")

Day = Annotated[str | None, typer.Option("--date", help="Session, YYYY-MM-DD (default: the last settled).")]
Account = Annotated[str | None, typer.Option("--account", help="Account (default: the one that traded last).")]
Reason = Annotated[str, typer.Option("--reason", help="Why; kept in the draft's history (required).")]
By = Annotated[str | None, typer.Option("--by", help="Who decides (default: your login name).")]
Yes = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} must be YYYY-MM-DD, was {text!r}") from None


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ConfigurationError("--reason is required: say why (it is kept in the draft's history)")


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # no login name (a service account): say so rather than fail
        return "owner"


@journal_app.callback(invoke_without_command=True)
def journal(ctx: typer.Context, day: Day = None, account: Account = None, db_url: DbUrl = None) -> None:
    """Write the journal of a settled session now (and announce it), unless a subcommand is given."""
    if ctx.invoked_subcommand is not None:
        return

    async def main() -> int:
        from stock_manager.entrypoints.ai_jobs import ai_context
        from stock_manager.entrypoints.ai_views import render_journal
        from stock_manager.entrypoints.bootstrap import open_observability, open_storage
        from stock_manager.service_layer.ai.journal import JournalJob

        settings = _settings(db_url=db_url)
        async with open_storage(settings, upgrade=False) as storage, open_observability(settings) as obs:
            outcome = await JournalJob(ai_context(settings, storage, obs.notifier)).run(
                _day(day, "--date"), account, triggered_by="cli"
            )
        run = outcome.run
        if outcome.journal is not None:
            render_journal(outcome.journal, console)
        console.print(f"run {run.id}: {run.outcome}{f' ({run.error})' if run.error else ''}", markup=False)
        return 0 if outcome.journal is not None else 1

    guarded(main)


@journal_app.command("show")
def journal_show(day: Day = None, account: Account = None, db_url: DbUrl = None, as_json: JsonOut = False) -> None:
    """Show the newest journal of a session (default: the last journaled)."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_views import journal_data, render_journal
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.views import print_json

        wanted = _day(day, "--date")
        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage, storage.uow_factory() as uow:
            dates = await uow.ai.journal_dates(account)
            wanted = wanted or (dates[-1] if dates else None)
            found = await uow.ai.latest_journal(wanted, account) if wanted else None
        if found is None:
            span = f"{dates[0]} → {dates[-1]}" if dates else "none yet"
            console.print(f"No journal for {wanted or 'any session'} (journaled sessions: {span}).")
            return 1
        if as_json:
            print_json(journal_data(found))
        else:
            render_journal(found, console)
        return 0

    guarded(main)


@ai_app.command("propose")
def propose(
    until: Annotated[
        str | None, typer.Option("--until", help="Last day of data, YYYY-MM-DD (default: the last settled session).")
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="CSV/Parquet bars instead of the bundled data (as `stockbot backtest --data`)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=0, help="Search processes (0: in this process).")] = 2,
    db_url: DbUrl = None,
) -> None:
    """Draft strategy parameters now: walk-forward search around the ACTIVE ones (and the model's proposal)."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_jobs import ai_context, last_settled
        from stock_manager.entrypoints.ai_views import render_drafts
        from stock_manager.entrypoints.bootstrap import open_observability, open_storage
        from stock_manager.service_layer.ai.proposals import ProposalJob

        settings = _settings(db_url=db_url)
        async with open_storage(settings, upgrade=False) as storage, open_observability(settings) as obs:
            data_until = _day(until, "--until") or await last_settled(storage)
            if data_until is None:
                raise ConfigurationError("no session is settled in this database: give --until YYYY-MM-DD")
            job = ProposalJob(ai_context(settings, storage, obs.notifier, data_files=data, search_jobs=jobs))
            outcome = await job.run(data_until, triggered_by="cli")
            async with storage.uow_factory() as uow:
                drafts = [d for d in await uow.ai.list_drafts() if d.id in outcome.draft_ids]
        render_drafts(drafts, console)
        for strategy, why in outcome.skipped.items():
            console.print(f"{strategy}: skipped ({why})", markup=False)
        run = outcome.run
        assert run is not None
        console.print(f"run {run.id}: {run.outcome}{f' ({run.error})' if run.error else ''}", markup=False)
        return 0 if run.outcome != "FAILED" else 1

    guarded(main)


@ai_app.command("runs")
def runs(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20, db_url: DbUrl = None
) -> None:
    """Show the newest AI job runs: outcome, model, tokens, cost, error."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_views import render_runs
        from stock_manager.entrypoints.bootstrap import open_storage

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage, storage.uow_factory() as uow:
            found = await uow.ai.list_runs(limit)
        render_runs(found, console)
        return 0

    guarded(main)


@params_app.command("drafts")
def drafts(
    every: Annotated[bool, typer.Option("--all", help="Also decided and applied drafts.")] = False,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
) -> None:
    """List the drafts waiting for a decision (VALIDATED, INVALID) and those approved but not yet applied."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_views import draft_data, render_drafts
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.entrypoints.views import print_json

        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage, storage.uow_factory() as uow:
            found = await uow.ai.list_drafts(None if every else ("VALIDATED", "INVALID", "APPROVED"))
        if as_json:
            print_json([draft_data(d) for d in found])
        else:
            render_drafts(found, console)
        return 0

    guarded(main)


@params_app.command("show")
def show(
    draft_id: Annotated[int, typer.Argument(help="The draft's id (`stockbot params drafts`).")],
    db_url: DbUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Show a draft against the parameters in force, with its evidence and the gate's checks."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_jobs import earliest_session
        from stock_manager.entrypoints.ai_views import draft_data, render_draft
        from stock_manager.entrypoints.bootstrap import open_storage, strategy_specs
        from stock_manager.entrypoints.views import print_json
        from stock_manager.service_layer.views.params import draft_detail

        settings = _settings(db_url=db_url)
        specs = {s.strategy_id: s for s in strategy_specs(settings)}
        async with open_storage(settings, upgrade=False) as storage:
            on = await earliest_session(settings, storage)
            detail = await draft_detail(storage.uow_factory, draft_id, specs, on, settings.strategy_params_file)
        if as_json:
            print_json(
                {
                    **draft_data(detail.draft),
                    "in_force_on": detail.on,
                    "in_force": detail.active,
                    "in_force_source": detail.active_source,
                    "changes": [{"name": n, "in_force": a, "proposed": b} for n, a, b in detail.changes],
                }
            )
        else:
            render_draft(detail, console)
        return 0

    guarded(main)


@params_app.command("approve")
def approve(
    draft_id: Annotated[int, typer.Argument(help="The draft's id.")],
    reason: Reason = "",
    date_from: Annotated[
        str | None, typer.Option("--from", help="First session it applies to, YYYY-MM-DD (default: the next session).")
    ] = None,
    by: By = None,
    yes: Yes = False,
    db_url: DbUrl = None,
) -> None:
    """Approve a VALIDATED draft: it becomes the ACTIVE parameters from the given session (asks first)."""

    async def main() -> int:
        from stock_manager.adapters.clock import SystemClock
        from stock_manager.entrypoints.ai_jobs import earliest_session
        from stock_manager.entrypoints.ai_views import render_draft
        from stock_manager.entrypoints.bootstrap import open_storage, strategy_specs
        from stock_manager.service_layer.ai.approval import approve_draft
        from stock_manager.service_layer.ports.notifications import NullNotifier
        from stock_manager.service_layer.views.params import draft_detail

        _require_reason(reason)
        settings = _settings(db_url=db_url)
        specs = {s.strategy_id: s for s in strategy_specs(settings)}
        who = _who(by)
        async with open_storage(settings, upgrade=False) as storage:
            earliest = await earliest_session(settings, storage)
            effective = _day(date_from, "--from") or earliest
            detail = await draft_detail(storage.uow_factory, draft_id, specs, effective, settings.strategy_params_file)
            if not yes:
                render_draft(detail, console)
                if not typer.confirm(
                    f"Approve draft {draft_id} ({detail.draft.strategy_id}) as the ACTIVE parameters from {effective}?",
                    default=False,
                ):
                    console.print("Draft left as it was.")
                    return 1
            decided = await approve_draft(
                storage.uow_factory,
                NullNotifier(),
                draft_id,
                specs=specs,
                effective_from=effective,
                earliest=earliest,
                by=who,
                reason=reason,
                ts=SystemClock().now(),
            )
        console.print(
            f"Draft {draft_id} approved by {who}: the ACTIVE parameters of {decided.strategy_id} from "
            f"{decided.effective_from} (strategy_params row {decided.params_id}); the daemon uses them "
            "from that session's open.",
            markup=False,
        )
        return 0

    guarded(main)


@params_app.command("reject")
def reject(
    draft_id: Annotated[int, typer.Argument(help="The draft's id.")],
    reason: Reason = "",
    by: By = None,
    yes: Yes = False,
    db_url: DbUrl = None,
) -> None:
    """Reject a draft (nothing else changes; asks first)."""

    async def main() -> int:
        from stock_manager.adapters.clock import SystemClock
        from stock_manager.entrypoints.bootstrap import open_storage
        from stock_manager.service_layer.ai.approval import reject_draft
        from stock_manager.service_layer.ports.notifications import NullNotifier

        _require_reason(reason)
        who = _who(by)
        async with open_storage(_settings(db_url=db_url), upgrade=False) as storage:
            if not yes and not typer.confirm(f"Reject draft {draft_id}?", default=False):
                console.print("Draft left as it was.")
                return 1
            await reject_draft(
                storage.uow_factory, NullNotifier(), draft_id, by=who, reason=reason, ts=SystemClock().now()
            )
        console.print(f"Draft {draft_id} rejected by {who}; nothing else changed.", markup=False)
        return 0

    guarded(main)


@params_app.command("history")
def history(db_url: DbUrl = None, as_json: JsonOut = False) -> None:
    """Show who changed strategy parameters and risk limits, when and why."""

    async def main() -> int:
        from stock_manager.entrypoints.ai_views import history_data, render_history
        from stock_manager.entrypoints.bootstrap import open_storage, strategy_specs
        from stock_manager.entrypoints.views import print_json
        from stock_manager.service_layer.views.params import change_history

        settings = _settings(db_url=db_url)
        async with open_storage(settings, upgrade=False) as storage:
            entries = await change_history(storage.uow_factory, {s.strategy_id: s for s in strategy_specs(settings)})
        if as_json:
            print_json(history_data(entries))
        else:
            render_history(entries, console)
        return 0

    guarded(main)
