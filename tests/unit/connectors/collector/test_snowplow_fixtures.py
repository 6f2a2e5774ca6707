"""Snowplow enrich's own tracker payloads give the fields enrich's tests expect, and every bad row the adapter
emits validates against its Iglu Central schema (read from disk: no sockets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from connectors.collector.adapter import adapt
from connectors.collector.payload import TP2_PATH, CollectorPayload
from iglu_registry.validation import SchemaValidator
from tests.unit.connectors.collector.conftest import ARRIVED, get
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.tsv import parse_line
from toolkit.pipeline.validate import EventValidator, Valid

SDJ_FIELDS = ("contexts", "unstruct_event")


def _fixtures(shared: Path) -> list[tuple[str, dict[str, Any]]]:
    folder = shared / "fixtures" / "tracker-payloads"
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json"))]


def _payload(spec: dict[str, Any]) -> CollectorPayload:
    body = spec.get("body")
    return CollectorPayload(spec["method"], spec["api_path"], spec.get("querystring", ""),
                            None if body is None else orjson.dumps(body), spec.get("content_type"), ARRIVED)


def test_enrichs_payloads_give_the_fields_enrichs_tests_expect(shared_dir: Path, validator: SchemaValidator) -> None:
    checked = 0
    entities = EventValidator(validator)
    for name, fixture in _fixtures(shared_dir):
        adapted = adapt(_payload(fixture["collector_payload"]), validator)
        assert adapted.bad_rows == [], (name, [b.to_dict() for b in adapted.bad_rows])
        events = [parse_line(line) for line in adapted.events]
        assert all(isinstance(e, EnrichedEvent) for e in events), name
        assert all(isinstance(entities.validate(e), Valid) for e in events), name  # type: ignore[arg-type]
        if name == "enrich-tp2-post.json":
            assert len(events) == 10  # all that enrich's test asserts
            checked += 1
            continue
        [event] = events
        for field, text in fixture["expected_enriched_fields"].items():
            got = event.text(field)  # type: ignore[union-attr]
            if field in SDJ_FIELDS:
                assert orjson.loads(got) == orjson.loads(text), (name, field)
            else:
                assert got == text, (name, field, got, text)
            checked += 1
    assert checked >= 40


def _valid_bad_row(validator: SchemaValidator, row: dict[str, Any]) -> str:
    key, reports = validator.validate_self_describing(orjson.loads(orjson.dumps(row)))
    assert key is not None and reports == [], (row["schema"], reports)
    return key.name


def test_every_bad_row_the_adapter_emits_validates_against_iglu_central(validator: SchemaValidator) -> None:
    network_userid = "c9a9e7f0-4e7c-4b36-9d43-0b4e3b1e6b11"

    def post(body: bytes) -> CollectorPayload:
        return CollectorPayload("POST", TP2_PATH, "", body, "application/json", ARRIVED, ip="1.2.3.4",
                                user_agent="ua", network_userid=network_userid, headers=(("Host", "c.acme"),))

    good = {"e": "pv", "p": "web", "tv": "t"}
    payloads = [
        CollectorPayload("GET", "/nowhere", "a=b", None, None, ARRIVED, network_userid=network_userid),
        post(b"{broken"),
        post(b"\xff\xfe"),
        post(orjson.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                           "data": [{"e": "pv"}]})),
        post(orjson.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                           "data": [good, {**good, "e": "zz", "dtm": "x"}]})),
        post(orjson.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-9",
                           "data": [good]})),  # a version no registry has: a resolution error
        get("e=ue&ue_pr=%7B%7D&page=" + "x" * 3000),
        get(""),
    ]
    seen = {_valid_bad_row(validator, row.to_dict()) for p in payloads for row in adapt(p, validator).bad_rows}
    assert seen == {"adapter_failures", "collector_payload_format_violation", "tracker_protocol_violations"}
