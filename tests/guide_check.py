"""Keeping a developer guide true: every ```python block runs, and every setting, command, table, file and
code name it writes in backticks exists. Used for ``ai_developer_guides/*.md`` (see the guide tests).

How a guide is read (write guides so):

- **settings**: a backticked upper-case name with an underscore whose first part is a settings prefix
  (``SLACK_BOT_TOKEN``, ``KIS_APP_KEY=…``, ``RISK_*`` as a family) must be a setting of
  `stock_manager.config.settings.Settings` (its environment name);
- **commands**: a backticked ``stockbot …`` must name a command of the CLI (groups and commands by name),
  and each ``--option`` after it must be an option of that command;
- **tables**: a name in ``the `events` table`` or ``table `events` `` (also ``tables `a`, `b` ``) must be a
  table of `stock_manager.adapters.storage.tables.metadata`;
- **files**: a backticked path ending in ``.py``, ``.md``, ``.toml`` or ``.yaml`` must exist relative to the
  repository, ``src/stock_manager`` or the guide's directory;
- **code names**: a backticked ``CamelCase`` name (optionally ``.attribute``) must be a class (or an
  assignment) in ``src/`` or ``tests/``, and a ``snake_case()`` call must be a function defined there.

Fenced ```python blocks are executed one by one, each in a fresh namespace, in the order they appear; a block
that raises fails with the guide's line number. Other fences (```sh, ```text) are not run.
"""

import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer.core import TyperGroup

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "stock_manager"

_FENCE = re.compile(r"^```(\w*)\s*$")
_TICKED = re.compile(r"``?([^`\n]+?)``?")
_SETTING = re.compile(r"^([A-Z][A-Z0-9]*(?:_[A-Z0-9*]+)+)(?:=.*)?$")
_TABLES = re.compile(r"\btables? ((?:`[a-z_]+`(?:, | and | or )?)+)|((?:`[a-z_]+`(?:, | and | or )?)+) tables?\b")
_PATH = re.compile(r"^[\w./-]+\.(?:py|md|toml|yaml|yml)$")
_CAMEL = re.compile(r"^([A-Z][a-z]+[a-z0-9]*(?:[A-Z][a-z0-9]*)+)(?:\.([a-z_][a-z0-9_]*))?$")
_CALL = re.compile(r"^([a-z_][a-z0-9_]*)\((?:[^()]*)\)$")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced ```python block of a guide: its first code line (1-based) and its text."""

    line: int
    code: str


def python_blocks(path: Path) -> list[CodeBlock]:
    """Return the guide's ```python blocks, in order."""
    blocks, language, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line.strip())
        if fence and language is None:
            language, start, body = fence.group(1), number + 1, []
        elif fence and not fence.group(1):
            if language == "python":
                blocks.append(CodeBlock(start, "\n".join(body) + "\n"))
            language = None
        elif language is not None:
            body.append(line)
    return blocks


def run_python_blocks(path: Path) -> int:
    """Execute each ```python block of the guide in a fresh namespace; return how many ran.

    Raises
    ------
    AssertionError
        Naming the guide, the block's line and the error, for the first block that raises.
    """
    blocks = python_blocks(path)
    for block in blocks:
        code = compile(block.code, f"{path.name}:{block.line}", "exec")
        try:
            exec(code, {"__name__": f"guide_{path.stem}"})  # the guide's own examples, on purpose
        except Exception as e:
            raise AssertionError(f"{path.name}: the example at line {block.line} fails: {type(e).__name__}: {e}") from e
    return len(blocks)


def guide_problems(path: Path, *, allowed: Collection[str] = ()) -> list[str]:
    """Return one line per name in the guide that does not exist (see the module), in the guide's order.

    Parameters
    ----------
    path : Path
        The guide (Markdown).
    allowed : Collection[str]
        Backticked names to accept as they are (an environment variable of another program, a planned name).
    """
    problems = []
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path.name} line {number}"
        for table in _table_names(line):
            if table not in _tables() and table not in allowed:
                problems.append(f"{where}: no table {table!r} in the schema")
        for token in (t.strip() for t in _TICKED.findall(line)):
            if token in allowed:
                continue
            problem = _token_problem(token, path)
            if problem:
                problems.append(f"{where}: {problem}")
    return problems


def _token_problem(token: str, guide: Path) -> str | None:
    if token.startswith("stockbot ") or token == "stockbot":
        return _command_problem(token)
    if (setting := _SETTING.match(token)) and _is_setting_like(setting.group(1)):
        return _setting_problem(setting.group(1))
    if _PATH.match(token):
        found = any((base / token).exists() for base in (REPO, SRC, guide.parent)) or _some_file_ends_with(token)
        return None if found else f"no file {token}"
    if camel := _CAMEL.match(token):
        return _class_problem(camel.group(1), camel.group(2))
    if call := _CALL.match(token):
        defined = rf"^\s*(?:async )?def {call.group(1)}\(|^{call.group(1)} = "
        return None if re.search(defined, _code(), re.M) else f"no function {call.group(1)}() in src/ or tests/"
    return None


@cache
def _repo_files() -> tuple[str, ...]:
    bases = [REPO / name for name in ("src", "tests", "benchmarks", "migrations", "ai_developer_guides")]
    return tuple(p.relative_to(REPO).as_posix() for base in bases for p in base.rglob("*") if p.is_file())


def _some_file_ends_with(token: str) -> bool:
    # A path written relative to a package named nearby (`notifications/slack.py`, `slack_routing.py`).
    return any(f == token or f.endswith("/" + token) for f in _repo_files())


# -- SETTINGS ----------------------------------------------------------------------------------------


@cache
def _settings() -> frozenset[str]:
    from stock_manager.config.settings import known_setting_names

    return known_setting_names()


@cache
def _setting_prefixes() -> frozenset[str]:
    from stock_manager.config.dotenv_check import OUR_PREFIXES

    return frozenset({name.split("_")[0] + "_" for name in _settings() if "_" in name} | set(OUR_PREFIXES))


def _is_setting_like(name: str) -> bool:
    return name.split("_")[0] + "_" in _setting_prefixes()


def _setting_problem(name: str) -> str | None:
    if name.endswith("*"):  # a family: RISK_*, SLACK_*_CHANNEL_ID
        pattern = re.compile("^" + re.escape(name).replace(r"\*", "[A-Z0-9_]+") + "$")
        return None if any(pattern.match(n) for n in _settings()) else f"no setting matches {name}"
    return None if name in _settings() else f"no setting {name} (config/settings.py)"


# -- COMMANDS ----------------------------------------------------------------------------------------


@cache
def _cli() -> "TyperGroup":
    import typer

    from stock_manager.entrypoints.cli import app

    return typer.main.get_command(app)


def _command_problem(token: str) -> str | None:
    try:
        words = shlex.split(token)[1:]
    except ValueError:
        words = token.split()[1:]
    command = _cli()  # typer's own click: groups are told by their `commands`
    path = ["stockbot"]
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        if "|" in word:  # `stockbot service install|uninstall|status`: each must exist
            missing = [w for w in word.split("|") if w not in command.commands]
            if missing:
                return f"no command {' '.join(path)} {', '.join(missing)}"
            return None
        sub = command.commands.get(word)
        if sub is None:
            if word.isupper() or word.startswith(("<", "[")):
                break
            return f"no command {' '.join([*path, word])}"
        command, path = sub, [*path, word]
    options = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in options]
    return f"`{' '.join(path)}` has no option {', '.join(unknown)}" if unknown else None


# -- TABLES ------------------------------------------------------------------------------------------


@cache
def _tables() -> frozenset[str]:
    from stock_manager.adapters.storage.tables import metadata

    return frozenset(metadata.tables)


def _table_names(line: str) -> list[str]:
    names = []
    for match in _TABLES.finditer(line):
        names += re.findall(r"`([a-z_]+)`", match.group(1) or match.group(2))
    return names


# -- CODE NAMES --------------------------------------------------------------------------------------


@cache
def _code() -> str:
    files = [p for base in (SRC, REPO / "tests") for p in sorted(base.rglob("*.py"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def _class_problem(name: str, attribute: str | None) -> str | None:
    defined = re.search(rf"^[ \t]*class {name}\b|^{name}(?::[^=\n]+)? = ", _code(), re.M)
    if defined is None:
        return f"no class {name} in src/ or tests/"
    if attribute is None:
        return None
    body = _code()[defined.start() :]
    following = re.search(r"^class \w", body[1:], re.M)
    body = body[: following.start() + 1] if following else body
    if re.search(rf"^[ \t]+(?:async )?def {attribute}\(|^[ \t]+{attribute}[ \t]*[:=]", body, re.M):
        return None
    return f"{name} has no attribute {attribute}"
