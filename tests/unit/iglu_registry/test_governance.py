"""lint, check (against a real git repository in a temp dir) and the server's request routing (no sockets)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iglu_registry.check import check_repository
from iglu_registry.lint import lint_directory, lint_schema
from iglu_registry.server import SchemaStore, route


def schema(version: str, name: str = "click", **body: object) -> dict:
    return {"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
            "description": "an Acme click", "self": {"vendor": "com.acme", "name": name, "format": "jsonschema",
                                                     "version": version},
            "type": "object", "properties": {"target": {"type": "string", "maxLength": 100,
                                                        "description": "where"}},
            "additionalProperties": False, **body}


def write(root: Path, version: str, body: dict, name: str = "click") -> Path:
    path = root / "schemas" / "com.acme" / name / "jsonschema" / version
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2))
    return path


# --- lint ----------------------------------------------------------------------------------

def test_a_clean_schema_has_no_issues() -> None:
    assert lint_schema(schema("1-0-0")) == []


@pytest.mark.parametrize(("body", "check", "fragment"), [
    ({"properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}}, "numericMinimumMaximum", "greater than"),
    ({"properties": {"s": {"type": "string", "minLength": 5, "maxLength": 1}}}, "stringMinMaxLength", "no string"),
    ({"properties": {"l": {"type": "array", "minItems": 3, "maxItems": 1}}}, "arrayMinMaxItems", "no array"),
    ({"properties": {"s": {"type": "string", "minimum": 1, "maxLength": 3}}}, "numericProperties", "[minimum]"),
    ({"properties": {"s": {"type": "integer", "maxLength": 3, "minimum": 0, "maximum": 1}}}, "stringProperties",
     "[maxLength]"),
    ({"required": ["missing"]}, "requiredPropertiesExist", "[missing]"),
    ({"properties": {"s": {"type": "string", "format": "strict-uri", "maxLength": 9}}}, "unknownFormats",
     "'strict-uri'"),
    ({"properties": {"s": {"type": "string"}}}, "stringLength", "maxLength"),
    ({"properties": {"n": {"type": "integer"}}}, "numericMinMax", "minimum and maximum"),
    ({"type": "array", "properties": None}, "rootObject", "root of a schema"),
    ({"properties": {"s": {"type": "strin"}}}, "metaSchema", "$.properties.s.type"),
])
def test_each_check_finds_its_problem_and_can_be_skipped(body: dict, check: str, fragment: str) -> None:
    broken = {**schema("1-0-0"), **{k: v for k, v in body.items() if v is not None}}
    if body.get("properties") is None and "properties" in body:
        broken.pop("properties")
    issues = [i for i in lint_schema(broken) if i.check == check]
    assert issues, lint_schema(broken)
    assert fragment in str(issues[0])
    assert [i for i in lint_schema(broken, skip=frozenset({check})) if i.check == check] == []


def test_self_block_must_agree_with_the_path(tmp_path: Path) -> None:
    write(tmp_path, "1-0-1", schema("1-0-0"))
    issues = lint_directory(tmp_path)
    assert [i.check for i in issues] == ["selfPath"]
    assert "self block says iglu:com.acme/click/jsonschema/1-0-0 but the file path says" in issues[0].message


def test_lint_over_iglu_central_finds_only_known_real_problems(iglu_central: Path) -> None:
    errors = [i for i in lint_directory(iglu_central.parent) if i.severity.value == "error"]
    assert {i.check for i in errors} <= {"rootObject", "requiredPropertiesExist"}
    # the bad-row schemas declare "repostitory" but require "repository": a real typo upstream
    assert all("[repository]" in i.message for i in errors if i.check == "requiredPropertiesExist")


# --- check against git -----------------------------------------------------------------------

def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "1-0-0", schema("1-0-0"))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "published")
    return tmp_path


def test_check_accepts_a_compatible_addition(repo: Path) -> None:
    new = schema("1-0-1")
    new["properties"]["extra"] = {"type": ["string", "null"], "maxLength": 5, "description": "x"}
    write(repo, "1-0-1", new)
    report = check_repository(repo, "main")
    assert report.checked == ["com.acme/click/jsonschema/1-0-1"]
    assert report.errors == [], [str(i) for i in report.issues]
    assert report.compat[0].required.name == "ADDITION"


def test_check_refuses_too_small_a_bump_with_reasons(repo: Path) -> None:
    write(repo, "1-0-1", {**schema("1-0-1"), "required": ["target"]})
    report = check_repository(repo, "main")
    assert [i.check for i in report.errors] == ["compat"]
    assert "needs at least a REVISION bump (1-1-0)" in report.errors[0].message
    assert "property 'target' became required" in report.errors[0].message


def test_check_refuses_overwrites_deletions_and_gaps(repo: Path) -> None:
    write(repo, "1-0-0", {**schema("1-0-0"), "description": "edited"})
    write(repo, "1-0-3", schema("1-0-3"))
    report = check_repository(repo, "main")
    assert {i.check for i in report.errors} == {"published", "versionGap"}
    assert any("overwritten" in i.message for i in report.errors)
    assert any("1-0-3 leaves a gap: it must follow 1-0-2" in i.message for i in report.errors)
    (repo / "schemas/com.acme/click/jsonschema/1-0-0").unlink()
    (repo / "schemas/com.acme/click/jsonschema/1-0-3").unlink()
    report = check_repository(repo, "main")
    assert [i.check for i in report.errors] == ["published"] and "deleted" in report.errors[0].message


# --- server routing (the HTTP side is in tests/integration/iglu) ---------------------------------

@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    write(tmp_path, "1-0-0", schema("1-0-0"))
    write(tmp_path, "1-0-1", schema("1-0-1"))
    write(tmp_path, "1-0-0", schema("1-0-0", name="view"), name="view")
    return SchemaStore(tmp_path, api_key="k")


def test_read_api_shapes(store: SchemaStore) -> None:
    assert route(store, "GET", "/api/meta/health", {}, None).body == "OK"
    assert route(store, "GET", "/api/schemas/com.acme/click/jsonschema/1-0-1", {}, None).body["self"]["version"] \
        == "1-0-1"
    assert route(store, "GET", "/schemas/com.acme/click/jsonschema/1-0-0", {}, None).status == 200
    assert route(store, "GET", "/api/schemas/com.acme/click/jsonschema/1", {}, None).body == [
        "iglu:com.acme/click/jsonschema/1-0-0", "iglu:com.acme/click/jsonschema/1-0-1"]
    assert len(route(store, "GET", "/api/schemas", {}, None).body) == 3
    assert len(route(store, "GET", "/api/schemas/com.acme", {}, None).body) == 3
    assert route(store, "GET", "/api/schemas/com.acme/view?repr=Canonical", {}, None).body[0]["self"]["name"] \
        == "view"
    missing = route(store, "GET", "/api/schemas/com.acme/click/jsonschema/9-0-0", {}, None)
    assert (missing.status, missing.body) == (404, {"message": "The schema is not found"})


def test_publishing_rules(store: SchemaStore, tmp_path: Path) -> None:
    good = json.dumps(schema("1-0-2")).encode()
    assert route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-0-2", {}, good).status == 401
    assert route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-0-2", {"apikey": "no"}, good).status == 401
    created = route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-0-2", {"apikey": "k"}, good)
    assert created.status == 201 and created.body["location"] == "iglu:com.acme/click/jsonschema/1-0-2"
    assert (tmp_path / "schemas/com.acme/click/jsonschema/1-0-2").is_file()
    assert route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-0-2", {"apikey": "k"}, good).status == 200
    changed = json.dumps({**schema("1-0-2"), "description": "other"}).encode()
    assert route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-0-2", {"apikey": "k"}, changed).status == 409
    gap = route(store, "POST", "/api/schemas", {"apikey": "k"}, json.dumps(schema("1-0-9")).encode())
    assert gap.status == 409 and "gap" in gap.body["message"]
    breaking = json.dumps({**schema("1-0-3"), "required": ["target"]}).encode()
    refused = route(store, "POST", "/api/schemas", {"apikey": "k"}, breaking)
    assert refused.status == 409 and "REVISION" in refused.body["message"]
    assert refused.body["compat"]["changes"][0]["path"] == "$.target"
    accepted = route(store, "POST", "/api/schemas", {"apikey": "k"},
                     json.dumps({**schema("1-1-0"), "required": ["target"]}).encode())
    assert accepted.status == 201 and accepted.body["compat"]["classification"] == "REVISION"
    mismatch = route(store, "PUT", "/api/schemas/com.acme/click/jsonschema/1-1-1", {"apikey": "k"}, good)
    assert mismatch.status == 400 and "self block says" in mismatch.body["message"]
    assert route(store, "POST", "/api/schemas", {"apikey": "k"}, b"{not json").status == 400
    assert route(SchemaStore(tmp_path), "POST", "/api/schemas", {"apikey": "k"}, good).status == 403


def test_snowplows_envelopes_skip_only_the_column_checks() -> None:
    """contexts/unstruct_event wrap entities and are never loaded as columns; any other array root is an error."""
    envelope = {**schema("1-0-0"), "self": {"vendor": "com.snowplowanalytics.snowplow", "name": "contexts",
                                            "format": "jsonschema", "version": "1-0-0"},
                "type": "array", "items": {"type": "object", "description": "entity",
                                           "properties": {"schema": {"type": "string", "description": "uri"}}}}
    envelope.pop("properties", None)
    checks = {i.check for i in lint_schema(envelope)}
    assert "rootObject" not in checks and "stringLength" not in checks, checks
    lookalike = {**envelope, "self": {**envelope["self"], "vendor": "com.acme"}}
    assert {"rootObject", "stringLength"} <= {i.check for i in lint_schema(lookalike)}
