"""Validation reports, $supersededBy, formats, remote refs and the Iglu meta-schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from iglu_registry.errors import ResolutionError
from iglu_registry.layout import load_registry
from iglu_registry.meta_schema import check_schema
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import DataReport, SchemaValidator, validation_error_json


def self_block(uri: str) -> dict:
    key = SchemaKey.parse(uri)
    return {"vendor": key.vendor, "name": key.name, "format": key.format, "version": str(key.version)}


def schema(uri: str, **body: object) -> dict:
    return {"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
            "description": "test schema", "self": self_block(uri), "type": "object", **body}


CLICK = "iglu:com.acme/click/jsonschema/1-0-0"
CLICK_SCHEMA = schema(CLICK, properties={
    "target": {"type": "string", "maxLength": 10},
    "count": {"type": "integer", "minimum": 0, "maximum": 100},
    "kind": {"enum": ["a", "b"]},
    "email": {"type": ["string", "null"], "format": "email"},
    "at": {"type": "string", "format": "date-time"},
}, required=["target"], additionalProperties=False)
OLD = "iglu:com.acme/old/jsonschema/1-0-0"
NEW = "iglu:com.acme/old/jsonschema/1-0-1"


def validator(*extra: tuple[str, dict]) -> SchemaValidator:
    schemas = {SchemaKey.parse(CLICK): CLICK_SCHEMA,
               SchemaKey.parse(OLD): schema(OLD, properties={"a": {"type": "string"}}, **{"$supersededBy": "1-0-1"}),
               SchemaKey.parse(NEW): schema(NEW, properties={"a": {"type": ["string", "integer"]}})}
    schemas.update({SchemaKey.parse(u): s for u, s in extra})
    return SchemaValidator(Resolver.in_memory(schemas))


def test_valid_data_gives_no_reports() -> None:
    v = validator()
    assert v.validate(SchemaKey.parse(CLICK), {"target": "x", "count": 3, "email": None,
                                               "at": "2024-01-02T03:04:05.123Z"}) == []


@pytest.mark.parametrize(("data", "expected"), [
    ({"target": "x" * 11}, DataReport("$.target: 'xxxxxxxxxxx' is too long", "$.target", "maxLength", ("10",))),
    ({}, DataReport("$: 'target' is a required property", "$", "required", ("target",))),
    ({"target": "x", "count": 101}, DataReport("$.count: 101 is greater than the maximum of 100", "$.count",
                                               "maximum", ("100",))),
    ({"target": "x", "count": "3"}, DataReport("$.count: '3' is not of type 'integer'", "$.count", "type",
                                               ("string", "integer"))),
    ({"target": "x", "kind": "c"}, DataReport("$.kind: 'c' is not one of ['a', 'b']", "$.kind", "enum",
                                              ('["a","b"]',))),
    ({"target": "x", "extra": 1}, DataReport("$: Additional properties are not allowed ('extra' was unexpected)",
                                             "$", "additionalProperties", ("extra",))),
    ({"target": "x", "email": "wjr@w"}, DataReport("$.email: 'wjr@w' is not a 'email'", "$.email", "format",
                                                   ("wjr@w", "email"))),
    ({"target": "x", "at": "2024-01-02 03:04"}, DataReport("$.at: '2024-01-02 03:04' is not a 'date-time'", "$.at",
                                                           "format", ("2024-01-02 03:04", "date-time"))),
])
def test_each_violation_is_reported_like_snowplow(data: dict, expected: DataReport) -> None:
    assert validator().validate(SchemaKey.parse(CLICK), data) == [expected]


def test_reports_fit_the_bad_row_schema(iglu_central: Path) -> None:
    reports = validator().validate(SchemaKey.parse(CLICK), {"count": -1, "kind": 1})
    assert isinstance(reports, list) and [r.keyword for r in reports] == ["required", "minimum", "enum"]
    badrow = json.loads((iglu_central / "com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1")
                        .read_text())
    branch = badrow["properties"]["failure"]["properties"]["messages"]["items"]["anyOf"][3]
    message = {"schemaKey": CLICK, "error": validation_error_json(reports, superseded_by="1-0-1")}
    assert list(Draft4Validator(branch).iter_errors(message)) == []


def test_superseded_schemas_validate_against_their_replacement() -> None:
    v = validator()
    assert v.validate(SchemaKey.parse(OLD), {"a": 5}) == []  # 1-0-0 says string; 1-0-1 allows integers
    assert v.superseded_by(SchemaKey.parse(OLD)) == "1-0-1"
    assert v.superseded_by(SchemaKey.parse(CLICK)) is None


def test_a_missing_superseding_version_is_a_resolution_error() -> None:
    uri = "iglu:com.acme/gone/jsonschema/1-0-0"
    v = validator((uri, schema(uri, **{"$supersededBy": "1-0-4"})))
    result = v.validate(SchemaKey.parse(uri), {})
    assert isinstance(result, ResolutionError) and result.key == "iglu:com.acme/gone/jsonschema/1-0-4"


def test_unknown_schema_is_a_permanent_resolution_error() -> None:
    result = validator().validate(SchemaKey.parse("iglu:com.acme/nope/jsonschema/1-0-0"), {})
    assert isinstance(result, ResolutionError) and result.not_found


def test_an_invalid_schema_yields_reports_not_a_crash() -> None:
    uri = "iglu:com.acme/broken/jsonschema/1-0-0"
    v = validator((uri, schema(uri, properties={"a": {"type": "strin"}})))
    reports = v.validate(SchemaKey.parse(uri), {"a": 1})
    assert isinstance(reports, list) and len(reports) == 1
    assert "is not a valid Iglu schema: $.properties.a.type" in reports[0].message


def test_remote_refs_to_iglu_central_go_through_the_resolver() -> None:
    inner = "iglu:com.acme/inner/jsonschema/1-0-0"
    outer = "iglu:com.acme/outer/jsonschema/1-0-0"
    v = validator((inner, schema(inner, required=["id"])),
                  (outer, schema(outer, properties={"child": {
                      "$ref": "http://iglucentral.com/schemas/com.acme/inner/jsonschema/1-0-0#"}})))
    assert v.validate(SchemaKey.parse(outer), {"child": {"id": 1}}) == []
    reports = v.validate(SchemaKey.parse(outer), {"child": {}})
    assert isinstance(reports, list) and reports[0].path == "$.child" and reports[0].keyword == "required"


def test_self_describing_envelopes_are_checked() -> None:
    v = validator()
    key, reports = v.validate_self_describing({"schema": CLICK, "data": {"target": "x"}})
    assert key == SchemaKey.parse(CLICK) and reports == []
    _, reports = v.validate_self_describing({"schema": "iglu:nope", "data": {}})
    assert isinstance(reports, list) and reports[0].path == "$.schema"
    _, reports = v.validate_self_describing({"data": {}})
    assert isinstance(reports, list) and "exactly 'schema' and 'data'" in reports[0].message


def test_meta_schema_check_names_the_bad_keyword() -> None:
    issues = check_schema({"self": self_block(CLICK), "properties": {"a": {"maxLength": -1}}, "required": []})
    assert [str(i) for i in issues] == ["$.properties.a.maxLength: -1 is less than the minimum of 0",
                                        "$.required: [] should be non-empty"]
    assert [str(i) for i in check_schema({"type": "object"})] == ["$: 'self' is a required property"]


def test_every_iglu_central_schema_passes_the_meta_schema_as_published(iglu_central: Path) -> None:
    """Ours and Iglu Central's own meta-schema agree on all of Iglu Central and on broken copies."""
    schemas, problems = load_registry(iglu_central.parent)
    assert problems == [] and len(schemas) >= 600
    published = json.loads((iglu_central / "com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0").read_text())
    theirs = Draft4Validator(published)
    for key, body in schemas.items():
        assert check_schema(body) == [], key.uri
        assert theirs.is_valid(body), key.uri
        broken = {k: v for k, v in body.items() if k != "self"}
        assert check_schema(broken) != [] and not theirs.is_valid(broken), key.uri
