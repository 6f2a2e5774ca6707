"""docs/pipeline.md's key reference is generated from the config models, so the two cannot disagree."""

from __future__ import annotations

from pathlib import Path

from toolkit.config.reference import BEGIN, END, render_reference, update_document

DOC = Path(__file__).resolve().parents[3] / "docs" / "pipeline.md"


def test_the_reference_in_docs_is_the_one_the_models_generate() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert update_document(text) == text, "docs/pipeline.md is stale: run `python -m toolkit.config.reference`"


def test_the_reference_names_every_key_with_its_type_default_and_meaning() -> None:
    reference = render_reference()
    assert "| `kafka.bootstrap_servers` | string | *required* | comma-separated `host:port` list |" in reference
    assert "| `delivery.max_in_flight` | int ≥ 1 | `10000` |" in reference
    assert "| `sidecar.log_format` | `json`, `text` | `json` |" in reference
    assert "| `privacy.<stream>.pseudonymisation_key_env` | string |" in reference


def test_a_changed_model_makes_the_doc_stale() -> None:
    text = DOC.read_text(encoding="utf-8")
    edited = text.replace("| `sidecar.port` | int", "| `sidecar.port` | string", 1)
    assert edited != text and update_document(edited) == text
