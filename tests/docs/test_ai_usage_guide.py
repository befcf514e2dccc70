"""ai_developer_guides/AI_USAGE_GUIDE.md is kept true: every setting, command, option, table, column and file it
names exists, every ``AI_*`` setting is in it, and its Python examples run."""

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from stock_manager.adapters.storage.tables import metadata
from stock_manager.config.settings import Settings, known_setting_names
from stock_manager.entrypoints.cli import app

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "ai_developer_guides" / "AI_USAGE_GUIDE.md"
TEXT = GUIDE.read_text(encoding="utf-8")
#: Prefixes of setting names; a backticked ``PREFIX_NAME`` with one of them must be a setting.
SETTING_PREFIXES = ("AI", "SLACK", "KIS", "SIM", "RISK", "DB", "DATA", "LOG", "STRATEGY", "PARAMS", "ORDER")
#: Table-like names: a backticked name ending so must be a table.
TABLE_SUFFIXES = ("_runs", "_journals", "_drafts", "_params", "_changes", "_events", "_settlements")
AI_TABLES = {"ai_job_runs", "trade_journals", "strategy_param_drafts"}


def backticked() -> list[str]:
    return re.findall(r"`([^`\n]+)`", TEXT)


def section(title: str) -> str:
    start = TEXT.index(f"## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end > 0 else None]


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TEXT, re.DOTALL)


# -- SETTINGS -----------------------------------------------------------------------------------------------


def test_every_setting_named_exists():
    named = set(re.findall(r"\bAI_[A-Z0-9_]*[A-Z0-9]\b", TEXT))
    named |= {
        t.split("=")[0]
        for t in backticked()
        if re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+(=\S*)?", t) and t.split("_")[0] in SETTING_PREFIXES
    }

    assert sorted(named - known_setting_names()) == []


def test_every_ai_setting_is_in_the_guide():
    ai = {name.upper() for name in Settings.model_fields if name.startswith("ai_")}

    assert sorted(ai - set(re.findall(r"\bAI_[A-Z0-9_]*[A-Z0-9]\b", TEXT))) == []


# -- COMMANDS ----------------------------------------------------------------------------------------------


def commands_named() -> list[str]:
    inline = [t for t in backticked() if t.startswith("stockbot ")]
    blocks = [
        line.strip().split("stockbot ", 1)[1]
        for block in code_blocks("sh")
        for line in block.splitlines()
        if "stockbot " in line and not line.strip().startswith("#")
    ]
    return inline + [f"stockbot {b.split('#')[0].strip()}" for b in blocks]


def resolve(words: list[str]) -> list[Any]:
    """Return the command of each alternative of the path `words` (``drafts|show`` is two)."""
    found: list[Any] = []
    alternatives = [[]] if not words else [[*words[:-1], last] for last in words[-1].split("|")]
    root = typer.main.get_command(app)
    for path in alternatives:
        command: Any = root
        for word in path:
            subcommands = getattr(command, "commands", None)  # a group (typer's own click)
            assert subcommands is not None, f"`{' '.join(path)}`: {command.name} has no subcommands"
            sub = subcommands.get(word)
            assert sub is not None, f"`stockbot {' '.join(path)}`: no command {word!r} under {command.name}"
            command = sub
        found.append(command)
    return found


def test_every_command_and_option_named_exists():
    named = commands_named()
    assert len(named) >= 15  # the guide names its commands; an empty match would prove nothing
    for text in named:
        words = text.split()[1:]
        path = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", word):
                break
            path.append(word)
        options = {m for m in re.findall(r"--[a-z][a-z-]*", text)}
        for command in resolve(path):
            known = {o for p in command.params for o in getattr(p, "opts", [])}
            if getattr(command, "commands", None) is not None and not options:
                continue
            assert options <= known, f"`{text}`: {sorted(options - known)} not options of {command.name}"


# -- TABLES, COLUMNS, FILES --------------------------------------------------------------------------------


def test_every_table_named_exists_and_the_ai_tables_are_described():
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section("Tables"), re.MULTILINE))
    table_like = {t for t in backticked() if re.fullmatch(r"[a-z]+(_[a-z]+)+", t) and t.endswith(TABLE_SUFFIXES)}

    assert listed >= AI_TABLES
    assert sorted((listed | table_like) - set(metadata.tables)) == []


def test_every_column_named_as_table_dot_column_exists():
    for table, column in re.findall(r"`([a-z_]+)\.([a-z_]+)`", TEXT):
        if table in metadata.tables:
            assert column in metadata.tables[table].columns, f"{table}.{column}"


def test_every_file_named_exists():
    for name in {t for t in backticked() if re.fullmatch(r"[\w./]+\.(py|md|toml)", t)}:
        candidates = [ROOT / name, ROOT / "src" / "stock_manager" / name, ROOT / "ai_developer_guides" / name]
        assert any(c.exists() for c in candidates), name


# -- EXAMPLES ----------------------------------------------------------------------------------------------


def test_the_python_examples_run_in_order(tmp_path, monkeypatch):
    blocks = code_blocks("python")
    assert len(blocks) == 4  # in the order of the guide
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "ai_usage_guide"}
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{GUIDE.name} python example {number}", "exec"), namespace)
        except Exception as e:
            pytest.fail(f"python example {number} of {GUIDE.name} fails: {type(e).__name__}: {e}")
