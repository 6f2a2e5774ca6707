"""docs/collector.md's parameter table is generated from the adapter's tables, so the two cannot disagree."""

from __future__ import annotations

from connectors.collector.params import PARAMS
from connectors.collector.reference import DERIVED, DOCUMENT, NOT_FILLED, render_table, update_document
from toolkit.contract.fields import FIELD_NAMES


def test_the_table_in_docs_is_the_one_the_code_generates() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert update_document(text) == text, "docs/collector.md is stale: run `python -m connectors.collector.reference`"


def test_a_changed_mapping_makes_the_doc_stale() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert update_document(text.replace("| `se_ca` | `se_category` |", "| `se_ca` | `se_action` |")) == text


def test_every_one_of_the_131_fields_is_accounted_for() -> None:
    mapped = {f for p in PARAMS for f in p.fields}
    unaccounted = set(FIELD_NAMES) - mapped - set(DERIVED) - set(NOT_FILLED)
    assert unaccounted == set()
    assert "| `e` | `event` |" in render_table() and "| `ue_px` | `unstruct_event` |" in render_table()
