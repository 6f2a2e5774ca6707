"""The bad rows the toolkit builds validate against their published Iglu Central schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.unit.toolkit.event_lines import line
from toolkit.contract.badrows import TOOLKIT_PROCESSOR, BadRow, Processor, bad_row, generic_error, loader_parsing_error
from toolkit.contract.tsv import ParseFailure, parse_line


def _validate(row: BadRow, iglu_central: Path) -> dict[str, Any]:
    """Validate the row as Snowplow would: the self-describing envelope's data against its schema."""
    document = json.loads(row.to_json())
    vendor_path = document["schema"].removeprefix("iglu:")
    schema = json.loads((iglu_central / vendor_path).read_text())
    jsonschema.Draft4Validator(schema).validate(document["data"])
    return document


def _failure(text: str) -> ParseFailure:
    result = parse_line(text)
    assert isinstance(result, ParseFailure)
    return result


@pytest.mark.parametrize("text", [
    "no tabs at all",
    "a\tb\tc",
    "\t" * 2000,
    line(txn_id="x", event_id="nope", contexts="{", geo_country="USA"),
    line(page_url="p" * 100_000),
])
def test_every_kind_of_loader_parsing_error_validates(text: str, iglu_central: Path) -> None:
    document = _validate(_failure(text).bad_row(), iglu_central)
    assert document["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/loader_parsing_error/jsonschema/2-0-0"
    assert document["data"]["payload"] == text
    assert document["data"]["processor"] == {"artifact": "snowplow-kafka-toolkit",
                                             "version": TOOLKIT_PROCESSOR.version}


def test_our_loader_parsing_error_says_what_rdb_loaders_says_for_the_same_line(shared_dir: Path) -> None:
    fixtures = shared_dir / "fixtures"
    text = (fixtures / "enriched" / "invalid" / "rdbloader-invalid-1.tsv").read_text().rstrip("\n")
    theirs = json.loads((fixtures / "badrows" / "rdbloader-1-loader_parsing_error.json").read_text())
    ours = _failure(text).bad_row().to_dict()
    assert ours["schema"] == theirs["schema"]
    assert ours["data"]["failure"] == theirs["data"]["failure"] == {"type": "FieldNumberMismatch", "fieldCount": 130}
    assert ours["data"]["payload"] == theirs["data"]["payload"]


def test_the_general_builder_makes_other_types_valid_too(iglu_central: Path) -> None:
    now = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
    size = bad_row("size_violation", {"timestamp": "2026-11-30T01:02:03.456Z", "maximumAllowedSizeBytes": 1_000_000,
                                      "actualSizeBytes": 1_500_000, "expectation": "a Kafka message of at most 1 MB"},
                   "x" * 100)
    assert _validate(size, iglu_central)["data"]["failure"]["actualSizeBytes"] == 1_500_000
    generic = generic_error(line(), ["go-sdk: Go cannot read the year -2006"], now=now)
    assert _validate(generic, iglu_central)["data"]["failure"]["timestamp"] == "2026-11-30T01:02:03.456Z"
    custom = loader_parsing_error("x", {"type": "NotTSV"}, Processor("my-loader", "2.1.0-rc1"))
    assert _validate(custom, iglu_central)["data"]["processor"] == {"artifact": "my-loader", "version": "2.1.0-rc1"}


def test_builder_refuses_what_it_cannot_make_valid() -> None:
    with pytest.raises(ValueError, match="no default schema version for bad-row type 'made_up'"):
        bad_row("made_up", {}, "")
    with pytest.raises(ValueError, match="at least one error message"):
        generic_error("payload", [])
    assert bad_row("made_up", {}, "", version="9-0-0").schema.endswith("/made_up/jsonschema/9-0-0")


def test_invalid_value_keys_fit_the_schema_even_for_long_canonical_keys() -> None:
    from toolkit.contract.tsv import FieldError

    failure = ParseFailure("{}", "RowDecodingError", 0,
                           (FieldError("contexts_com_snowplowanalytics_snowplow_ua_parser_context_1", "", "m"),))
    assert len(failure.failure()["errors"][0]["key"]) == 32
