"""The validator's leases: the fast path must give the full path's answer, and end when the cache entry does."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime

import pytest

from iglu_registry import native_engine
from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator
from tests.ci import unavailable
from toolkit.contract import native_codec
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.contract.tsv import ParseFailure, parse_line, parse_line_python
from toolkit.pipeline.validate import EventValidator, SchemaViolations, Valid

from .pipeline_events import EXAMPLES, PRODUCT, FakeClock, line, sdj

PRODUCT_KEY = SchemaKey.parse(PRODUCT)
WALL = datetime(2026, 11, 1, tzinfo=UTC)


class EditableRepository:
    """The example schemas, with ``overrides`` standing in for a schema edited in place in a registry."""

    def __init__(self) -> None:
        self.ref = RepositoryRef("editable", 0)
        self.class_priority = 100
        self._inner = EmbeddedRepository(RepositoryRef("examples", 0), EXAMPLES)
        self.overrides: dict[SchemaKey, dict] = {}

    def fetch(self, key: SchemaKey) -> dict:
        return copy.deepcopy(self.overrides[key]) if key in self.overrides else self._inner.fetch(key)

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        return self._inner.list_versions(vendor, name, format, model)


def validator(repo: EditableRepository | None = None, clock: FakeClock | None = None) -> EventValidator:
    clock = clock or FakeClock()
    resolver = Resolver([repo or EditableRepository()], cache_size=100, cache_ttl=600,
                        settings=ResolverSettings(attempts_per_lookup=1), clock=clock, sleep=clock.sleep,
                        wall_clock=lambda: WALL)  # lookup histories carry it: two validators must agree
    return EventValidator(SchemaValidator(resolver), sleep=clock.sleep, clock=clock)


def stricter_product() -> dict:
    schema = json.loads((EXAMPLES / "schemas" / "com.acme" / "product" / "jsonschema" / "1-0-0").read_text())
    schema["properties"]["sku"]["maxLength"] = 3
    return schema


def product_event(sku: str = "ABCDEF") -> str:
    return line(contexts=[sdj(PRODUCT, {"sku": sku, "price": 1})])


def test_the_second_event_is_decided_by_leases_with_the_same_answer() -> None:
    ev = validator()
    first = ev.validate(parse_line(product_event()))
    assert first == Valid(2)  # the contexts wrapper and the product entity
    assert set(ev._leases) == {"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", PRODUCT}
    hits = ev.validator.resolver.stats.hits
    assert ev.validate(parse_line(product_event())) == first
    assert ev.validator.resolver.stats.hits == hits + 2  # the leases count as the cache hits they replace
    assert ev.lookups == 4


def test_a_schema_edited_in_the_registry_applies_when_its_cache_entry_expires_not_before() -> None:
    repo, clock = EditableRepository(), FakeClock()
    ev = validator(repo, clock)
    assert isinstance(ev.validate(parse_line(product_event())), Valid)
    repo.overrides[PRODUCT_KEY] = stricter_product()
    clock.now += 599  # the resolver would still hand out the cached schema, so the lease agrees with a lookup
    assert isinstance(ev.validate(parse_line(product_event())), Valid)
    clock.now += 2
    verdict = ev.validate(parse_line(product_event()))
    assert isinstance(verdict, SchemaViolations) and not verdict.retryable
    assert "maxLength" in json.dumps(verdict.messages)


def test_invalidating_the_resolver_drops_every_lease() -> None:
    repo = EditableRepository()
    ev = validator(repo)
    assert isinstance(ev.validate(parse_line(product_event())), Valid)
    repo.overrides[PRODUCT_KEY] = stricter_product()
    ev.validator.resolver.invalidate(PRODUCT_KEY)
    assert isinstance(ev.validate(parse_line(product_event())), SchemaViolations)


def test_data_the_fast_check_rejects_gets_the_full_report() -> None:
    ev = validator()
    assert isinstance(ev.validate(parse_line(product_event("OK"))), Valid)
    verdict = ev.validate(parse_line(line(contexts=[sdj(PRODUCT, {"sku": "A", "price": -1})])))
    assert isinstance(verdict, SchemaViolations)
    assert verdict.messages[0]["schemaKey"] == PRODUCT and "minimum" in json.dumps(verdict.messages[0])


def test_a_check_that_raises_falls_back_to_the_full_path() -> None:
    ev = validator()
    event = product_event()
    expected = ev.validate(parse_line(event))

    def broken(data: object) -> bool:
        raise RuntimeError("engine bug")
    ev._leases[PRODUCT] = (broken, math.inf)
    ev._native_leases = None  # the jsonschema-rs leases are under test, not the native ones that come first
    assert ev.validate(parse_line(event)) == expected


@pytest.mark.parametrize("parser", ["native", "native, jsonschema-rs leases only", "python"])
def test_leases_agree_with_the_full_path_on_generated_events(parser: str) -> None:
    if parser.startswith("native") and not native_codec.AVAILABLE:
        unavailable(f"the native parser is not built here: {native_codec.STATUS}")
    parse = parse_line if parser.startswith("native") else parse_line_python
    lines = list(generate(SampleSpec(events=1500, seed=7), SampleStats()))
    fast, reference = validator(), validator()
    if parser != "native":
        fast._native_leases = None
    compared = invalid = 0
    for _ in range(2):  # the first pass takes the leases, the second is decided by them
        for text in lines:
            event = parse(text.encode())
            if isinstance(event, ParseFailure):
                continue
            got = fast.validate(event)
            want = reference._validate_fully(parse_line_python(text).sdj)  # type: ignore[union-attr]
            assert got == want, text
            compared += 1
            invalid += isinstance(got, SchemaViolations)
    assert compared > 2500 and invalid > 0
    if parser.startswith("native"):
        assert type(parse_line(lines[0].encode())) is native_codec.NativeEvent
    assert (fast.native_checked > 0) == (parser == "native" and native_engine.MODULE is not None)


def test_native_leases_decide_valid_native_events_without_python_objects() -> None:
    if not native_codec.AVAILABLE or native_engine.MODULE is None:
        unavailable(f"the native validator is not built here: {native_codec.STATUS}")
    ev = validator()
    assert ev.validate(parse_line(product_event())) == Valid(2)
    calls: list[object] = []
    for uri, (check, until) in list(ev._leases.items()):  # jsonschema-rs, which needs the entity as Python objects
        ev._leases[uri] = (lambda data, check=check: calls.append(data) or check(data), until)
    event = parse_line(product_event())
    assert ev.validate(event) == Valid(2)
    assert calls == [] and ev.native_checked == 2
    with pytest.raises(AttributeError):  # the entities were never decoded into Python objects
        EnrichedEvent.sdj.__get__(event)  # type: ignore[attr-defined]
    verdict = ev.validate(parse_line(line(contexts=[sdj(PRODUCT, {"sku": "A", "price": -1})])))
    assert isinstance(verdict, SchemaViolations) and "minimum" in json.dumps(verdict.messages)  # the reference's report
    assert ev.native_checked == 2
