"""Checks of where settings come from, before they are validated: the ``.env`` file and the environment.

pydantic-settings silently ignores a ``.env`` line it cannot parse and any name it does not know, and fails
with a traceback on a file that is not UTF-8. Here the file is read with python-dotenv's own parser (the one
pydantic-settings uses), so a line is judged exactly as it will be read, and every problem is reported with
its line number:

- a file that is not UTF-8 (the byte and its offset are named) or cannot be read;
- a line that is not ``NAME=value``, and a known name without ``=``;
- a known name set twice (the last one would win silently);
- an unknown name that looks like ours: one of our prefixes (`OUR_PREFIXES`), or close to a known name
  (``KIS_APPKEY`` → ``KIS_APP_KEY``). Other names are left alone: a ``.env`` may hold other programs' values.

In the environment only names with our prefixes are checked; a user's environment holds many variables.
Values are never echoed: they may be secrets.
"""

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from dotenv.parser import parse_stream

from stock_manager.domain.errors import ConfigurationError

#: Name prefixes of this program's settings, present and planned (Upbit, AI, dashboard).
OUR_PREFIXES = ("KIS_", "SIM_", "RISK_", "SLACK_", "UPBIT_", "AI_", "DASHBOARD_")

#: How close an unprefixed name must be to a known one to be taken for a misspelling (difflib ratio).
CLOSE_MATCH_CUTOFF = 0.8
#: How close a suggestion for a name with our prefix must be.
SUGGESTION_CUTOFF = 0.6


@dataclass(frozen=True, slots=True)
class DotenvLine:
    """One binding of a ``.env`` file as python-dotenv reads it.

    Attributes
    ----------
    line : int
        Line number (1-based) where the binding starts.
    name : str | None
        The name as written; None on a line that could not be parsed.
    has_value : bool
        False for a bare ``NAME`` without ``=``.
    malformed : bool
        True when python-dotenv could not parse the line (it would be skipped silently).
    """

    line: int
    name: str | None
    has_value: bool
    malformed: bool


def read_dotenv(path: Path) -> list[DotenvLine] | None:
    """Return the bindings of the ``.env`` file at `path` (comments and blank lines left out); None without a file.

    Raises
    ------
    ConfigurationError
        When the file cannot be read, or is not UTF-8 (naming the first bad byte, its offset and line).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigurationError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigurationError(
            f"{path} is not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}, line {line}); save it as UTF-8"
        ) from None
    lines = []
    for binding in parse_stream(StringIO(text)):
        # A binding's text starts with the blank lines before it: its own line comes after them.
        original = binding.original.string
        line = binding.original.line + original[: len(original) - len(original.lstrip())].count("\n")
        if binding.error:
            lines.append(DotenvLine(line, None, has_value=False, malformed=True))
        elif binding.key is not None:
            lines.append(DotenvLine(line, binding.key, binding.value is not None, malformed=False))
    return lines


def dotenv_problems(path: Path, lines: list[DotenvLine], known: Collection[str]) -> list[str]:
    """Return one message per problem in the parsed ``.env`` `lines` (see the module), in line order.

    Parameters
    ----------
    path : Path
        The file, as it is named in the messages.
    lines : list[DotenvLine]
        Its bindings (`read_dotenv`).
    known : Collection[str]
        The setting names, upper case.
    """
    problems = []
    seen: dict[str, int] = {}
    for entry in lines:
        where = f"{path} line {entry.line}"
        if entry.malformed or entry.name is None:
            problems.append(f"{where} is not NAME=value (a quote left open, or a space in the name?)")
            continue
        name = entry.name.upper()
        if name in known:
            if not entry.has_value:
                problems.append(f"{where}: {name} has no '=' (write {name}=value)")
            elif name in seen:
                problems.append(f"{where}: {name} is set again (first on line {seen[name]}); keep one")
            seen.setdefault(name, entry.line)
            continue
        if problem := unknown_name_problem(name, known, prefixed_only=False):
            problems.append(f"{where}: {problem}")
    return problems


def environment_problems(environ: Mapping[str, str], known: Collection[str]) -> list[str]:
    """Return one message per environment variable with one of our prefixes that is not a setting, sorted."""
    problems = []
    for name in sorted(environ):
        problem = unknown_name_problem(name.upper(), known, prefixed_only=True)
        if problem:
            problems.append(f"environment variable {name}: {problem}")
    return problems


def unknown_name_problem(name: str, known: Collection[str], *, prefixed_only: bool) -> str | None:
    """Return why `name` (upper case) is refused, with a suggestion when one is close; None to leave it alone.

    A known name is fine. An unknown name with one of `OUR_PREFIXES` is refused; so is one close to a known
    name (ratio `CLOSE_MATCH_CUTOFF`), unless `prefixed_only`.
    """
    if name in known:
        return None
    ours = name.startswith(OUR_PREFIXES)
    close = difflib.get_close_matches(name, known, n=1, cutoff=SUGGESTION_CUTOFF if ours else CLOSE_MATCH_CUTOFF)
    if not ours and (prefixed_only or not close):
        return None
    if close:
        return f"unknown setting {name}; did you mean {close[0]}?"
    return f"unknown setting {name} (see .env.example for every setting)"


def check_sources(path: Path | None, known: Collection[str], environ: Mapping[str, str]) -> dict[str, int]:
    """Check the ``.env`` file at `path` (None: no file is read) and the environment.

    Returns
    -------
    dict[str, int]
        The line of each known name set in the file (upper case), for messages about its value.

    Raises
    ------
    ConfigurationError
        With every problem found, on one line.
    """
    known = frozenset(known)
    lines = read_dotenv(path) if path is not None else None
    problems = dotenv_problems(path, lines, known) if path is not None and lines is not None else []
    problems += environment_problems(environ, known)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return {entry.name.upper(): entry.line for entry in lines or [] if entry.name is not None}
