"""The fast engine (jsonschema-rs) gives jsonschema's verdict on every instance we can think of.

The differential test walks every jsonschema schema of Iglu Central, builds instances from each
schema (valid-looking ones, then mutants broken at any depth on the boundaries where engines
drift apart) and asks both engines. The fast engine's *own* verdict is compared, not the
product path, which would hide a stricter fast verdict behind the reference's second opinion.
Instances come from a seeded generator, so every run checks the same ones.

Iglu Central does not use every keyword, so hypothesis (derandomized) adds arbitrary data
against small in-tree schemas built around the known differences between the engines.
"""

from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from iglu_registry.errors import ErrorKind, RegistryFailure
from iglu_registry.fast_engine import portable_regex
from iglu_registry.layout import load_registry
from iglu_registry.repositories import InMemoryRepository, RepositoryRef
from iglu_registry.resolver import Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator
from tests.unit.iglu_registry.instance_generator import InstanceGenerator

SEED = 20240501
VALID_PER_SCHEMA = 6
MUTANTS_PER_SCHEMA = 36
#: keys of Iglu Central the fast engine leaves to the reference, with the reason it gives; none today
EXPECTED_FALLBACKS: dict[str, str] = {}
IGLU_REF = re.compile(r"^https?://iglucentral\.com/schemas/([^#]+?)#?$")


def embedded_resolver(root: Path) -> Resolver:
    return Resolver.from_config({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 2000, "cacheTtl": None, "repositories": [
            {"name": "Iglu Central (embedded)", "priority": 0, "vendorPrefixes": [],
             "connection": {"embedded": {"path": str(root)}}}]}})


def test_fast_engine_agrees_with_jsonschema_on_all_of_iglu_central(iglu_central: Path) -> None:
    schemas, problems = load_registry(iglu_central.parent)
    assert problems == [] and len(schemas) >= 600
    resolver = embedded_resolver(iglu_central.parent)
    fast = SchemaValidator(resolver, engine="fast")
    # every Iglu Central schema passes the meta-schema (test_validation.py), so skipping that check
    # here changes no verdict and halves the compile time
    reference = SchemaValidator(resolver, engine="reference", check_meta_schema=False)

    def fetch(uri: str) -> dict | None:
        m = IGLU_REF.match(uri)
        return schemas.get(SchemaKey.from_path(m[1])) if m else None

    disagreements: list[str] = []
    fallbacks: dict[str, str] = {}
    counts = {"valid": 0, "invalid": 0}
    for key in sorted(schemas):
        generator = InstanceGenerator(schemas[key], fetch, random.Random(f"{SEED}:{key.uri}"))
        valid_looking = [generator.valid() for _ in range(VALID_PER_SCHEMA)]
        mutants = [m for v in valid_looking[:2] for m in generator.mutants(v, MUTANTS_PER_SCHEMA // 2)]
        instances = valid_looking + mutants
        for n, instance in enumerate(instances):
            expected = reference.validate(key, instance)
            assert isinstance(expected, list), f"{key.uri} did not resolve: {expected}"
            counts["invalid" if expected else "valid"] += 1
            verdict = fast.fast_verdict(key, instance)
            if verdict is None:
                fallbacks[key.uri] = fast.fallback_reason(key) or "?"
            elif verdict != (expected == []):
                disagreements.append(f"{key.uri}: fast={verdict} jsonschema={expected == []} for "
                                     f"{json.dumps(instance, ensure_ascii=True)[:300]} ({expected[:1]})")
            if n % 4 == 0:  # the product path gives the same reports too (sampled: it re-runs jsonschema)
                assert fast.validate(key, instance) == expected, key.uri

    total = counts["valid"] + counts["invalid"]
    print(f"\nparity: {len(schemas)} schemas, {total} instances ({counts['valid']} valid, {counts['invalid']} "
          f"invalid), {len(fallbacks)} schemas on the reference engine, {len(disagreements)} disagreements")
    assert disagreements == [], "\n".join(disagreements[:20])
    assert fallbacks == EXPECTED_FALLBACKS
    # the generator must exercise both verdicts heavily, or the comparison proves little
    assert counts["valid"] >= 0.15 * total and counts["invalid"] >= 0.5 * total, counts


# --- hypothesis over the known differences between the engines ---------------------------------------

def self_block(name: str) -> dict:
    return {"vendor": "com.acme", "name": name, "format": "jsonschema", "version": "1-0-0"}


def acme(name: str, **body: object) -> tuple[SchemaKey, dict]:
    key = SchemaKey.parse(f"iglu:com.acme/{name}/jsonschema/1-0-0")
    return key, {"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
                 "self": self_block(name), **body}


TRICKY = [
    acme("anchors", type="object", properties={
        "code": {"type": "string", "pattern": "^[A-Z]{2}\\d+$"},
        "word": {"type": ["string", "null"], "pattern": "^\\w+\\s?$"},
        "dots": {"type": "string", "pattern": "^a.c"}}),
    acme("numbers", type="object", properties={
        "price": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 1000, "exclusiveMaximum": True},
        "tenth": {"type": ["number", "null"], "multipleOf": 0.1},
        "even": {"type": "integer", "multipleOf": 2, "minimum": -10, "exclusiveMinimum": True},
        "big": {"type": "integer", "maximum": 18446744073709551615}}),
    acme("formats", type="object", properties={
        f: {"type": ["string", "null", "integer"], "format": f}
        for f in ("date-time", "date", "email", "hostname", "ipv4", "ipv6", "uri", "uuid", "regex", "time",
                  "uri-reference", "strict-uri")}),
    acme("collections", type="object", additionalProperties=False, properties={
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "uniqueItems": True, "maxItems": 4},
        "pair": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}], "additionalItems": False},
        "choice": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 10}]},
        "neither": {"not": {"enum": [1, "1", True, None, [1], {"a": 1}]}},
        "text": {"type": "string", "minLength": 2, "maxLength": 4}},
        patternProperties={"^x_": {"type": "integer"}, "^iglu:": {"type": "array"}},
        dependencies={"tags": ["pair"], "pair": {"required": ["text"]}},
        minProperties=1, maxProperties=4),
]
KEYS = {key: schema for key, schema in TRICKY}
STRINGS = st.sampled_from(["", "\n", "AB1", "AB1\n", "AB\u0661", "abc", "a\rc", "a\u2028c", "\u00e9\u00e9", "AB12",
                           "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z\n", "2024-02-30", "a@b.c", "wjr@w",
                           "::1", "1.2.3.4", "300.1.1.1", "http://x", "x y", "(", "[a-", "12:00:00",
                           "0b9f1a2e-1234-4abc-8def-0123456789ab", "x_a", "iglu:x", "\U0001f600\U0001f600",
                           "example.com", "-bad"]) | st.text(max_size=6)
NUMBERS = st.sampled_from([0, 1, -1, 2, -10, -12, 1.0, 0.3, 0.7, 19.99, 1000, 999.99, 1e20, 10 ** 20, 2 ** 64,
                           2 ** 64 - 1, 0.1, 0.2, 3.3000000000000003]) | st.integers() | st.floats(
    allow_nan=False, allow_infinity=False)
JSON = st.recursive(st.none() | st.booleans() | NUMBERS | STRINGS,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
                    max_leaves=10)
FIELDS = st.sampled_from(["code", "word", "dots", "price", "tenth", "even", "big", "date-time", "date", "email",
                          "hostname", "ipv4", "ipv6", "uri", "uuid", "regex", "time", "uri-reference", "strict-uri",
                          "tags", "pair", "choice", "neither", "text", "x_1", "iglu:a", "x_\n", "other"])
OBJECTS = st.dictionaries(FIELDS, JSON, max_size=5)


@pytest.fixture(scope="module")
def engines() -> tuple[SchemaValidator, SchemaValidator]:
    resolver = Resolver.in_memory(KEYS)
    return SchemaValidator(resolver, engine="fast"), SchemaValidator(resolver, engine="reference")


@settings(derandomize=True, max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(KEYS)), data=OBJECTS | JSON)
def test_fast_engine_agrees_on_the_known_differences(engines: tuple[SchemaValidator, SchemaValidator],
                                                     key: SchemaKey, data: object) -> None:
    fast, reference = engines
    expected = reference.validate(key, data)
    assert fast.fast_verdict(key, data) == (expected == []), (key.uri, data, expected)
    assert fast.validate(key, data) == expected


@pytest.mark.parametrize("pattern", [".*", "^contexts_.*", "^iglu:", "^[a-z]+_[0-9]{2}", "(ab|c)+x", "[^-]", "a\\.b"])
def test_portable_patterns_match_the_same_strings_in_both_engines(pattern: str) -> None:
    assert portable_regex(pattern)
    schema = {"additionalProperties": False, "patternProperties": {pattern: {}}}
    theirs, ours = jsonschema_rs.Draft4Validator(schema), Draft4Validator(schema)
    rng = random.Random(f"{SEED}:{pattern}")
    alphabet = "ab_cx.-019:\n\r\u2028\u0661\u00e9 iglucontexts"
    names = ["", "\n", "a\n", "contexts_", "iglu:", "ab_01", "a.b", "x"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(400)]
    for name in names:
        assert theirs.is_valid({name: 1}) == ours.is_valid({name: 1}), (pattern, name)


@pytest.mark.parametrize("pattern", ["^a$", "a.b", "\\d+", "\\w", "(?i)a", "a*?", "a{,2}", "[]]", "[a[b]]", "^.*x",
                                     "\\bword", "*", "a{2}{3}"])
def test_patterns_that_may_differ_are_not_portable(pattern: str) -> None:
    assert not portable_regex(pattern)


# --- fallbacks -----------------------------------------------------------------------------------------

def test_a_schema_with_a_non_portable_pattern_property_stays_on_the_reference(
        caplog: pytest.LogCaptureFixture) -> None:
    key, schema = acme("suffix", type="object", additionalProperties=False, patternProperties={"^x$": {}})
    validator = SchemaValidator(Resolver.in_memory({key: schema}))
    with caplog.at_level(logging.WARNING, logger="iglu_registry.validation"):
        assert validator.validate(key, {"x\n": 1}) == []  # Python's $ matches before a final newline
        reports = validator.validate(key, {"y": 1})
    assert isinstance(reports, list) and reports[0].keyword == "additionalProperties"
    assert validator.fast_verdict(key, {"x": 1}) is None
    assert "patternProperties regex '^x$'" in (validator.fallback_reason(key) or "")
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "validated by jsonschema alone" in caplog.records[0].message


def test_an_unresolvable_ref_the_data_never_reaches_stays_on_the_reference() -> None:
    key, schema = acme("dangling", type="object", properties={"a": {"type": "string"}},
                       definitions={"unused": {"$ref": "http://example.com/elsewhere#"}})
    validator = SchemaValidator(Resolver.in_memory({key: schema}))
    assert validator.validate(key, {"a": "x"}) == []
    assert [r.keyword for r in validator.validate(key, {"a": 1})] == ["type"]  # type: ignore[union-attr]
    assert "only http(s)://iglucentral.com/schemas/... refs" in (validator.fallback_reason(key) or "")


def test_refs_to_other_iglu_schemas_are_compiled_through_the_resolver() -> None:
    inner, inner_schema = acme("inner", type="object", required=["id"], properties={"id": {"format": "uuid"}})
    outer, outer_schema = acme("outer", type="object", properties={
        "child": {"$ref": "http://iglucentral.com/schemas/com.acme/inner/jsonschema/1-0-0#"}})
    validator = SchemaValidator(Resolver.in_memory({inner: inner_schema, outer: outer_schema}))
    assert validator.fast_verdict(outer, {"child": {"id": "0b9f1a2e-1234-4abc-8def-0123456789ab"}}) is True
    assert validator.fast_verdict(outer, {"child": {"id": "nope"}}) is False  # the inner schema's format applies
    assert validator.fallback_reason(outer) is None


class FlakyRepository(InMemoryRepository):
    """Fails like a registry that is down for the first ``failures`` fetches of ``key``."""

    def __init__(self, schemas: dict[SchemaKey, dict], key: SchemaKey, failures: int) -> None:
        super().__init__(RepositoryRef("flaky", 0), schemas)
        self.key, self.failures = key, failures

    def fetch(self, key: SchemaKey) -> dict:
        if key == self.key and self.failures > 0:
            self.failures -= 1
            raise RegistryFailure.of(ErrorKind.REPO_FAILURE, "503 from the registry")
        return super().fetch(key)


def test_a_ref_that_failed_transiently_is_compiled_again_later(monkeypatch: pytest.MonkeyPatch) -> None:
    import iglu_registry.validation as validation

    inner, inner_schema = acme("inner", type="object", required=["id"])
    outer, outer_schema = acme("outer", type="object", properties={
        "child": {"$ref": "http://iglucentral.com/schemas/com.acme/inner/jsonschema/1-0-0"}})
    now = [0.0]
    resolver = Resolver([FlakyRepository({inner: inner_schema, outer: outer_schema}, inner, failures=1)],
                        settings=ResolverSettings(attempts_per_lookup=1, backoff_min=1.0, backoff_max=1.0),
                        clock=lambda: now[0], sleep=lambda _: None)
    monkeypatch.setattr(validation, "FAST_RETRY_SECONDS", 0.0)
    validator = SchemaValidator(resolver)
    assert validator.fast_verdict(outer, {"child": {}}) is None
    assert "could not be resolved" in (validator.fallback_reason(outer) or "")
    now[0] = 5.0  # past the resolver's backoff for the failed repository
    assert [r.keyword for r in validator.validate(outer, {"child": {}})] == ["required"]  # type: ignore[union-attr]
    assert validator.fallback_reason(outer) is None
    assert validator.fast_verdict(outer, {"child": {}}) is False


def test_a_fast_validator_that_raises_moves_its_key_to_the_reference_for_good(
        caplog: pytest.LogCaptureFixture) -> None:
    key, schema = acme("open", type="object")
    validator = SchemaValidator(Resolver.in_memory({key: schema}))
    with caplog.at_level(logging.WARNING, logger="iglu_registry.validation"):
        assert validator.validate(key, {1: "not a JSON key"}) == []  # jsonschema-rs refuses non-string keys
        assert validator.validate(key, {1: "again"}) == []
    assert validator.fast_verdict(key, {"a": 1}) is None
    assert "jsonschema-rs raised ValueError" in (validator.fallback_reason(key) or "")
    assert len([r for r in caplog.records if "moved to the reference engine" in r.message]) == 1


def test_reports_are_identical_whichever_engine_runs() -> None:
    key, schema = TRICKY[3]
    resolver = Resolver.in_memory(KEYS)
    fast, reference = SchemaValidator(resolver), SchemaValidator(resolver, engine="reference")
    data = {"tags": ["abcd", "x", "x"], "pair": [1, 2, 3], "x_1": "s", "extra": 1, "text": "a"}
    assert fast.validate(key, data) == reference.validate(key, data) != []
    assert reference.fallback_reason(key) == "engine='reference' was chosen"
    with pytest.raises(ValueError, match="engine must be 'fast'"):
        SchemaValidator(resolver, engine="turbo")  # type: ignore[arg-type]
