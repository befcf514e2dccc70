"""The AI commands' edges: bad input is one line and exit 2, a declined confirmation changes nothing."""

import asyncio

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.entrypoints.cli import app
from tests.ai.support import DAY, context
from tests.research.support import fresh_sqlite

runner = CliRunner()


@pytest.fixture
def db(tmp_path, _sqlite_template, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return fresh_sqlite(_sqlite_template, tmp_path)


def with_a_draft(db_url: str) -> int:
    async def make() -> int:
        from stock_manager.service_layer.ai.proposals import ProposalJob

        engine = create_engine(db_url)
        try:
            ctx, _ = context(SqlUnitOfWorkFactory(engine, mode="sim"))
            return (await ProposalJob(ctx).run(DAY)).draft_ids[0]
        finally:
            await engine.dispose()

    return asyncio.run(make())


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.mark.parametrize(
    "args, words",
    [
        (["params", "approve", "999", "--reason", "x", "--yes"], "no parameter draft 999"),
        (["params", "approve", "1", "--yes"], "--reason is required"),
        (["params", "reject", "1", "--reason", " ", "--yes"], "--reason is required"),
        (["params", "show", "42"], "no parameter draft 42"),
        (["ai", "journal", "--date", "2023-13-01"], "--date must be YYYY-MM-DD, was '2023-13-01'"),
        (["ai", "journal"], "no daemon has traded in this database"),
        (["ai", "propose"], "no session is settled in this database: give --until"),
    ],
)
def test_cli_when_the_input_is_bad_then_one_line_and_exit_2(db, args, words):
    result = invoke(*args, "--db-url", db)

    assert result.exit_code == 2, result.output
    assert words in result.output and result.output.strip().count("\n") == 0


def test_cli_when_the_ai_settings_cannot_work_then_one_line_naming_them(db, monkeypatch):
    monkeypatch.setenv("AI_PROVIDER", "anthropic")
    monkeypatch.setenv("AI_MODEL", "claude-x")

    result = invoke("ai", "propose", "--until", "2023-02-17", "--db-url", db)

    assert result.exit_code == 2 and "AI_PROVIDER=anthropic needs AI_API_KEY" in result.output


def test_approve_when_the_confirmation_is_declined_then_nothing_changes(db):
    draft_id = with_a_draft(db)

    result = invoke("params", "approve", str(draft_id), "--reason", "looks good", "--db-url", db, stdin="n\n")

    assert result.exit_code == 1 and "Draft left as it was." in result.output
    assert "What it changes" in result.output  # the draft was shown before the question
    shown = invoke("params", "drafts", "--json", "--db-url", db)
    assert '"status": "VALIDATED"' in shown.output


def test_reject_when_confirmed_then_rejected_with_who_and_why(db):
    draft_id = with_a_draft(db)

    result = invoke(
        "params", "reject", str(draft_id), "--reason", "too few trades", "--by", "owner", "--db-url", db, stdin="y\n"
    )

    assert result.exit_code == 0 and f"Draft {draft_id} rejected by owner" in result.output
    history = invoke("params", "history", "--db-url", db)
    assert "params rejected" in history.output and "too few trades" in history.output
