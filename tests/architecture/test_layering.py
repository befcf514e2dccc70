"""The layering is checked by a maintained tool (import-linter, contracts in pyproject.toml), and the core's
text is checked for venue knowledge: no module of the domain or the service layer names a venue, a venue's
time zone or its rule tables, and no module grows past the size one responsibility fits in."""

import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "stock_manager"
#: Words that would mean the core knows a venue (KIS, KRX, Upbit), its time zone as a trading date, or a rule table.
VENUE_WORDS = re.compile(r"\b(KIS|KRX|Upbit|KST|kst_date|kst_datetime|STOCK_TICKS|ETF_TICKS)\b", re.IGNORECASE)
#: Lines a module may reach before it is suspected of holding more than one responsibility.
MAX_MODULE_LINES = 420


def test_import_contracts_when_linted_then_every_contract_is_kept():
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    result = subprocess.run(
        [sys.executable, "-c", command, "--no-cache"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        cwd=SRC.parents[1],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_modules_when_read_then_none_names_a_venue_its_time_zone_or_its_tables():
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for layer in ("domain", "service_layer")
        for path in sorted((SRC / layer).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if VENUE_WORDS.search(line)
    ]
    assert offenders == []


def test_modules_when_counted_then_none_is_over_the_size_limit():
    sizes = {path.relative_to(SRC): len(path.read_text(encoding="utf-8").splitlines()) for path in SRC.rglob("*.py")}
    assert {str(path): lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def test_execution_when_inspected_then_collaborators_not_mixins():
    from stock_manager.service_layer.execution import Execution

    assert Execution.__mro__ == (Execution, object)
