"""The newcomer's documents name only what exists: every setting, `stockbot` command and option, table, file
path and class they mention (the same checker as the Slack guide's)."""

import pytest

from tests.guide_check import REPO, guide_problems


@pytest.mark.parametrize("document", ["README.md", "ai_developer_guides/ARCHITECTURE.md"])
def test_document_when_read_then_every_name_it_mentions_exists(document: str) -> None:
    assert guide_problems(REPO / document) == []
