"""The schema document is generated from the migrations and can never drift from them."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_schema_doc.py"


@pytest.fixture(scope="module")
def schema_doc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_schema_doc", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_doc_when_generated_now_then_equals_the_committed_file(schema_doc: ModuleType) -> None:
    committed = schema_doc.OUTPUT.read_text(encoding="utf-8")

    assert schema_doc.render() == committed, "run: uv run python scripts/generate_schema_doc.py"
    assert schema_doc.main(["--check"]) == 0


def test_schema_doc_when_generated_then_has_every_table_and_both_trigger_sets(schema_doc: ModuleType) -> None:
    document = schema_doc.render()

    for table in schema_doc.TABLES:
        assert f"### {table}\n" in document
    assert "CREATE TRIGGER fills_no_update_delete BEFORE UPDATE OR DELETE ON fills" in document
    assert "CREATE TRIGGER fills_no_update BEFORE UPDATE ON fills" in document


def test_schema_doc_when_a_column_has_no_description_then_refuses(
    schema_doc: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = {k: v for k, v in schema_doc.COLUMNS["orders"].items() if k != "mode"}
    monkeypatch.setitem(schema_doc.COLUMNS, "orders", orders)

    with pytest.raises(SystemExit, match=r"column orders\.mode has no description"):
        schema_doc.render()
