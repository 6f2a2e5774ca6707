"""Every bad row the pipeline emits validates against its Iglu Central schema, and replays get the line back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.samples import SampleSpec, generate
from toolkit.contract.tsv import parse_line
from toolkit.pipeline.bad_rows import enriched_payload, original_line, schema_violations
from toolkit.pipeline.fanout import Pipeline, declared_limits
from toolkit.pipeline.validate import EventValidator, RetryPolicy

from .pipeline_events import PRODUCT, FakeClock, FlakyRepository, config, flaky_validator, line, sdj


@pytest.fixture(scope="module")
def badrow_validator(iglu_central: Path) -> SchemaValidator:
    """Iglu Central, read from disk (an embedded repository: no sockets)."""
    return SchemaValidator(Resolver([EmbeddedRepository(RepositoryRef("iglu-central", 0), iglu_central.parent)]))


def assert_valid_bad_row(validator: SchemaValidator, value: bytes) -> dict:
    row = orjson.loads(value)
    key, reports = validator.validate_self_describing(row)
    assert key is not None and key.vendor == "com.snowplowanalytics.snowplow.badrows"
    assert reports == [], f"{key.uri}: {reports}"
    return row


def fixture_lines(enriched_fixtures: Path) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(enriched_fixtures.glob("*.tsv")) + sorted((enriched_fixtures / "invalid").glob("*.tsv")):
        for raw in path.read_bytes().splitlines():
            if raw:
                out.append((path.name, raw))
    return out


def test_every_bad_row_type_the_pipeline_emits_validates(badrow_validator: SchemaValidator, iglu_central: Path,
                                                        enriched_fixtures: Path) -> None:
    seen: dict[str, int] = {}
    # 1. the shared fixtures (Snowplow's own lines) against Iglu Central: loader_parsing_error, schema_violations
    central = EventValidator(SchemaValidator(Resolver([EmbeddedRepository(RepositoryRef("iglu-central", 0),
                                                                          iglu_central.parent)])))
    p = Pipeline(config(), central, pipeline_id="t")
    for name, raw in fixture_lines(enriched_fixtures):
        for out in p.process(raw, name).outputs:
            if out.stream == "bad":
                row = assert_valid_bad_row(badrow_validator, out.value)
                seen[row["schema"]] = seen.get(row["schema"], 0) + 1
    # 2. samples against the example registry: data reports and not-found resolution errors
    examples = Pipeline.from_config(config(), pipeline_id="t")
    for i, text in enumerate(generate(SampleSpec(events=600, seed=3, parse_failure_ratio=0.05,
                                                 schema_failure_ratio=0.05))):
        for out in examples.process(text.encode(), f"s:{i}").outputs:
            if out.stream == "bad":
                row = assert_valid_bad_row(badrow_validator, out.value)
                seen[row["schema"]] = seen.get(row["schema"], 0) + 1
    # 3. a quarantined row (registry down), a size violation, a generic error
    repo, clock = FlakyRepository(), FakeClock()
    repo.down = True
    flaky = Pipeline(config(), flaky_validator(repo, clock, RetryPolicy(retries=0)), pipeline_id="t")
    quarantined = flaky.process(line(contexts=[sdj(PRODUCT, {"sku": "A", "price": 1})]).encode(), "s:q")
    small = Pipeline.from_config(config(), pipeline_id="t", limits={**declared_limits(config()), "raw": 1500})
    oversized = small.process(line(page_title="t" * 2000).encode(), "s:big")
    go = Pipeline.from_config(config(output={"enriched_profile": "go-sdk"}), pipeline_id="t")
    generic = go.process(line(dvce_created_tstamp="-0001-01-01 00:00:00").encode(), "s:go")
    for outcome in (quarantined, oversized, generic):
        row = assert_valid_bad_row(badrow_validator, outcome.outputs[-1].value)
        seen[row["schema"]] = seen.get(row["schema"], 0) + 1
    prefix = "iglu:com.snowplowanalytics.snowplow.badrows/"
    assert {s.removeprefix(prefix) for s in seen} == {
        "loader_parsing_error/jsonschema/2-0-0", "schema_violations/jsonschema/2-0-1",
        "size_violation/jsonschema/1-0-0", "generic_error/jsonschema/1-0-0"}


def lines_for_round_trip(enriched_fixtures: Path | None) -> list[str]:
    out = list(generate(SampleSpec(events=300, seed=11, parse_failure_ratio=0, schema_failure_ratio=0)))
    out.append(line(domain_sessionidx="+0007", page_urlport="080", geo_latitude="52.50000", geo_longitude="-0.0",
                    br_cookies="0", tr_total="1e3", se_value="12.50", user_id="ünïcödé \\ \" é"))
    out.append(line(geo_latitude="1" + "0" * 300 + ".5", geo_longitude="13", txn_id="0042"))
    if enriched_fixtures is not None:
        out += [raw.decode() for _, raw in fixture_lines(enriched_fixtures)]
    return out


def test_the_original_line_comes_back_byte_for_byte(enriched_fixtures: Path) -> None:
    checked = 0
    for text in lines_for_round_trip(enriched_fixtures):
        event = parse_line(text)
        if not isinstance(event, EnrichedEvent):
            continue
        row = schema_violations(event, [{"schemaKey": PRODUCT, "error": {"error": "ResolutionError",
                                                                           "lookupHistory": []}}])
        payload = orjson.loads(row.to_json())["data"]["payload"]  # through JSON, as a replay reads it
        assert original_line(payload).encode() == event.line.encode()
        checked += 1
    assert checked > 300


def test_exact_texts_are_kept_only_where_json_loses_them() -> None:
    e = parse_line(line(domain_sessionidx="+7", geo_latitude="52.50", geo_longitude="13.4", page_urlport="443"))
    enriched, parameters = enriched_payload(e)
    assert enriched["domain_sessionidx"] == 7 and enriched["geo_latitude"] == 52.5 and enriched["page_urlport"] == 443
    assert enriched["se_value"] is None and enriched["collector_tstamp"] == "2026-11-01 10:00:00.123"
    assert parameters == [{"name": "domain_sessionidx", "value": "+7"}, {"name": "geo_latitude", "value": "52.50"}]
    assert enriched_payload(parse_line(line()))[1] is None


def test_long_exact_texts_are_split_to_fit_the_parameter_limit() -> None:
    e = parse_line(line(domain_sessionidx="+" + "0" * 700 + "7"))
    _, parameters = enriched_payload(e)
    assert parameters is not None and all(len(p["value"]) <= 512 for p in parameters) and len(parameters) == 2
    payload = json.loads(schema_violations(e, []).to_json())["data"]["payload"]
    assert original_line(payload) == e.line


def test_schema_key_of_every_message_is_a_string_uri() -> None:
    e = parse_line(line())
    row = orjson.loads(schema_violations(e, [{"schemaKey": PRODUCT, "error": {}}]).to_json())
    assert SchemaKey.parse(row["data"]["failure"]["messages"][0]["schemaKey"]).name == "product"
    assert row["data"]["payload"]["raw"]["loaderName"] == "snowplow-kafka-toolkit"
